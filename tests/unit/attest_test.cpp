#include <catch_amalgamated.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include "audit/attest/attest.h"
#include "audit/attest/plan.h"
#include "audit/fs/walker.h"

namespace attest_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::attest::BundleSummary;
using audit::attest::HostProductStatus;
using audit::attest::Status;
using nlohmann::json;

namespace {

const std::string kNow = "2026-06-01T00:00:00Z";

// The signed predicate (v2) of a sound offline scan of a Debian root with machine-id `machine`,
// evaluating one product "kaspersky"; tests break one thing in it at a time.
json predicate(const std::string& machine, bool present, const std::string& finished) {
    return {{"bundle_id", "b-" + machine + "-" + finished + (present ? "-p" : "-c")},
            {"kit",
             {{"id", "k"},
              {"sequence", 0},
              {"previous_bundle_sha256", nullptr},
              {"previous_statement_sha256", nullptr},
              {"self_check", {{"status", "none"}}}}},
            {"host",
             {{"hostname", "host-" + machine},
              {"ids", {{"machine_id", machine}}},
              {"os", "Debian GNU/Linux 12 (bookworm)"},
              {"live", false}}},
            {"manifests", json::array({{{"id", "kaspersky"},
                                        {"name", "Kaspersky"},
                                        {"version", "1.0"},
                                        {"sha256", "manifest-1.0"},
                                        {"rules", {"kesl-deb", "kesl-bin"}},
                                        {"signature", {{"status", "verified"}}}}})},
            {"scan",
             {{"started", finished},
              {"finished", finished},
              {"mode", "offline"},
              {"clock", "host"},
              {"scope", "matched"}}},
            {"coverage",
             {{"system",
               {{"os", "linux"},
                {"os_evidence", "etc/os-release"},
                {"package_databases", {"dpkg"}},
                {"identifiers", {"machine_id"}},
                {"gaps", json::array()}}},
              {"sources", {{"dpkg", "ran"}, {"systemd", "ran"}, {"rpm", "absent"}}},
              {"source_items", {{"dpkg", 120}, {"systemd", 40}, {"rpm", 0}}},
              {"walk",
               {{"scope", "matched"},
                {"digests", {"sha256"}},
                {"roots", {"/opt", "/etc/opt"}},
                {"failed_roots", json::array()},
                {"one_filesystem", false}}},
              {"products",
               json::array(
                   {{{"product", "kaspersky"}, {"sufficient", true}, {"gaps", json::array()}}})}}},
            {"findings",
             {{"count", present ? 1 : 0},
              {"present", present ? json::array({"kaspersky"}) : json::array()},
              {"residue", json::array()},
              {"leads", json::array()}}}};
}

std::string findings_of(const json& p) {
    json out = json::array();
    for (const auto& product : p["findings"]["present"])
        out.push_back({{"product", product},
                       {"product_name", "Kaspersky"},
                       {"rule", "kesl-deb"},
                       {"confidence", "definitive"},
                       {"kind", "package"},
                       {"residue", false}});
    return out.dump();
}

// Bundles as the scanner chains them: per kit, sequence and previous statement digest follow
// on; the heads close every kit's chain unless a test breaks it.
struct Fleet {
    std::vector<BundleSummary> bundles;
    std::map<std::string, std::pair<std::uint64_t, std::string>> last;  // kit -> seq, statement
    audit::attest::MergeOptions options{kNow, 3600, ""};

