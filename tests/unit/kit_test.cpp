// Kit manifest: sign, verify, tamper, expiry, rollback/fork; HSS/LMS seal state; self-check.
#include <catch_amalgamated.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/kit/kit_build.h"
#include "audit/kit/kit_manifest.h"
#include "audit/kit/lms_seal.h"
#include "audit/kit/self_check.h"
#include "audit/trust/trust_root.h"
#include "support.h"
#include "test_authority.h"

namespace kit_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::testing::TestAuthority;
using audit_test::TempDir;
namespace kit = audit::kit;
namespace stdfs = std::filesystem;

namespace {

constexpr const char* kSmallLms = "SHA-256,HW(5,8)";  // 32 seals, fast

kit::KitManifest manifest_for(const TestAuthority& a, const std::string& dir) {
    kit::KitManifest m;
    m.kit_id = "kit-test";
    m.version = 3;
    m.created = "2026-01-01T00:00:00Z";
    m.expires = "2998-01-01T00:00:00Z";
    m.authority = a.trust.authority;
    m.trust_version = a.trust.version;
    m.trust_sha256 = "00";
    m.files = kit::measure_tree(dir);
    return m;
}

void make_tree(const stdfs::path& d) {
    audit_test::write(d / "bin" / "audit-scan", "binary bytes");
    audit_test::write(d / "manifests" / "kaspersky.toml", "id = 'kaspersky'\n");
    audit_test::write(d / "docs" / "README.md", "read me\n");
    stdfs::create_directories(d / "evidence");
}

}  // namespace

TEST_CASE("kit manifest: signed by the kit role, every file measured, tampering found") {
    TestAuthority a;
    TempDir t;
    make_tree(t.path);
    audit_test::write(t.path / "evidence" / "x.evidence.tar.zst", "evidence is not sealed");
    auto m = manifest_for(a, t.str());
    REQUIRE(m.files.size() == 3);
    CHECK(m.files[0].path == "bin/audit-scan");
    CHECK(m.files[0].sha384.size() == 96);
    const std::string env = kit::sign_kit_manifest(m, a.trust, a.kit, nullptr);

    auto sealed = kit::verify_kit_manifest(env, a.trust);
    CHECK(sealed.manifest.kit_id == "kit-test");
    CHECK(sealed.manifest.version == 3);
    CHECK_FALSE(sealed.lms_sealed);
    CHECK(kit::compare_tree(t.str(), sealed.manifest).empty());

    SECTION("a modified, removed or added file is a problem") {
        audit_test::write(t.path / "manifests" / "kaspersky.toml", "id = 'kasperskx'\n");
        audit_test::write(t.path / "docs" / "extra.txt", "x");
        stdfs::remove(t.path / "bin" / "audit-scan");
        auto p = kit::compare_tree(t.str(), sealed.manifest);
        REQUIRE(p.size() == 3);
        CHECK(p[0].path == "bin/audit-scan");
        CHECK(p[0].what == "missing");
        CHECK(p[1].what == "not listed in the kit manifest");
        CHECK(p[2].what == "sha384 differs");
    }
    SECTION("a symlink in place of a file is refused") {
        stdfs::remove(t.path / "docs" / "README.md");
        stdfs::create_symlink("/etc/hostname", t.path / "docs" / "README.md");
        auto p = kit::compare_tree(t.str(), sealed.manifest);
        REQUIRE(p.size() == 2);
        CHECK(p[0].what == "not a regular file");
        CHECK_THROWS_AS(kit::measure_tree(t.str()), audit::VerifyError);
    }
    SECTION("signed by a key outside the kit role: refused") {
        CHECK_THROWS_AS(kit::sign_kit_manifest(m, a.trust, a.inspector, nullptr),
                        audit::UsageError);
        auto e = audit::crypto::Envelope::parse(env);
        e.signatures.clear();
        e.sign(a.inspector);
        CHECK_THROWS_AS(kit::verify_kit_manifest(e.to_json(), a.trust), audit::VerifyError);
    }
    SECTION("an edited payload no longer verifies") {
        auto e = audit::crypto::Envelope::parse(env);
        auto pos = e.payload.find("\"version\": 3");
        REQUIRE(pos != std::string::npos);
        e.payload.replace(pos, 12, "\"version\": 9");
        CHECK_THROWS_AS(kit::verify_kit_manifest(e.to_json(), a.trust), audit::VerifyError);
    }
    SECTION("expired: refused (freeze)") {
        kit::KitVerifyOptions o;
        o.now = "2998-01-01T00:00:00Z";
        CHECK_THROWS_WITH(kit::verify_kit_manifest(env, a.trust, o),
                          Catch::Matchers::ContainsSubstring("expired"));
    }
    SECTION("another payload type (type confusion): refused") {
        auto e = audit::crypto::Envelope::parse(env);
        e.payload_type = "application/vnd.in-toto+json";
        e.signatures.clear();
        e.sign(a.kit);
        CHECK_THROWS_AS(kit::verify_kit_manifest(e.to_json(), a.trust), audit::VerifyError);
    }
}

