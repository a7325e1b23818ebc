// Bundle format v3 (issue 19): inventory items no longer repeat a package database's file list;
// bundles of older kits (v2, v1) still verify; tampering with a v3 bundle is still caught.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <sstream>

#include "audit/attest/attest.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/inventory_lines.h"
#include "bundle_archive.h"
#include "support.h"
#include "test_authority.h"

namespace bundle_format_test_cases {  // one namespace per test file: unity builds compile several
                                      // as one

namespace fsys = std::filesystem;
using audit::evidence::read_bundle;
using audit::evidence::write_bundle;
using audit_test::Entries;
using audit_test::pack;
using audit_test::unpack;

namespace {

using audit_test::TempDir;

audit::InventoryItem item(const std::string& eco, const std::string& name,
                          std::vector<std::string> paths) {
    audit::InventoryItem i;
    i.ecosystem = eco;
    i.name = name;
    i.version = "1.0";
    i.state = "installed";
    i.paths = std::move(paths);
    i.source = "/var/lib/dpkg/status:1";
    return i;
}

std::vector<nlohmann::json> lines_of(const std::string& jsonl) {
    std::vector<nlohmann::json> out;
    std::istringstream in(jsonl);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

// A host's content files: inventory.jsonl as the given format writes it.
std::map<std::string, std::string> contents(int format) {
    std::vector<audit::InventoryItem> inv = {
        item("deb", "kesl", {"/opt/kaspersky/kesl", "/opt/kaspersky/kesl/bin/kesl"}),
        item("deb", "coreutils", {"/usr/bin/ls", "/usr/bin/cat", "/usr/bin/cp"}),
        item("systemd", "kesl.service", {"/usr/lib/systemd/system/kesl.service"})};
    std::string inventory;
    if (format >= 3) {
        inventory = audit::evidence::inventory_jsonl(inv, {{"deb", "kesl"}});
    } else {
        for (const auto& i : inv) inventory += i.to_json().dump() + "\n";
    }
    std::map<std::string, std::string> files;
    for (const auto& name : audit::evidence::content_files()) files[name] = name + "\n";
    files["inventory.jsonl"] = inventory;
    files["findings.json"] = "[]\n";
    return files;
}

using audit_test::rejection;

}  // namespace

TEST_CASE("v3 inventory: a package's file list only for the items a finding names", "[bundle]") {
    auto lines = lines_of(contents(3).at("inventory.jsonl"));
    REQUIRE(lines.size() == 3);
    // The matched package keeps its list (its files were hashed: the evidence of presence).
    CHECK(lines[0]["name"] == "kesl");
    CHECK(lines[0]["paths"] ==
          nlohmann::json::array({"/opt/kaspersky/kesl", "/opt/kaspersky/kesl/bin/kesl"}));
    CHECK_FALSE(lines[0].contains("paths_count"));
    // Any other package: how many paths its database lists, not the list.
    CHECK(lines[1]["name"] == "coreutils");
    CHECK_FALSE(lines[1].contains("paths"));
    CHECK(lines[1]["paths_count"] == 3);
    CHECK(lines[1]["version"] == "1.0");
    CHECK(lines[1]["purl"] == "pkg:deb/debian/coreutils@1.0");
    // Items whose paths are not a package database's file list keep them (a unit's file).
    CHECK(lines[2]["paths"] == nlohmann::json::array({"/usr/lib/systemd/system/kesl.service"}));
    // The same name in another ecosystem is another item.
    CHECK(audit::evidence::omits_paths(item("rpm", "kesl", {"/x"}), {{"deb", "kesl"}}));
    for (const char* eco : {"deb", "rpm", "apk", "pacman", "pypi"})
        CHECK(audit::evidence::omits_paths(item(eco, "p", {}), {}));
    for (const char* eco : {"systemd", "sysv", "kmod", "process", "npm", "snap", "flatpak",
                            "windows-uninstall", "msi", "pe", "macho", "macos-pkg", "unknown"})
        CHECK_FALSE(audit::evidence::omits_paths(item(eco, "p", {}), {}));
}

TEST_CASE("bundle format v3 is written and verifies; v2 and v1 bundles still verify", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto w3 = write_bundle(dir.path, "v3.evidence.tar.zst", contents(3),
                           auth.predicate({{"bundle_id", "v3"}}), auth.collector, 0);
    auto b3 = read_bundle(w3.path, auth.trust);
    CHECK(b3.format == 3);
    CHECK(audit::evidence::kBundleFormat == 3);
    CHECK(b3.statement["predicateType"] == "urn:audit-toolkit:evidence-bundle:v3");
    CHECK(b3.sha256 == w3.sha256);
    CHECK(b3.sha256 == audit::evidence::file_sha256(w3.path));
    CHECK(b3.statement_sha256 == w3.statement_sha256);
    CHECK(b3.files.at("inventory.jsonl") == contents(3).at("inventory.jsonl"));
    CHECK(audit::attest::summarize(b3).format == 3);

    // An older kit's bundle: predicate v2, inventory items with every file list.
    auto w2 = write_bundle(dir.path, "v2.evidence.tar.zst", contents(2),
                           auth.predicate({{"bundle_id", "v2"}}), auth.collector, 0, 2);
    auto b2 = read_bundle(w2.path, auth.trust);
    CHECK(b2.format == 2);
    CHECK(b2.statement["predicateType"] == "urn:audit-toolkit:evidence-bundle:v2");
    CHECK(lines_of(b2.files.at("inventory.jsonl"))[1]["paths"].size() == 3);
    CHECK(audit::attest::summarize(b2).format == 2);

    // v1: chained by file digest, no previous_statement_sha256.
    auto p1 = auth.predicate({{"bundle_id", "v1"}});
    p1["kit"].erase("previous_statement_sha256");
    auto w1 = write_bundle(dir.path, "v1.evidence.tar.zst", contents(2), p1, auth.collector, 0, 1);
    auto b1 = read_bundle(w1.path, auth.trust);
    CHECK(b1.format == 1);
    CHECK(audit::attest::summarize(b1).format == 1);

    // An unknown version is refused, never read as one of these.
    CHECK(audit::evidence::evidence_format("urn:audit-toolkit:evidence-bundle:v4") == 0);
    CHECK_THROWS_AS(write_bundle(dir.path, "v4.evidence.tar.zst", contents(3), auth.predicate(),
                                 auth.collector, 0, 4),
                    audit::UsageError);
}

TEST_CASE("tampering with a v3 bundle's files is caught", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto w = write_bundle(dir.path, "a.evidence.tar.zst", contents(3), auth.predicate(),
                          auth.collector, 0);
    REQUIRE(read_bundle(w.path, auth.trust).format == 3);
    const auto entries = unpack(w.path);
    int n = 0;
    for (std::size_t i = 1; i < entries.size(); ++i) {
        const std::string& name = entries[i].first;
        DYNAMIC_SECTION("one byte of " << name << " changed") {
            auto e = entries;
            e[i].second[0] ^= 0x20;
            const std::string out = (dir.path / ("t" + std::to_string(i) + ".tar.zst")).string();
            pack(out, e);
            CHECK(rejection(out, auth.trust) == "sha256 digest mismatch on " + name);
        }
        ++n;
    }
    CHECK(n == 7);
    SECTION("a file list put back into inventory.jsonl (unsigned bytes)") {
        auto e = entries;
        for (auto& [name, data] : e)
            if (name == "inventory.jsonl") data = contents(2).at("inventory.jsonl");
        const std::string out = (dir.path / "paths.tar.zst").string();
        pack(out, e);
        CHECK(rejection(out, auth.trust) == "sha256 digest mismatch on inventory.jsonl");
    }
    SECTION("relabelled v2 without a new signature") {
        auto e = entries;
        auto env = audit::crypto::Envelope::parse(e[0].second);
        auto st = nlohmann::json::parse(env.payload);
        st["predicateType"] = "urn:audit-toolkit:evidence-bundle:v2";
        env.payload = st.dump();
        e[0].second = env.to_json();
        const std::string out = (dir.path / "relabel.tar.zst").string();
        pack(out, e);
        CHECK_FALSE(rejection(out, auth.trust).empty());
    }
}

}  // namespace bundle_format_test_cases
