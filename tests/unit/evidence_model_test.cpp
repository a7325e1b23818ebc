// The typed evidence model (evidence/predicate.h): a predicate the scanner writes reads back and
// writes again byte for byte, and every shape the bundle reader refuses is refused by the model
// with the reader's message.
#include <catch_amalgamated.hpp>

#include <string>
#include <utility>
#include <vector>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/predicate.h"
#include "audit/manifest/manifest.h"
#include "audit/scan/scan.h"
#include "support.h"
#include "test_authority.h"

namespace evidence_model_test_cases {  // one namespace per test file: unity builds compile several
                                       // as one

using audit::evidence::Predicate;
using nlohmann::json;

namespace {

// The statement as the writer dumps it (evidence/bundle.cpp), with the predicate replaced.
std::string statement_with(json statement, const json& predicate) {
    statement["predicate"] = predicate;
    return statement.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A small Debian root with one Kaspersky package and one of its files.
void make_root(const audit_test::stdfs::path& root) {
    audit_test::write(root / "etc/os-release",
                      "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");
    audit_test::write(root / "etc/hostname", "model-host\n");
    audit_test::write(root / "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    audit_test::write(root / "var/lib/dpkg/status",
                      "Package: kesl\nStatus: install ok installed\nVersion: 11.2.0\n"
                      "Architecture: amd64\n\nPackage: bash\nStatus: install ok installed\n"
                      "Version: 5.2\nArchitecture: amd64\n");
    audit_test::write(root / "var/lib/dpkg/info/kesl.list", "/opt/kaspersky/kesl/bin/kesl\n");
    audit_test::write(root / "opt/kaspersky/kesl/bin/kesl", "binary");
}

// As the reader sees it: parsed from text (an integer written as 1 reads back unsigned).
json reparsed(const json& p) {
    return json::parse(p.dump());
}

std::string rejection(const json& p, int format = 2) {
    try {
        (void)Predicate::from_json(reparsed(p), format);
    } catch (const audit::VerifyError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("evidence model: a scanner's predicate reads back and writes the same bytes") {
    audit::testing::TestAuthority auth;
    audit_test::TempDir root, out;
    make_root(root.path);
    audit::scan::ScanOptions opt;
    opt.root = root.str();
    opt.out_dir = out.str();
    opt.manifests = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) +
                                                    "/manifests/kaspersky.toml");
    opt.collector_certificate = auth.certificate;
    opt.jobs = 1;
    opt.user = {{"uid", 1000},
                {"euid", 1000},
                {"name", nullptr},
                {"cap_eff", "0"},
                {"capabilities", json::array()},
                {"reads_everything", false}};
    const auto result = audit::scan::run_scan(opt, auth.collector, auth.trust);

    const auto bundle = audit::evidence::read_bundle(result.bundle.path, auth.trust);
    REQUIRE(bundle.format == audit::evidence::kBundleFormat);
    const Predicate p = Predicate::from_json(bundle.predicate(), bundle.format);
    // The typed members hold what the scan recorded...
    CHECK(p.bundle_id == result.bundle_id);
    CHECK(p.kit.id == auth.kit_id);
    CHECK(p.kit.sequence == 1);
    CHECK_FALSE(p.kit.previous_bundle_sha256);
    CHECK(p.kit.has_previous_statement);
    CHECK(p.host.hostname == "model-host");
    CHECK(p.host.id("machine_id") == "0123456789abcdef0123456789abcdef");
    CHECK(p.findings.finds("kaspersky"));
    REQUIRE(p.coverage);
    CHECK(p.coverage->source_status("dpkg") == "ran");
    REQUIRE(p.coverage->system);
    CHECK(p.coverage->system->os == "linux");
    REQUIRE(p.coverage->product("kaspersky"));
    CHECK(p.walk_scope() == "matched");
    REQUIRE(p.manifest("kaspersky"));
    CHECK(p.manifest("kaspersky")->signature_status() == "unsigned");
    CHECK(p.kit.self_check_status() == "none");
    CHECK(p.kit.kit_manifest_sha256_or_empty().empty());
    CHECK(p.unverified_manifests() == std::vector<std::string>{"kaspersky"});
    // ...and nothing of the predicate is left to the untyped rest.
    CHECK(p.extra.empty());
    CHECK(p.kit.extra.empty());
    CHECK(p.host.extra.empty());
    CHECK(p.coverage->extra.empty());
    CHECK(p.coverage->system->extra.empty());
    CHECK(p.coverage->walk->extra.empty());
    // Parse + serialise gives the signed statement's bytes.
    CHECK(statement_with(bundle.statement, p.to_json()) == bundle.envelope.payload);
}

TEST_CASE("evidence model: members the model does not name, or of an unexpected type, survive") {
    audit::testing::TestAuthority auth;
    json raw = auth.predicate({{"future_member", {{"x", 1}}},
                               {"coverage",
                                {{"sources", {{"dpkg", "ran"}, {"odd", 5}}},
                                 {"source_items", {{"dpkg", 3}, {"odd", "many"}}},
                                 {"system", {{"gaps", {"no_identity: x", 7}}, {"new", true}}},
                                 {"products", {{{"product", "p"}, {"sufficient", "yes"}}, 3}},
                                 {"files", -1}}},
                               {"manifests", {{{"id", "p"}, {"rules", "not-a-list"}}, "junk"}}});
    raw["kit"]["self_check"] = "not an object";
    raw["scan"]["mode"] = 3;
    raw = reparsed(raw);
    for (int format : {1, 2}) {
        const Predicate p = Predicate::from_json(raw, format);
        CHECK(p.to_json().dump() == raw.dump());
        // Read as leniently as the readers always did.
        CHECK(p.coverage->source_status("dpkg") == "ran");
        CHECK(p.coverage->source_status("odd").empty());
        CHECK(p.coverage->source_item_count("dpkg") == 3);
        CHECK_FALSE(p.coverage->source_item_count("odd"));
        CHECK(p.coverage->system->gaps == std::vector<std::string>{"no_identity: x"});
        CHECK_FALSE(p.coverage->product("p")->is_sufficient());
        CHECK_FALSE(p.coverage->files);
        CHECK(p.kit.self_check_status().empty());
        CHECK_FALSE(p.scan.mode);
        CHECK_FALSE(p.manifest("p")->rules);
    }
    // A v1 predicate without the v2 link keeps lacking it.
    json v1 = reparsed(auth.predicate());
    v1["kit"].erase("previous_statement_sha256");
    const Predicate p1 = Predicate::from_json(v1, 1);
    CHECK_FALSE(p1.kit.has_previous_statement);
    CHECK(p1.to_json().dump() == v1.dump());
}

TEST_CASE("evidence model: every shape the bundle reader refuses is refused, with its message") {
    audit::testing::TestAuthority auth;
    CHECK(rejection(auth.predicate()) == "accepted");
    const std::vector<std::pair<std::string, json>> wrong = {
        {"/bundle_id", 5},
        {"/kit", "k"},
        {"/kit/id", nullptr},
        {"/kit/sequence", "7"},
        {"/kit/sequence", -1},
        {"/kit/sequence", 1.5},
        {"/kit/previous_bundle_sha256", 3},
        {"/kit/previous_statement_sha256", 3},
        {"/kit/previous_statement_sha256", "ABCDEF"},
        {"/kit/previous_statement_sha256", std::string(64, 'A')},
        {"/host", "h"},
        {"/host/hostname", json::array()},
        {"/host/ids", json::array()},
        {"/host/ids/machine_id", 12},
        {"/scan", json::array()},
        {"/scan/started", nullptr},
        {"/scan/finished", 1},
        {"/findings", "none"},
        {"/findings/present", {1, 2}},
        {"/findings/residue", "r"},
        {"/findings/leads", nullptr},
        {"/coverage", json::array()},
    };
    for (const auto& [field, value] : wrong) {
        json p = auth.predicate();
        p[json::json_pointer(field)] = value;
        INFO(field << " = " << value.dump());
        std::string want = field.substr(1);
        for (auto& c : want)
            if (c == '/') c = '.';
        CHECK(rejection(p).rfind("statement predicate field " + want + " is missing or not ", 0) ==
              0);
    }
    for (const char* field :
         {"/bundle_id", "/kit", "/kit/id", "/kit/sequence", "/kit/previous_bundle_sha256",
          "/kit/previous_statement_sha256", "/host", "/host/hostname", "/host/ids", "/scan",
          "/scan/started", "/scan/finished", "/findings", "/findings/present", "/findings/residue",
          "/findings/leads"}) {
        json p = auth.predicate();
        const json::json_pointer ptr(field);
        p[ptr.parent_pointer()].erase(ptr.back());
        INFO(field);
        std::string want = std::string(field).substr(1);
        for (auto& c : want)
            if (c == '/') c = '.';
        CHECK(rejection(p).rfind("statement predicate field " + want + " is missing or not ", 0) ==
              0);
    }
    // v1 does not require the statement link, nor its form.
    json v1 = auth.predicate();
    v1["kit"]["previous_statement_sha256"] = "ABCDEF";
    CHECK(rejection(v1, 1) == "accepted");
    v1["kit"].erase("previous_statement_sha256");
    CHECK(rejection(v1, 1) == "accepted");
    CHECK(rejection(v1, 2) ==
          "statement predicate field kit.previous_statement_sha256 is missing or not a string "
          "or null");
    // Built in memory, a sequence is a signed integer: non-negative, it reads as parsed text does.
    CHECK_NOTHROW(Predicate::from_json(auth.predicate(), 2));
    CHECK(rejection(json::array()) ==
          "statement predicate field bundle_id is missing or not a string");
}

}  // namespace evidence_model_test_cases
