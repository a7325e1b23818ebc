#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <zstd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/strict_json.h"
#include "bundle_archive.h"
#include "support.h"
#include "test_authority.h"

namespace bundle_test_cases {  // one namespace per test file: unity builds compile several as one

namespace fsys = std::filesystem;
using audit::evidence::read_bundle;
using audit::evidence::write_bundle;
using audit_test::Entries;
using audit_test::pack;
using audit_test::unpack;

namespace {

using audit_test::TempDir;

std::map<std::string, std::string> contents(const std::string& tag) {
    std::map<std::string, std::string> files;
    for (const auto& name : audit::evidence::content_files())
        files[name] = name + " of " + tag + "\n";
    return files;
}

using audit_test::rejection;

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

namespace {

// The statement of a bundle with its payload text replaced and signed again by key.
std::string resigned(const std::string& envelope_json, const std::string& payload,
                     const audit::crypto::SigningKey& key) {
    auto env = audit::crypto::Envelope::parse(envelope_json);
    env.payload = payload;
    env.signatures.clear();
    env.sign(key);
    return env.to_json();
}

std::string zstd_of(const std::string& bytes) {
    std::string out(ZSTD_compressBound(bytes.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 19));
    return out;
}

std::string zstd_decoded(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string out;
    ZSTD_DStream* d = ZSTD_createDStream();
    ZSTD_inBuffer in_buf{z.data(), z.size(), 0};
    std::vector<char> buf(1 << 16);
    while (in_buf.pos < in_buf.size) {
        ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
        REQUIRE_FALSE(ZSTD_isError(ZSTD_decompressStream(d, &ob, &in_buf)));
        out.append(buf.data(), ob.pos);
    }
    for (;;) {  // flush what the decoder still holds
        ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
        ZSTD_decompressStream(d, &ob, &in_buf);
        if (ob.pos == 0) break;
        out.append(buf.data(), ob.pos);
    }
    ZSTD_freeDStream(d);
    return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("the statement digest is the bundle's identity, v2 links by it", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    // A v2 bundle, as kits before format v3 wrote them (v3 links the same way).
    auto w = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), auth.collector, 0, 2);
    auto b = read_bundle(w.path, auth.trust);
    CHECK(b.format == 2);
    CHECK(b.statement["predicateType"] == audit::evidence::kEvidencePredicateV2);
    CHECK(b.statement_sha256 == w.statement_sha256);
    CHECK(b.statement_sha256 == audit::crypto::sha256_hex(b.envelope.payload));
    CHECK(audit::evidence::read_statement_sha256_unverified(w.path) == w.statement_sha256);
    const std::string out = (dir.path / "t.evidence.tar.zst").string();