    BundleSummary& add(json p, const std::string& kit = "k") {
        auto& [seq, prev] = last[kit];
        p["kit"]["id"] = kit;
        p["kit"]["sequence"] = seq + 1;
        if (p["kit"].contains("previous_statement_sha256"))
            p["kit"]["previous_statement_sha256"] = prev.empty() ? json(nullptr) : json(prev);
        else  // v1: linked by the previous bundle's file digest
            p["kit"]["previous_bundle_sha256"] =
                prev.empty() ? json(nullptr) : json("file-" + prev);
        const std::string statement = audit::fs::sha256_hex(p.dump());
        const std::string findings = findings_of(p);
        bundles.push_back(audit::attest::summarize("f" + std::to_string(bundles.size()),
                                                   "file-" + statement, statement, std::move(p),
                                                   findings));
        seq += 1;
        prev = statement;
        return bundles.back();
    }
    std::vector<audit::evidence::ChainHead> heads() const {
        std::vector<audit::evidence::ChainHead> out;
        for (const auto& [kit, l] : last) {
            audit::evidence::ChainHead h;
            h.kit_id = kit;
            h.sequence = l.first;
            h.statement_sha256 = l.second;
            out.push_back(h);
        }
        return out;
    }
    std::vector<HostProductStatus> merge() const {
        return audit::attest::merge(bundles, heads(), options);
    }
    std::vector<HostProductStatus> merge(const std::vector<audit::evidence::ChainHead>& h) const {
        return audit::attest::merge(bundles, h, options);
    }
};

HostProductStatus only(const std::vector<HostProductStatus>& v) {
    REQUIRE(v.size() == 1);
    return v.front();
}

const HostProductStatus& of_host(const std::vector<HostProductStatus>& v, const std::string& key) {
    for (const auto& s : v)
        if (s.host_key == key) return s;
    FAIL("no status for " << key);
    return v.front();
}

bool has_code(const HostProductStatus& st, const std::string& code) {
    return std::find(st.reason_codes.begin(), st.reason_codes.end(), code) != st.reason_codes.end();
}

// Inconclusive because of `code` (and, to keep each test about one rule, nothing else).
void check_only(const HostProductStatus& st, const std::string& code) {
    INFO(json(st.reasons).dump());
    CHECK(st.status == Status::inconclusive);
    CHECK(st.reason_codes == std::vector<std::string>{code});
}

// Finding on day 1, clean on day 2 of host m1: the positive control every rule starts from.
Fleet found_then(const std::function<void(json&)>& change_clean,
                 const std::function<void(json&)>& change_found = {}) {
    Fleet f;
    json a = predicate("m1", true, "2026-01-01T00:00:00Z");
    if (change_found) change_found(a);
    f.add(a);
    json b = predicate("m1", false, "2026-01-02T00:00:00Z");
    if (change_clean) change_clean(b);
    f.add(b);
    return f;
}

}  // namespace

TEST_CASE("present then clean is removed, with both bundles as evidence", "[attest]") {
    auto f = found_then({});
    std::reverse(f.bundles.begin(), f.bundles.end());  // order of input does not matter
    const auto st = only(f.merge());
    INFO(json(st.reasons).dump());
    CHECK(st.status == Status::removed);
    CHECK(st.reasons.empty());
    CHECK(st.reason_codes.empty());
    REQUIRE(st.evidence.size() == 2);
    CHECK(st.evidence[0].role == "finding");
    CHECK(st.evidence[1].role == "latest");
    CHECK(st.evidence[1].statement_sha256 == f.bundles[0].statement_sha256);
    CHECK(st.evidence[1].sha256 == f.bundles[0].sha256);
    json j = st.to_json();
    CHECK(j["reason_codes"] == json::array());
    CHECK(j["evidence"][1]["statement_sha256"] == f.bundles[0].statement_sha256);
}

TEST_CASE("never found is absent; found last is present", "[attest]") {
    Fleet f;
    f.add(predicate("m1", false, "2026-01-01T00:00:00Z"));
    CHECK(only(f.merge()).status == Status::absent);
    f.add(predicate("m1", true, "2026-02-01T00:00:00Z"));
    CHECK(only(f.merge()).status == Status::present);
}

TEST_CASE("reason_code is the part before ': '", "[attest]") {
    CHECK(audit::attest::reason_code("chain_gap: kit k is missing sequence 2") == "chain_gap");
    CHECK(audit::attest::reason_code("clock_future") == "clock_future");
}

TEST_CASE("insufficient coverage is inconclusive, never absent", "[attest]") {
    Fleet f;
    json p = predicate("m1", false, "2026-01-01T00:00:00Z");
    p["coverage"]["products"][0]["sufficient"] = false;
    p["coverage"]["products"][0]["gaps"] = {"source dpkg failed: x"};
    f.add(p);
    check_only(only(f.merge()), "coverage_gap");
}

