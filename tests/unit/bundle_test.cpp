#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "test_authority.h"

namespace fsys = std::filesystem;
using audit::evidence::read_bundle;
using audit::evidence::write_bundle;

namespace {

struct TempDir {
    fsys::path path;
    TempDir() {
        char tmpl[] = "/tmp/audit-bundle-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fsys::remove_all(path); }
};

std::map<std::string, std::string> contents(const std::string& tag) {
    std::map<std::string, std::string> files;
    for (const auto& name : audit::evidence::content_files())
        files[name] = name + " of " + tag + "\n";
    return files;
}

using Entries = std::vector<std::pair<std::string, std::string>>;

Entries unpack(const std::string& path) {
    Entries out;
    archive* a = archive_read_new();
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
        archive_read_data(a, data.data(), data.size());
        out.emplace_back(archive_entry_pathname(e), data);
    }
    archive_read_free(a);
    return out;
}

// Writes entries as a tar+zstd; symlink_name adds a symlink entry.
void pack(const std::string& path, const Entries& entries, const std::string& symlink_name = "") {
    archive* a = archive_write_new();
    archive_write_add_filter_zstd(a);
    archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& [name, data] : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
        archive_write_header(a, e);
        archive_write_data(a, data.data(), data.size());
        archive_entry_free(e);
    }
    if (!symlink_name.empty()) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, symlink_name.c_str());
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, "/etc/passwd");
        archive_write_header(a, e);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

std::string rejection(const std::string& path, const audit::trust::TrustRoot& trust) {
    try {
        read_bundle(path, trust);
    } catch (const audit::VerifyError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a written bundle verifies and keeps every content file", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    const auto& key = auth.collector;
    const auto& trust = auth.trust;
    auto w = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), key, 1700000000);
    auto b = read_bundle(w.path, trust);
    CHECK(b.sha256 == w.sha256);
    CHECK(b.files.size() == audit::evidence::content_files().size());
    CHECK(b.files.at("host.json") == "host.json of a\n");
    CHECK(b.predicate()["bundle_id"] == "a");
    CHECK(b.signers == std::vector<std::string>{key.identity().keyid});
    auto entries = unpack(w.path);
    CHECK(entries.front().first == "statement.dsse.json");

    SECTION("never replaces an existing bundle") {
        CHECK_THROWS_AS(write_bundle(dir.path, "a.evidence.tar.zst", contents("b"), {}, key, 0),
                        audit::IoError);
        CHECK(audit::evidence::file_sha256(w.path) == w.sha256);
    }
    SECTION("no temp file is left behind") {
        std::size_t n = 0;
        for (const auto& e : fsys::directory_iterator(dir.path))
            n += e.path().filename().string()[0] == '.';
        CHECK(n == 0);
    }
}

TEST_CASE("the same evidence gives the same bytes", "[bundle]") {
    TempDir dir;
    auto key = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
    auto a =
        write_bundle(dir.path, "a.evidence.tar.zst", contents("x"), {{"k", 1}}, key, 1700000000);
    auto b =
        write_bundle(dir.path, "b.evidence.tar.zst", contents("x"), {{"k", 1}}, key, 1700000000);
    CHECK(a.sha256 == b.sha256);  // Ed25519 signatures are deterministic
}