    SECTION("recompressed: another file digest, the same statement digest") {
        write_bytes(out, zstd_of(zstd_decoded(w.path)));
        auto r = read_bundle(out, auth.trust);
        CHECK(r.sha256 != w.sha256);
        CHECK(r.statement_sha256 == w.statement_sha256);
    }
    SECTION("a v1 statement still verifies and is read as v1") {
        auto e = unpack(w.path);
        auto env = audit::crypto::Envelope::parse(e[0].second);
        auto st = nlohmann::json::parse(env.payload);
        st["predicateType"] = audit::evidence::kEvidencePredicate;
        st["predicate"]["kit"].erase("previous_statement_sha256");
        e[0].second = resigned(e[0].second, st.dump(), auth.collector);
        pack(out, e);
        auto r = read_bundle(out, auth.trust);
        CHECK(r.format == 1);
    }
    SECTION("v2 requires kit.previous_statement_sha256 (string or null)") {
        for (auto value : {nlohmann::json(5), nlohmann::json("not-hex")}) {
            auto p = auth.predicate();
            p["kit"]["previous_statement_sha256"] = value;
            const std::string name = "p" + value.dump().substr(1, 3) + ".evidence.tar.zst";
            auto c = write_bundle(dir.path, name, contents("c"), p, auth.collector, 0);
            CHECK(rejection(c.path, auth.trust).find("kit.previous_statement_sha256") !=
                  std::string::npos);
        }
        auto p = auth.predicate();
        p["kit"].erase("previous_statement_sha256");
        auto c = write_bundle(dir.path, "q.evidence.tar.zst", contents("c"), p, auth.collector, 0);
        CHECK(rejection(c.path, auth.trust).find("kit.previous_statement_sha256") !=
              std::string::npos);
    }
}

TEST_CASE("nothing may follow the end of the archive", "[bundle]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto w = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), auth.collector, 0);
    const std::string tar = zstd_decoded(w.path);
    const std::string out = (dir.path / "t.evidence.tar.zst").string();
    // A second archive with one member, as `cat a.tar b.tar` makes it.
    const std::string extra_path = (dir.path / "extra.tar.zst").string();
    pack(extra_path, {{"host.json", "a different host\n"}});
    const std::string extra = zstd_decoded(extra_path);

    SECTION("a member after the end-of-archive blocks") {
        write_bytes(out, zstd_of(tar + extra));
        CHECK(rejection(out, auth.trust).find("after the tar end-of-archive marker") !=
              std::string::npos);
    }
    SECTION("a non-zero byte in the padding after the end") {
        write_bytes(out, zstd_of(tar + std::string(511, '\0') + "x"));
        CHECK(rejection(out, auth.trust).find("after the tar end-of-archive marker") !=
              std::string::npos);
    }
    SECTION("zero padding (a 10 KiB tar record) is fine") {
        std::string padded = tar + std::string(10240 - tar.size() % 10240, '\0');
        write_bytes(out, zstd_of(padded));
        CHECK(rejection(out, auth.trust).empty());
    }
    SECTION("a second zstd frame carrying a member") {
        write_bytes(out, zstd_of(tar) + zstd_of(extra));
        CHECK(rejection(out, auth.trust).find("after the tar end-of-archive marker") !=
              std::string::npos);
    }
    SECTION("bytes after the last zstd frame") {
        std::ifstream in(w.path, std::ios::binary);
        std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        write_bytes(out, z + "garbage-after-the-frame");
        CHECK(rejection(out, auth.trust).find("after its last zstd frame") != std::string::npos);
        write_bytes(out, z + "g");
        CHECK(rejection(out, auth.trust).find("after its last zstd frame") != std::string::npos);
    }
    SECTION("a skippable frame after the data") {
        std::ifstream in(w.path, std::ios::binary);
        std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::string skip("\x50\x2a\x4d\x18\x04\x00\x00\x00hide", 12);
        write_bytes(out, z + skip);
        CHECK(rejection(out, auth.trust).find("after its last zstd frame") != std::string::npos);
    }
    SECTION("a truncated frame") {
        std::ifstream in(w.path, std::ios::binary);
        std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        write_bytes(out, z.substr(0, z.size() - 3));
        CHECK_FALSE(rejection(out, auth.trust).empty());
    }
}

TEST_CASE("duplicate JSON keys in signed documents are refused", "[bundle][json]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto w = write_bundle(dir.path, "a.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), auth.collector, 0);
    auto e = unpack(w.path);
    const std::string out = (dir.path / "t.evidence.tar.zst").string();
    const std::string envelope = e[0].second;
    auto env = audit::crypto::Envelope::parse(envelope);