// --- item 1 ---------------------------------------------------------------------------------

TEST_CASE("a scan that recognised no system proves nothing (not_a_system, no_identity)",
          "[attest]") {
    for (std::string gap : {"not_a_system: no etc/os-release, Windows hive or SystemVersion.plist",
                            "no_identity: no machine-id", "package_db_failed: dpkg status"}) {
        Fleet f;
        json p = predicate("m1", false, "2026-01-01T00:00:00Z");
        p["coverage"]["system"]["gaps"] = {gap};
        f.add(p);
        check_only(only(f.merge()), audit::attest::reason_code(gap));
        // The same after a finding: never removed.
        auto g = found_then([&](json& c) { c["coverage"]["system"]["gaps"] = {gap}; });
        check_only(only(g.merge()), audit::attest::reason_code(gap));
    }
}

TEST_CASE("a host known only by its hostname has no identity", "[attest]") {
    Fleet f;
    json p = predicate("m1", false, "2026-01-01T00:00:00Z");
    p["host"]["ids"] = json::object();
    p["coverage"]["system"]["identifiers"] = json::array();
    f.add(p);
    const auto st = only(f.merge());
    CHECK(st.host_key == "hostname:host-m1");
    check_only(st, "no_identity");
}

TEST_CASE("v1 bundles are judged by what they recorded", "[attest]") {
    auto v1 = [](json p) {
        p["coverage"].erase("system");
        p["coverage"].erase("walk");
        p["coverage"].erase("source_items");
        p["kit"].erase("previous_statement_sha256");
        p["scan"].erase("mode");
        p["manifests"][0].erase("rules");
        return p;
    };
    SECTION("os and a stable id: absent") {
        Fleet f;
        f.add(v1(predicate("m1", false, "2026-01-01T00:00:00Z")));
        CHECK(f.bundles[0].format == 1);
        CHECK(only(f.merge()).status == Status::absent);
    }
    SECTION("no os: not_a_system") {
        Fleet f;
        json p = v1(predicate("m1", false, "2026-01-01T00:00:00Z"));
        p["host"]["os"] = "";
        f.add(p);
        check_only(only(f.merge()), "not_a_system");
    }
    SECTION("no stable id: no_identity") {
        Fleet f;
        json p = v1(predicate("m1", false, "2026-01-01T00:00:00Z"));
        p["host"]["ids"] = json::object();
        f.add(p);
        check_only(only(f.merge()), "no_identity");
    }
}

// --- item 2 ---------------------------------------------------------------------------------

TEST_CASE("a clean bundle with an unsigned manifest never supports removed or absent", "[attest]") {
    auto f = found_then([](json& c) { c["manifests"][0]["signature"] = {{"status", "unsigned"}}; });
    check_only(only(f.merge()), "manifest_unsigned");

    Fleet g;
    json p = predicate("m1", false, "2026-01-01T00:00:00Z");
    p["manifests"][0]["signature"] = {{"status", "unsigned"}};
    g.add(p);
    check_only(only(g.merge()), "manifest_unsigned");

    // But a finding made with an unsigned manifest still shows presence.
    Fleet h;
    json q = predicate("m1", true, "2026-01-01T00:00:00Z");
    q["manifests"][0]["signature"] = {{"status", "unsigned"}};
    h.add(q);
    CHECK(only(h.merge()).status == Status::present);
}

TEST_CASE("a clean bundle from a kit that failed its self-check is kit_unverified", "[attest]") {
    auto f = found_then([](json& c) { c["kit"]["self_check"] = {{"status", "unverified"}}; });
    check_only(only(f.merge()), "kit_unverified");
    // A kit that verified itself, or tools not run from a kit, are fine.
    auto g = found_then([](json& c) { c["kit"]["self_check"] = {{"status", "verified"}}; });
    CHECK(only(g.merge()).status == Status::removed);
}

// --- item 3 ---------------------------------------------------------------------------------