TEST_CASE("kit versions only rise: rollback and fork refused by the kit state") {
    TestAuthority a;
    TempDir t;
    make_tree(t.path / "k");
    const std::string state = (t.path / "kit-state.json").string();
    auto sealed_v = [&](std::uint64_t v, const std::string& salt) {
        auto m = manifest_for(a, (t.path / "k").string());
        m.version = v;
        m.created = salt;
        auto env = kit::sign_kit_manifest(m, a.trust, a.kit, nullptr);
        auto s = kit::verify_kit_manifest(env, a.trust);
        s.sha256 = audit::crypto::sha256_hex(env);
        return s;
    };
    auto v2 = sealed_v(2, "2026-01-01T00:00:00Z");
    CHECK_THAT(kit::check_kit_version(v2, state).at(0),
               Catch::Matchers::ContainsSubstring("first use"));
    CHECK(kit::check_kit_version(v2, state).empty());  // same bytes again: fine
    CHECK(kit::seen_kit_version(state, a.trust.authority, "kit-test") == 2u);
    CHECK_THROWS_WITH(kit::check_kit_version(sealed_v(1, "2026-01-02T00:00:00Z"), state),
                      Catch::Matchers::ContainsSubstring("rollback"));
    CHECK_THROWS_WITH(kit::check_kit_version(sealed_v(2, "2026-01-03T00:00:00Z"), state),
                      Catch::Matchers::ContainsSubstring("fork"));
    CHECK_THAT(kit::check_kit_version(sealed_v(3, "2026-01-04T00:00:00Z"), state).at(0),
               Catch::Matchers::ContainsSubstring("from version 2 to 3"));
    CHECK_THROWS_AS(kit::check_kit_version(v2, state), audit::VerifyError);
}

TEST_CASE("HSS/LMS seal: verifies, indexes advance durably, the key runs out") {
    TempDir t;
    const std::string key = (t.path / "seal.key").string();
    auto pub = kit::lms_generate(key, kSmallLms);
    CHECK_THROWS_AS(kit::lms_generate(key, kSmallLms), audit::UsageError);  // never overwritten
    CHECK(kit::LmsPublicKey::from_json(audit_test::slurp(key + ".pub.json")).keyid == pub.keyid);

    std::set<std::uint64_t> used;
    {
        kit::LmsSigner s(key);
        CHECK(s.next_index() == 0);
        CHECK(s.remaining() == 32);
        CHECK_THROWS_AS(kit::LmsSigner(key), audit::IoError);  // locked while in use
        auto sig = s.sign("message one");
        CHECK(pub.verify("message one", sig));
        CHECK_FALSE(pub.verify("message two", sig));
        used.insert(kit::lms_signature_index(sig));
        CHECK(s.next_index() == 1);
    }
    // A new signer reads the advanced state from disk.
    for (int i = 0; i < 31; ++i) {
        kit::LmsSigner s(key);
        auto sig = s.sign("m" + std::to_string(i));
        CHECK(pub.verify("m" + std::to_string(i), sig));
        CHECK(used.insert(kit::lms_signature_index(sig)).second);
    }
    CHECK(used.size() == 32);
    kit::LmsSigner s(key);
    CHECK(s.remaining() == 0);
    CHECK_THROWS_WITH(s.sign("one too many"), Catch::Matchers::ContainsSubstring("exhausted"));
    // The log names each index once.
    std::ifstream log(key + ".log");
    std::string line;
    int lines = 0;
    while (std::getline(log, line)) ++lines;
    CHECK(lines == 32);
}