TEST_CASE("tampered bundles are refused with a precise reason", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    const auto& key = auth.collector;
    auto& trust = auth.trust;
    auto a = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), key, 0);
    auto b = write_bundle(dir.path, "b.evidence.tar.zst", contents("b"),
                          auth.predicate({{"bundle_id", "b"}}), key, 0);
    auto ea = unpack(a.path), eb = unpack(b.path);
    std::string out = (dir.path / "t.evidence.tar.zst").string();

    SECTION("content file swapped") {
        auto e = ea;
        e[3].second = "changed\n";
        pack(out, e);
        CHECK(rejection(out, trust).find("digest mismatch on") != std::string::npos);
    }
    SECTION("statement of one bundle on the contents of another (mix-and-match)") {
        auto e = eb;
        e[0] = ea[0];
        pack(out, e);
        CHECK(rejection(out, trust).find("digest mismatch") != std::string::npos);
    }
    SECTION("content file removed") {
        auto e = ea;
        e.pop_back();
        pack(out, e);
        CHECK(rejection(out, trust).find("is missing") != std::string::npos);
    }
    SECTION("content file duplicated") {
        auto e = ea;
        e.push_back(e[2]);
        pack(out, e);
        CHECK(rejection(out, trust).find("appears twice") != std::string::npos);
    }
    SECTION("unknown entry added") {
        auto e = ea;
        e.emplace_back("extra.txt", "x");
        pack(out, e);
        CHECK(rejection(out, trust).find("not in the signed statement") != std::string::npos);
    }
    SECTION("path traversal") {
        auto e = ea;
        e.emplace_back("../evil", "x");
        pack(out, e);
        CHECK(rejection(out, trust).find("unsafe entry path") != std::string::npos);
    }
    SECTION("symlink entry") {
        pack(out, ea, "host.json");
        CHECK(rejection(out, trust).find("not a regular file") != std::string::npos);
    }
    SECTION("statement not first") {
        auto e = ea;
        std::swap(e[0], e[1]);
        pack(out, e);
        CHECK(rejection(out, trust).find("first entry must be") != std::string::npos);
    }
    SECTION("signed by a key that is not the certified collector") {
        auto other = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
        auto c =
            write_bundle(dir.path, "c.evidence.tar.zst", contents("c"), auth.predicate(), other, 0);
        CHECK(rejection(c.path, trust).find("not signed by every component of collector key") !=
              std::string::npos);
    }
    SECTION("collector certified by a key outside the kit and root roles") {
        // The inspector key may sign attestations, not delegate bundle signing.
        trust.roles["kit"].keyids.push_back(auth.inspector.identity().keyid);
        const std::string cert = auth.certify(key, auth.kit_id, "2000-01-01T00:00:00Z",
                                              "2998-01-01T00:00:00Z", &auth.inspector);
        trust.roles["kit"].keyids.pop_back();
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"),
                              auth.predicate({}, &cert), key, 0);
        CHECK(rejection(c.path, trust)
                  .find("collector certificate: role 'kit' needs 1 valid signature") !=
              std::string::npos);
    }
    SECTION("bundle without a collector certificate") {
        auto p = auth.predicate();
        p.erase("collector");
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"), p, key, 0);
        CHECK(rejection(c.path, trust).find("carries no collector certificate") !=
              std::string::npos);
    }
    SECTION("signed outside the collector's validity window") {
        const std::string cert =
            auth.certify(key, auth.kit_id, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z");
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"),
                              auth.predicate({}, &cert), key, 0);
        CHECK(rejection(c.path, trust).find("outside its collector's validity window") !=
              std::string::npos);
    }
    SECTION("signed by the collector of another kit") {
        auto p = auth.predicate({{"kit", {{"id", "kit-other"}, {"sequence", 1}}}});
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"), p, key, 0);
        CHECK(rejection(c.path, trust).find("certified for kit 'kit-test'") != std::string::npos);
    }
    SECTION("signed but malformed predicate: a field consumers index has the wrong type") {
        int n = 0;
        for (auto [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
                 {"/kit/sequence", "7"},
                 {"/kit/sequence", -1},
                 {"/host", "h"},
                 {"/host/ids", nlohmann::json::array()},
                 {"/findings/present", {1, 2}},
                 {"/bundle_id", 5}}) {
            auto p = auth.predicate();
            p[nlohmann::json::json_pointer(field)] = value;
            const std::string name = "m" + std::to_string(++n) + ".evidence.tar.zst";
            auto c = write_bundle(dir.path, name, contents("c"), p, key, 0);
            INFO(field << " = " << value.dump());
            CHECK(rejection(c.path, trust).find("statement predicate field") != std::string::npos);
        }
        auto q = auth.predicate();  // the certificate check reads the scan times first
        q["scan"]["finished"] = nullptr;
        auto s = write_bundle(dir.path, "s.evidence.tar.zst", contents("c"), q, key, 0);
        CHECK(rejection(s.path, trust).find("lacks its scan times") != std::string::npos);
        auto p = auth.predicate();
        p.erase("findings");
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"), p, key, 0);
        CHECK(rejection(c.path, trust).find("findings is missing or not an object") !=
              std::string::npos);
    }
    SECTION("revoked collector key") {
        trust.revoked.push_back(key.identity().keyid);
        CHECK(rejection(a.path, trust)
                  .find("collector key " + key.identity().keyid.substr(0, 16) + " is revoked") !=
              std::string::npos);
    }
    SECTION("revoked kit key: its certificates no longer count") {
        trust.revoked.push_back(auth.kit.identity().keyid);
        CHECK(rejection(a.path, trust).find("is revoked") != std::string::npos);
    }
    SECTION("wrong DSSE payloadType") {
        auto e = ea;
        auto env = nlohmann::json::parse(e[0].second);
        env["payloadType"] = "application/json";
        e[0].second = env.dump();
        pack(out, e);
        CHECK(rejection(out, trust).find("payloadType") != std::string::npos);
    }
    SECTION("not a bundle at all") {
        std::ofstream(out) << "hello";
        CHECK_FALSE(rejection(out, trust).empty());
    }
}