    SECTION("in the envelope (same value twice)") {
        auto text = envelope;
        const auto at = text.find("\"payloadType\"");
        REQUIRE(at != std::string::npos);
        text.insert(at, "\"payloadType\":\"" + env.payload_type + "\",");
        e[0].second = text;
        pack(out, e);
        CHECK(rejection(out, auth.trust).find("duplicate key \"payloadType\"") !=
              std::string::npos);
    }
    SECTION("in the signed payload (re-signed by the collector)") {
        // A second "present" list: this reader kept the last, another reader the first.
        auto payload = env.payload;
        const auto at = payload.find("\"present\":");
        REQUIRE(at != std::string::npos);
        payload.insert(at, "\"present\":[\"kaspersky\"],");
        e[0].second = resigned(envelope, payload, auth.collector);
        pack(out, e);
        CHECK(rejection(out, auth.trust).find("duplicate key \"present\"") != std::string::npos);
    }
    SECTION("an escaped spelling of the same key") {
        auto payload = env.payload;
        const auto at = payload.find("\"bundle_id\":");
        REQUIRE(at != std::string::npos);
        payload.insert(at, "\"bundle\\u005fid\":\"b\",");
        e[0].second = resigned(envelope, payload, auth.collector);
        pack(out, e);
        CHECK(rejection(out, auth.trust).find("duplicate key \"bundle_id\"") != std::string::npos);
    }
    SECTION("the strict parser itself") {
        using audit::parse_json_strict;
        CHECK(parse_json_strict(R"({"a":{"b":1},"c":[{"b":2},{"b":3}]})", "t")["c"][1]["b"] == 3);
        CHECK_THROWS_WITH(parse_json_strict(R"({"a":{"b":1,"b":2}})", "t"),
                          Catch::Matchers::ContainsSubstring("duplicate key \"b\""));
        CHECK_THROWS_WITH(parse_json_strict(std::string(100, '[') + std::string(100, ']'), "t"),
                          Catch::Matchers::ContainsSubstring("nested deeper"));
        CHECK_THROWS_AS(parse_json_strict("{} x", "t"), audit::VerifyError);
        CHECK_THROWS_AS(parse_json_strict("{\"a\":\"\xff\"}", "t"), audit::VerifyError);
    }
}