TEST_CASE("HSS/LMS seal: killed at every step, no index ever signs twice") {
    TempDir t;
    const std::string key = (t.path / "seal.key").string();
    auto pub = kit::lms_generate(key, kSmallLms);
    std::set<std::uint64_t> released;
    for (int step = 1; step <= 4; ++step) {
        std::uint64_t before = kit::LmsSigner(key).next_index();
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            kit::arm_fault("lms-sign", step);
            kit::LmsSigner s(key);
            auto sig = s.sign("killed");
            ::_exit(sig.empty() ? 2 : 0);  // not reached: killed inside sign
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGKILL);
        kit::LmsSigner s(key);
        // Step 1 dies before reserving; from step 2 on, the index is gone even though the
        // signature (if made) never left the process.
        CHECK(s.next_index() == (step == 1 ? before : before + 1));
        auto sig = s.sign("after step " + std::to_string(step));
        CHECK(pub.verify("after step " + std::to_string(step), sig));
        auto q = kit::lms_signature_index(sig);
        CHECK(q >= before);
        CHECK(released.insert(q).second);
    }
}

TEST_CASE("HSS/LMS seal: the environment arms no fault; only the test's own call does") {
    TempDir t;
    const std::string key = (t.path / "seal.key").string();
    auto pub = kit::lms_generate(key, kSmallLms);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // What the release tools once obeyed: it must not kill a signer any more.
        ::setenv("AUDIT_FAULT", "lms-sign:2", 1);
        kit::LmsSigner s(key);
        ::_exit(pub.verify("env", s.sign("env")) ? 0 : 2);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THROWS_AS(kit::arm_fault("lms-sign"), audit::UsageError);
    CHECK_THROWS_AS(kit::arm_fault("lms-sign:x"), audit::UsageError);
    CHECK_THROWS_AS(kit::arm_fault(":2"), audit::UsageError);
    kit::arm_fault("lms-sign:99");  // a step never reached: signing goes on
    kit::LmsSigner s(key);
    CHECK(pub.verify("armed elsewhere", s.sign("armed elsewhere")));
    kit::disarm_fault();
}

TEST_CASE("kit state adopts a bundle written before a crash saved the state") {
    TempDir t;
    {
        audit::evidence::KitStateLock lock(t.str(), "kit-a");
        auto s = lock.load();
        s.kit_id = "kit-a";
        s.last_sequence = 1;
        s.last_bundle_sha256 = std::string(64, 'a');
        lock.save(s);
    }
    audit_test::write(t.path / "host_20260101T000000Z_kit-a-2.evidence.tar.zst", "bundle two");
    audit_test::write(t.path / "host_20260101T000000Z_kit-b-7.evidence.tar.zst", "other kit");
    {
        audit::evidence::KitStateLock lock(t.str(), "kit-a");
        auto s = lock.load();
        CHECK(s.last_sequence == 2);
        CHECK(s.last_bundle_sha256 ==
              audit::evidence::file_sha256(
                  (t.path / "host_20260101T000000Z_kit-a-2.evidence.tar.zst").string()));
    }
    // The newest bundle of the kit wins, even past a gap: a number is never used twice.
    audit_test::write(t.path / "host_20260101T000000Z_kit-a-12.evidence.tar.zst", "twelve");
    audit::evidence::KitStateLock lock(t.str(), "kit-a");
    auto s = lock.load();
    CHECK(s.last_sequence == 12);
    CHECK(s.last_bundle_sha256 ==
          audit::evidence::file_sha256(
              (t.path / "host_20260101T000000Z_kit-a-12.evidence.tar.zst").string()));
}