TEST_CASE("an oversized entry is refused without buffering it", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    const auto& trust = auth.trust;
    auto files = contents("big");
    files["files.jsonl"] = std::string(3u << 20, 'x');
    auto w = write_bundle(dir.path, "big.evidence.tar.zst", files,
                          auth.predicate({{"bundle_id", "big"}}), auth.collector, 0);
    audit::evidence::BundleLimits limits;
    limits.max_entry = 1u << 20;
    CHECK_THROWS_WITH(read_bundle(w.path, trust, true, limits),
                      Catch::Matchers::ContainsSubstring("exceeds its size bound"));
}

TEST_CASE("hybrid policy: both signatures of the collector are required", "[bundle][trust]") {
    TempDir dir;
    audit::testing::TestAuthority auth(audit::crypto::KeyProfile::hybrid);
    auto a = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), auth.collector, 0);
    REQUIRE(rejection(a.path, auth.trust).empty());
    auto entries = unpack(a.path);
    auto env = nlohmann::json::parse(entries[0].second);
    REQUIRE(env["signatures"].size() == 2);
    std::string out = (dir.path / "t.evidence.tar.zst").string();

    SECTION("ML-DSA-87 signature removed") {
        env["signatures"].erase(1);
        entries[0].second = env.dump();
        pack(out, entries);
        CHECK(rejection(out, auth.trust).find("not signed by every component") !=
              std::string::npos);
    }
    SECTION("ECDSA signature replaced by garbage") {
        env["signatures"][0]["sig"] = "AAAA";
        entries[0].second = env.dump();
        pack(out, entries);
        CHECK(rejection(out, auth.trust).find("not signed by every component") !=
              std::string::npos);
    }
    SECTION("a collector with an algorithm the policy does not allow") {
        auto ed = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
        CHECK_THROWS_WITH(auth.certify(ed, auth.kit_id),
                          Catch::Matchers::ContainsSubstring("which the policy does not allow"));
        // Forged past the issuer's check: the verifier refuses it too.
        auto lax = auth.trust;
        lax.policy.allowed.push_back(audit::crypto::Scheme::ed25519);
        lax.policy.required.clear();
        const auto cert =
            audit::trust::issue_certificate(lax, auth.kit, ed.identity(), auth.kit_id,
                                            "2000-01-01T00:00:00Z", "2998-01-01T00:00:00Z");
        auto c = write_bundle(dir.path, "c.evidence.tar.zst", contents("c"),
                              auth.predicate({}, &cert), ed, 0);
        CHECK(rejection(c.path, auth.trust).find("policy") != std::string::npos);
    }
}