TEST_CASE("chain head: written by the collector, verified, tampering refused", "[bundle][chain]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto w = write_bundle(dir.path, "h_20260101T000000Z_kit-test-4.evidence.tar.zst", contents("a"),
                          auth.predicate({{"bundle_id", "a"}}), auth.collector, 0);
    audit::evidence::ChainHead h;
    h.kit_id = auth.kit_id;
    h.sequence = 4;
    h.statement_sha256 = w.statement_sha256;
    h.bundle_sha256 = w.sha256;
    h.bundle_file = "h_20260101T000000Z_kit-test-4.evidence.tar.zst";
    h.written = "2026-01-01T00:02:00Z";
    const std::string path =
        audit::evidence::write_chain_head(dir.path, h, auth.collector, auth.certificate);
    CHECK(path == (dir.path / "kit-test.chain-head.dsse.json").string());
    auto r = audit::evidence::read_chain_head(path, auth.trust);
    CHECK(r.kit_id == "kit-test");
    CHECK(r.sequence == 4);
    CHECK(r.statement_sha256 == w.statement_sha256);
    CHECK(r.bundle_sha256 == w.sha256);
    CHECK(r.bundle_file == h.bundle_file);
    CHECK(r.written == h.written);
    CHECK(r.path == path);

    auto head_error = [&](const std::string& text) {
        write_bytes(path, text);
        try {
            audit::evidence::read_chain_head(path, auth.trust);
        } catch (const audit::VerifyError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    std::ifstream in(path);
    const std::string original((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    auto env = audit::crypto::Envelope::parse(original);
    SECTION("the sequence edited: the signature fails") {
        auto e = env;
        e.payload.replace(e.payload.find("\"sequence\":4"), 12, "\"sequence\":9");
        CHECK(head_error(e.to_json()).find("not signed") != std::string::npos);
    }
    SECTION("signed by a key that is not the kit's collector") {
        auto e = env;
        e.signatures.clear();
        e.sign(auth.inspector);
        CHECK_FALSE(head_error(e.to_json()).empty());
    }
    SECTION("a duplicate key, re-signed") {
        auto payload = env.payload;
        payload.insert(payload.find("\"sequence\""), "\"sequence\":9,");
        CHECK(head_error(resigned(original, payload, auth.collector)).find("duplicate key") !=
              std::string::npos);
    }
    SECTION("a bundle statement is not a head") {
        auto e = unpack(w.path);
        CHECK(head_error(e[0].second).find("not a chain head") != std::string::npos);
    }
    SECTION("a head for another kit's collector") {
        auto p = nlohmann::json::parse(env.payload);
        p["predicate"]["kit"]["id"] = "kit-other";
        CHECK(head_error(resigned(original, p.dump(), auth.collector)).find("certified for kit") !=
              std::string::npos);
    }
}

TEST_CASE("the collector certificate is checked once per kit, never reused for another input",
          "[bundle][trust]") {
    TempDir dir;
    audit::testing::TestAuthority auth;
    auto& cache = audit::trust::bundle_certificate_cache();
    auto write = [&](const std::string& name, const std::string* cert = nullptr,
                     const audit::crypto::SigningKey* key = nullptr) {
        return write_bundle(dir.path, name + ".evidence.tar.zst", contents(name),
                            auth.predicate({{"bundle_id", name}}, cert),
                            key ? *key : auth.collector, 0)
            .path;
    };
    const auto a = write("a"), b = write("b");
    // Counted from here: the cache is the process's, and other tests use it too.
    auto checks = [&, base = cache.verifications()] { return cache.verifications() - base; };

    // Two bundles of one certificate: one chain verification.
    CHECK(rejection(a, auth.trust).empty());
    CHECK(rejection(b, auth.trust).empty());
    CHECK(checks() == 1);

    SECTION("another certificate for the same collector is checked anew") {
        const auto later = auth.certify(auth.collector, auth.kit_id, "2001-01-01T00:00:00Z");
        CHECK(rejection(write("c", &later), auth.trust).empty());
        CHECK(checks() == 2);
    }
    SECTION("a certificate its issuer did not sign is checked anew and refused, every time") {
        auto j = nlohmann::json::parse(audit::crypto::Envelope::parse(auth.certificate).payload);
        j["kit_id"] = "kit-other";  // the issuer's signature no longer covers it
        auto forged = audit::crypto::Envelope::parse(auth.certificate);
        forged.payload = j.dump(2) + "\n";
        const std::string text = forged.to_json();
        const auto c = write("c", &text);
        for (int i = 0; i < 2; ++i) CHECK_FALSE(rejection(c, auth.trust).empty());
        CHECK(checks() == 2);  // the refusal is remembered as a refusal
        CHECK(rejection(a, auth.trust).empty());
        CHECK(checks() == 2);
    }
    SECTION("a certificate by an issuer outside the trust root is refused") {
        auto stranger = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
        const auto cert = audit::trust::issue_certificate(
            [&] {
                auto t = auth.trust;  // a root that lists the stranger as a kit key
                t.keys.emplace(stranger.identity().keyid, stranger.identity());
                t.roles["kit"].keyids = {stranger.identity().keyid};
                return t;
            }(),
            stranger, auth.collector.identity(), auth.kit_id, "2000-01-01T00:00:00Z",
            "2998-01-01T00:00:00Z");
        CHECK(rejection(write("c", &cert), auth.trust).find("collector certificate") !=
              std::string::npos);
        CHECK(checks() == 2);
    }
    SECTION("the same certificate under a root that revokes its collector: re-checked, refused") {
        auto revoked = auth.trust;
        revoked.revoked.push_back(auth.collector.identity().keyid);
        for (int i = 0; i < 2; ++i)
            CHECK(rejection(b, revoked).find("revoked") != std::string::npos);
        CHECK(checks() == 2);
        // The first root's answer stays its own.
        CHECK(rejection(a, auth.trust).empty());
        CHECK(checks() == 2);
    }
    SECTION("the same certificate under a root that revokes its issuer: re-checked, refused") {
        auto revoked = auth.trust;
        revoked.revoked.push_back(auth.kit.identity().keyid);
        CHECK(rejection(b, revoked).find("revoked") != std::string::npos);
        CHECK(checks() == 2);
    }
    SECTION("a bundle signed by another key than the certified one is refused despite the cache") {
        auto other = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
        CHECK(rejection(write("c", nullptr, &other), auth.trust).find("not signed by") !=
              std::string::npos);
        CHECK(checks() == 1);  // the certificate was known: the statement's signature is not
    }
}

}  // namespace bundle_test_cases