TEST_CASE("self-check: locate a kit from a binary path; outside a kit nothing is found") {
    TempDir t;
    make_tree(t.path);
    CHECK_FALSE(kit::locate_kit((t.path / "bin" / "audit-scan").string()).has_value());
    audit_test::write(t.path / std::string(kit::kKitManifestFile), "{}");
    auto where = kit::locate_kit((t.path / "bin" / "audit-scan").string());
    REQUIRE(where.has_value());
    CHECK(where->tool_rel == "bin/audit-scan");
    auto sc = kit::self_check(*where, (t.path / "bin" / "audit-scan").string());
    CHECK_FALSE(sc.verified());  // "{}" is no signed kit manifest
    CHECK_FALSE(sc.problems.empty());
    CHECK_FALSE(kit::locate_kit("/proc/self/exe").has_value());
}

TEST_CASE("self-check: a Windows tool in KIT/bin/windows/ is checked against its kit entry") {
    TestAuthority a;
    TempDir t;
    make_tree(t.path);
    const auto exe = t.path / "bin" / "windows" / "audit-scan.exe";
    audit_test::write(exe, "MZ windows binary bytes");
    const std::string trust_text = audit::trust::sign_root(a.trust, {&a.root});
    audit_test::write(t.path / std::string(kit::kTrustFile), trust_text);
    const auto trust = audit::trust::TrustRoot::verify(trust_text);
    auto m = manifest_for(a, t.str());
    m.trust_sha256 = trust.sha256;
    REQUIRE(m.find("bin/windows/audit-scan.exe"));
    audit_test::write(t.path / std::string(kit::kKitManifestFile),
                      kit::sign_kit_manifest(m, trust, a.kit, nullptr));

    auto where = kit::locate_kit(exe.string());
    REQUIRE(where.has_value());
    CHECK(where->tool_rel == "bin/windows/audit-scan.exe");
    CHECK(stdfs::equivalent(where->kit_dir, t.path));
    auto sc = kit::self_check(*where, exe.string());
    CHECK(sc.problems.empty());
    CHECK(sc.verified());

    // One byte of the .exe changed: the running image differs from its sealed entry.
    audit_test::write(exe, "MZ windows binary bytez");
    sc = kit::self_check(*where, exe.string());
    CHECK_FALSE(sc.verified());
    REQUIRE(sc.problems.size() == 1);
    CHECK(sc.problems[0] ==
          "bin/windows/audit-scan.exe: the running binary differs from the sealed one");

    // Only KIT/bin/windows/ counts: a "windows" folder elsewhere is no kit location.
    audit_test::write(t.path / "docs" / "windows" / "audit-scan.exe", "MZ");
    CHECK_FALSE(kit::locate_kit((t.path / "docs" / "windows" / "audit-scan.exe").string()));
}