TEST_CASE("a narrower clean scan does not remove what a wider scan found", "[attest]") {
    SECTION("hash scope all, then matched") {
        auto f = found_then({}, [](json& a) {
            a["coverage"]["walk"]["scope"] = "all";
            a["coverage"]["walk"]["roots"] = {"/"};
            a["scan"]["scope"] = "all";
        });
        check_only(only(f.merge()), "coverage_narrower");
    }
    SECTION("v1: scan.scope all, then matched") {
        auto f = found_then([](json& c) { c["coverage"].erase("walk"); },
                            [](json& a) {
                                a["coverage"].erase("walk");
                                a["scan"]["scope"] = "all";
                            });
        check_only(only(f.merge()), "coverage_narrower");
    }
    SECTION("a digest the finding used is not computed") {
        auto f = found_then({}, [](json& a) {
            a["coverage"]["walk"]["digests"] = {"sha256", "md5"};
        });
        check_only(only(f.merge()), "coverage_narrower");
    }
    SECTION("a walk root the finding used is not walked (or failed)") {
        auto f = found_then([](json& c) { c["coverage"]["walk"]["roots"] = {"/etc/opt"}; });
        check_only(only(f.merge()), "coverage_narrower");
        auto g = found_then([](json& c) { c["coverage"]["walk"]["failed_roots"] = {"/opt"}; });
        check_only(only(g.merge()), "coverage_narrower");
        // A wider root covers a narrower one.
        auto h = found_then([](json& c) { c["coverage"]["walk"]["roots"] = {"/"}; });
        CHECK(only(h.merge()).status == Status::removed);
    }
    SECTION("a source that ran for the finding did not run") {
        auto f = found_then([](json& c) { c["coverage"]["sources"].erase("systemd"); });
        check_only(only(f.merge()), "coverage_narrower");
        auto g = found_then([](json& c) { c["coverage"]["sources"]["systemd"] = "failed"; });
        check_only(only(g.merge()), "coverage_narrower");
    }
    SECTION("another manifest that lacks the rule that matched") {
        auto f = found_then([](json& c) {
            c["manifests"][0]["sha256"] = "manifest-1.1";
            c["manifests"][0]["version"] = "1.1";
            c["manifests"][0]["rules"] = {"kesl-bin"};
        });
        check_only(only(f.merge()), "coverage_narrower");
        auto g = found_then([](json& c) {
            c["manifests"][0]["sha256"] = "manifest-1.1";
            c["manifests"][0]["version"] = "1.1";
            c["manifests"][0]["rules"] = {"kesl-bin", "kesl-deb", "kesl-new"};
        });
        CHECK(only(g.merge()).status == Status::removed);
    }
    SECTION("a lower manifest version is a downgrade") {
        auto f = found_then(
            [](json& c) {
                c["manifests"][0]["sha256"] = "manifest-2.9";
                c["manifests"][0]["version"] = "2.9";
            },
            [](json& a) {
                a["manifests"][0]["sha256"] = "manifest-2.10";
                a["manifests"][0]["version"] = "2.10";
            });
        check_only(only(f.merge()), "manifest_downgraded");
    }
}

TEST_CASE("a package database that read items before and none now is coverage_regressed",
          "[attest]") {
    for (auto change : std::vector<std::function<void(json&)>>{
             [](json& c) { c["coverage"]["sources"]["dpkg"] = "absent"; },
             [](json& c) { c["coverage"]["sources"]["dpkg"] = "failed"; },
             [](json& c) { c["coverage"]["source_items"]["dpkg"] = 0; },
             [](json& c) { c["coverage"]["sources"].erase("dpkg"); }}) {
        Fleet f;
        f.add(predicate("m1", false, "2026-01-01T00:00:00Z"));
        json c = predicate("m1", false, "2026-01-02T00:00:00Z");
        change(c);
        f.add(c);
        check_only(only(f.merge()), "coverage_regressed");
    }
    // A database that was empty before is no regression.
    Fleet g;
    json a = predicate("m1", false, "2026-01-01T00:00:00Z");
    a["coverage"]["source_items"]["dpkg"] = 0;
    g.add(a);
    json c = predicate("m1", false, "2026-01-02T00:00:00Z");
    c["coverage"]["source_items"]["dpkg"] = 0;
    g.add(c);
    CHECK(only(g.merge()).status == Status::absent);
}

// --- item 4 ---------------------------------------------------------------------------------

TEST_CASE("a decoy with the host's machine-id under another hostname is identity_changed",
          "[attest]") {
    auto f = found_then([](json& c) { c["host"]["hostname"] = "decoy"; });
    const auto st = only(f.merge());
    check_only(st, "identity_changed");
    CHECK(st.status != Status::removed);
}

TEST_CASE("an identifier that changes value or that the same kind of scan no longer reads",
          "[attest]") {
    auto with = [](json& p, const char* k, const char* v) { p["host"]["ids"][k] = v; };
    SECTION("value changed") {
        auto f = found_then([&](json& c) { with(c, "root_fs_uuid", "uuid-2"); },
                            [&](json& a) { with(a, "root_fs_uuid", "uuid-1"); });
        check_only(only(f.merge()), "identity_changed");
    }
    SECTION("dropped by the same kind of scan") {
        auto f = found_then({}, [&](json& a) { with(a, "dmi_product_uuid", "D-1"); });
        check_only(only(f.merge()), "identity_changed");
    }
    SECTION("not read by another kind of scan (DMI offline) is no drop") {
        auto f = found_then({}, [&](json& a) {
            with(a, "dmi_product_uuid", "D-1");
            a["host"]["live"] = true;
            a["scan"]["mode"] = "live";
        });
        CHECK(only(f.merge()).status == Status::removed);
    }
}

TEST_CASE("a strong identifier under two hosts is an identity conflict", "[attest]") {
    for (const char* key : {"dmi_product_uuid", "root_fs_uuid", "ssh_host_keys",
                            "windows_machine_sid", "macos_hardware_uuid"}) {
        Fleet f;
        json a = predicate("m1", false, "2026-01-01T00:00:00Z");
        json b = predicate("m2", false, "2026-01-02T00:00:00Z");
        a["host"]["ids"][key] = "shared";
        b["host"]["ids"][key] = "shared";
        f.add(a);
        f.add(b);
        auto r = f.merge();
        REQUIRE(r.size() == 2);
        for (const auto& s : r) check_only(s, "identity_conflict");
    }
}

TEST_CASE("a machine-id that disappears does not split the host silently", "[attest]") {
    // The clean root keeps the DMI UUID but not the machine-id: it is grouped apart, and the
    // shared DMI UUID makes both inconclusive.
    auto f = found_then(
        [](json& c) {
            c["host"]["ids"] = {{"dmi_product_uuid", "D-1"}};
        },
        [](json& a) { a["host"]["ids"]["dmi_product_uuid"] = "D-1"; });
    auto r = f.merge();
    REQUIRE(r.size() == 2);
    for (const auto& s : r) CHECK(has_code(s, "identity_conflict"));
    CHECK(of_host(r, "dmi:D-1").status == Status::inconclusive);
}

// --- item 5 ---------------------------------------------------------------------------------

TEST_CASE("a kit's chain must be closed by its head", "[attest]") {
    auto f = found_then({});
    SECTION("no head: chain_unclosed") {
        check_only(only(f.merge({})), "chain_unclosed");
    }
    SECTION("the newest bundle deleted: the head is higher, chain_gap") {
        auto heads = f.heads();
        heads[0].sequence = 3;
        heads[0].statement_sha256 = "deleted";
        check_only(only(f.merge(heads)), "chain_gap");
    }
    SECTION("an older head: chain_unclosed") {
        auto heads = f.heads();
        heads[0].sequence = 1;
        heads[0].statement_sha256 = f.bundles[0].statement_sha256;
        check_only(only(f.merge(heads)), "chain_unclosed");
        // The highest head the inspector has seen counts.
        heads.push_back(f.heads()[0]);
        CHECK(only(f.merge(heads)).status == Status::removed);
    }
    SECTION("a head naming another bundle at the newest sequence: chain_fork") {
        auto heads = f.heads();
        heads[0].statement_sha256 = "other";
        check_only(only(f.merge(heads)), "chain_fork");
    }
}