TEST_CASE("kit seal: setuid/setgid refused, the executable bit sealed where the medium keeps it") {
    TestAuthority a;
    TempDir t;
    make_tree(t.path);
    stdfs::permissions(t.path / "bin" / "audit-scan", stdfs::perms(0755));
    stdfs::permissions(t.path / "docs" / "README.md", stdfs::perms(0644));
    auto m = manifest_for(a, t.str());
    REQUIRE(kit::keeps_unix_modes(t.str()));  // /tmp: tmpfs or ext4
    REQUIRE(m.files[0].mode);
    CHECK(*m.files[0].mode == 0755);
    const std::string env = kit::sign_kit_manifest(m, a.trust, a.kit, nullptr);
    auto sealed = kit::verify_kit_manifest(env, a.trust);
    CHECK(sealed.manifest.files[0].mode == 0755u);
    CHECK(kit::compare_tree(t.str(), sealed.manifest).empty());

    SECTION("setuid on a kit file: refused by check and by seal") {
        ::chmod((t.path / "bin" / "audit-scan").c_str(), 04755);
        auto p = kit::compare_tree(t.str(), sealed.manifest);
        REQUIRE(p.size() == 1);
        CHECK(p[0].what.find("setuid") != std::string::npos);
        CHECK_THROWS_WITH(kit::measure_tree(t.str()),
                          Catch::Matchers::ContainsSubstring("setuid or setgid"));
    }
    SECTION("setgid directory: refused") {
        ::chmod((t.path / "docs").c_str(), 02755);
        auto p = kit::compare_tree(t.str(), sealed.manifest);
        REQUIRE(p.size() == 1);
        CHECK(p[0].path == "docs");
    }
    SECTION("the executable bit removed or added: a problem") {
        stdfs::permissions(t.path / "bin" / "audit-scan", stdfs::perms(0644));
        stdfs::permissions(t.path / "docs" / "README.md", stdfs::perms(0755));
        auto p = kit::compare_tree(t.str(), sealed.manifest);
        REQUIRE(p.size() == 2);
        CHECK(p[0].what == "not executable, but sealed as executable");
        CHECK(p[1].what == "executable, but sealed as not executable");
    }
    SECTION("every file with the same bit (a copy off FAT): not compared, and said so") {
        for (const char* f : {"bin/audit-scan", "docs/README.md", "manifests/kaspersky.toml"})
            stdfs::permissions(t.path / f, stdfs::perms(0644));
        bool compared = true;
        CHECK(kit::compare_tree(t.str(), sealed.manifest, &compared).empty());
        CHECK_FALSE(compared);
    }
    SECTION("other permission bits (read-only copies, umask) do not matter") {
        stdfs::permissions(t.path / "bin" / "audit-scan", stdfs::perms(0500));
        stdfs::permissions(t.path / "docs" / "README.md", stdfs::perms(0400));
        CHECK(kit::compare_tree(t.str(), sealed.manifest).empty());
    }
    SECTION("a mode with setuid bits in a signed manifest: refused") {
        auto e = audit::crypto::Envelope::parse(env);
        auto j = nlohmann::json::parse(e.payload);
        j["files"][0]["mode"] = 04755;
        e.payload = j.dump();
        e.signatures.clear();
        e.sign(a.kit);
        CHECK_THROWS_WITH(kit::verify_kit_manifest(e.to_json(), a.trust),
                          Catch::Matchers::ContainsSubstring("beyond rwx"));
    }
}

TEST_CASE("the inspector's kit state keeps the highest chain head seen") {
    TempDir t;
    const std::string state = (t.path / "kit-state.json").string();
    audit::evidence::ChainHead h;
    h.kit_id = "kit-a";
    h.sequence = 3;
    h.statement_sha256 = std::string(64, 'a');
    CHECK(kit::check_chain_head_seen(h, "auth", std::nullopt).empty());
    kit::check_chain_head_seen(h, "auth", state);
    kit::check_chain_head_seen(h, "auth", state);  // the same head again
    auto older = h;
    older.sequence = 2;
    CHECK_THROWS_WITH(kit::check_chain_head_seen(older, "auth", state),
                      Catch::Matchers::ContainsSubstring("was seen before"));
    auto fork = h;
    fork.statement_sha256 = std::string(64, 'b');
    CHECK_THROWS_WITH(kit::check_chain_head_seen(fork, "auth", state),
                      Catch::Matchers::ContainsSubstring("fork"));
    kit::check_chain_head_seen(older, "other-authority", state);  // per authority
    auto newer = h;
    newer.sequence = 4;
    kit::check_chain_head_seen(newer, "auth", state);
    CHECK_THROWS_AS(kit::check_chain_head_seen(h, "auth", state), audit::VerifyError);
}

TEST_CASE("kit state: a damaged state is refused, not guessed (issue 20)") {
    TempDir t;
    const auto path = t.path / ".kit-kit-a.state.json";
    audit_test::write(path,
                      R"({"kit_id": "kit-a", "last_sequence": 1, "last_bundle_sha256": "aa"})");
    CHECK_THROWS_AS(audit::evidence::read_state_file(path.string()), audit::IoError);
    audit_test::write(path, R"({"kit_id": "kit-a", "last_sequence": 1, "last_bundle_sha256": "",
                               "last_dhr": ""})");
    CHECK_THROWS_AS(audit::evidence::read_state_file(path.string()), audit::IoError);
    audit_test::write(path, R"({"kit_id": "kit-a", "last_sequence": 1, "last_bundle_sha256": ""})");
    CHECK(audit::evidence::read_state_file(path.string()).last_sequence == 1);
    CHECK(audit::evidence::state_path_for_key("/k/collector.key", "kit-a") ==
          "/k/collector.kit-a.state.json");
}

}  // namespace kit_test_cases