TEST_CASE("a gap or an unclosed chain taints every host of the kit", "[attest]") {
    Fleet f;
    f.add(predicate("m1", true, "2026-01-01T00:00:00Z"));
    f.add(predicate("m2", false, "2026-01-02T00:00:00Z"));
    f.add(predicate("m1", false, "2026-01-03T00:00:00Z"));
    f.add(predicate("m3", false, "2026-01-04T00:00:00Z"));  // deleted below
    auto deleted = f.bundles.back();
    f.bundles.pop_back();
    auto heads = f.heads();  // seq 4
    auto r = f.merge(heads);
    REQUIRE(r.size() == 2);
    for (const auto& s : r) check_only(s, "chain_gap");

    // A middle bundle deleted: host m1 scanned before and after, m2 only before the gap.
    f.bundles.push_back(deleted);
    f.bundles.erase(f.bundles.begin() + 2);  // m1's clean scan, seq 3
    r = f.merge(heads);
    for (const auto& s : r) CHECK(has_code(s, "chain_gap"));
    CHECK(of_host(r, "machine-id:m2").status == Status::inconclusive);
}

TEST_CASE("a copy of a bundle under other bytes is the same bundle, never a fork", "[attest]") {
    auto f = found_then({});
    BundleSummary copy = f.bundles[1];
    copy.sha256 = "file-recompressed";
    copy.path = "copy";
    f.bundles.push_back(copy);
    const auto st = only(f.merge());
    INFO(json(st.reasons).dump());
    CHECK(st.status == Status::removed);
}

TEST_CASE("forks and broken links are reported", "[attest]") {
    auto f = found_then({});
    SECTION("broken link") {
        f.bundles[1].previous_statement_sha256 = "not-the-first";
        check_only(only(f.merge()), "chain_broken");
    }
    SECTION("two bundles with one sequence, for every host of the kit") {
        json other = predicate("m2", false, "2026-01-02T00:00:00Z");
        other["kit"]["id"] = "k";
        other["kit"]["sequence"] = 2;
        other["kit"]["previous_statement_sha256"] = f.bundles[0].statement_sha256;
        f.bundles.push_back(audit::attest::summarize("x", "file-x", "statement-x", other, "[]"));
        auto r = f.merge();
        REQUIRE(r.size() == 2);
        for (const auto& s : r) CHECK(has_code(s, "chain_fork"));
    }
    SECTION("v1 links by file digest") {
        Fleet g;
        json a = predicate("m1", true, "2026-01-01T00:00:00Z");
        json b = predicate("m1", false, "2026-01-02T00:00:00Z");
        for (json* p : {&a, &b}) (*p)["kit"].erase("previous_statement_sha256");
        a["kit"]["sequence"] = 1;
        b["kit"]["sequence"] = 2;
        auto sa = audit::attest::summarize("a", "file-a", "st-a", a, findings_of(a));
        b["kit"]["previous_bundle_sha256"] = "file-a";
        auto sb = audit::attest::summarize("b", "file-b", "st-b", b, "[]");
        audit::evidence::ChainHead h;
        h.kit_id = "k";
        h.sequence = 2;
        h.statement_sha256 = "st-b";
        auto st = only(audit::attest::merge({sa, sb}, {h}, g.options));
        INFO(json(st.reasons).dump());
        CHECK(st.status == Status::removed);
        sb.previous_sha256 = "file-other";
        check_only(only(audit::attest::merge({sa, sb}, {h}, g.options)), "chain_broken");
    }
}

TEST_CASE("the same bundle given twice counts once", "[attest]") {
    Fleet f;
    f.add(predicate("m1", false, "2026-01-01T00:00:00Z"));
    f.bundles.push_back(f.bundles[0]);
    CHECK(only(f.merge()).status == Status::absent);
}

TEST_CASE("a replayed older clean bundle presented last does not hide a later finding",
          "[attest]") {
    Fleet f;
    f.add(predicate("m1", false, "2026-01-01T00:00:00Z"));
    f.add(predicate("m1", true, "2026-02-01T00:00:00Z"));
    f.bundles.push_back(f.bundles[0]);
    CHECK(only(f.merge()).status == Status::present);
}

// --- item 7 ---------------------------------------------------------------------------------

TEST_CASE("a bundle dated after the attestation or its import is clock_future", "[attest]") {
    Fleet f;
    f.add(predicate("m1", true, "2026-01-01T00:00:00Z"));
    f.add(predicate("m1", false, "2026-01-02T00:00:00Z"), "k2");
    f.add(predicate("m1", false, "2026-07-01T00:00:00Z"), "k2");  // after kNow
    check_only(only(f.merge()), "clock_future");

    Fleet g = found_then({});
    g.bundles[1].imported_at = "2026-01-01T12:00:00Z";  // before it finished
    check_only(only(g.merge()), "clock_future");
    g.bundles[1].imported_at = "2026-01-02T00:00:01Z";
    CHECK(only(g.merge()).status == Status::removed);
}

TEST_CASE("bundles of different kits closer than the tolerance are not ordered", "[attest]") {
    Fleet f;
    f.add(predicate("m1", true, "2026-01-01T00:00:00Z"), "kA");
    f.add(predicate("m1", false, "2026-01-01T00:30:00Z"), "kB");
    check_only(only(f.merge()), "clock_disorder");
    f.options.clock_tolerance_s = 600;
    CHECK(only(f.merge()).status == Status::removed);

    // A finding within the tolerance after a clean scan of another kit is not "present" either.
    Fleet g;
    g.add(predicate("m1", false, "2026-01-01T00:00:00Z"), "kA");
    g.add(predicate("m1", true, "2026-01-01T00:10:00Z"), "kB");
    check_only(only(g.merge()), "clock_disorder");
}

TEST_CASE("host clocks that contradict the kit sequence are flagged", "[attest]") {
    Fleet f;
    f.add(predicate("m1", true, "2026-03-01T00:00:00Z"));
    f.add(predicate("m1", false, "2026-01-01T00:00:00Z"));
    const auto st = only(f.merge());
    CHECK(st.status != Status::removed);
    CHECK(has_code(st, "clock_disorder"));
}

TEST_CASE("a finding without a confidence proves presence to the attestation and the plan alike",
          "[attest]") {
    // A finding that does not say how sure it is counts as present (the safe reading): the
    // attestation lists it as a finding, not a lead, and the removal plan has a row for it. The
    // plan used to drop it, leaving out a host x product the attestation counted as present.
    Fleet f;
    f.add(predicate("m1", true, "2026-01-01T00:00:00Z"));
    REQUIRE(f.bundles.back().findings.size() == 1);
    f.bundles.back().findings[0].erase("confidence");
    const auto st = only(f.merge());
    CHECK(st.status == Status::present);
    REQUIRE(st.findings.size() == 1);
    CHECK(st.findings[0]["lead"] == false);
    CHECK(st.leads.empty());
    audit::attest::Articles articles;
    articles.collect({&f.bundles.back()}, {st});
    REQUIRE(articles.list().size() == 1);
    CHECK(articles.list()[0].product == "kaspersky");
    CHECK(articles.list()[0].status == "present");
    CHECK(audit::attest::removal_plan(articles).size() == 1);
    // Residue proves nothing to either side.
    f.bundles.back().findings[0]["residue"] = true;
    const auto residue = only(f.merge());
    CHECK(residue.findings.empty());
    audit::attest::Articles none;
    none.collect({&f.bundles.back()}, {residue});
    CHECK(none.list().empty());
}

TEST_CASE("identity conflicts count the strong ids of a bundle, else its DMI product UUID alone",
          "[attest]") {
    audit::attest::BundleRef r;
    CHECK(r.counted_ids().empty());
    r.dmi_product_uuid = "D-1";
    CHECK(r.counted_ids() == std::map<std::string, std::string>{{"dmi_product_uuid", "D-1"}});
    r.ids = {{"machine_id", "m1"}};
    CHECK(r.counted_ids() == r.ids);
}

}  // namespace attest_test_cases
