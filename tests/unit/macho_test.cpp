// Mach-O code signature parser. No Mach-O signing tool is packaged in Debian, so the code
// signatures here are built by hand from Apple's published layouts (mach-o/loader.h:
// mach_header_64, linkedit_data_command LC_CODE_SIGNATURE 0x1d; mach-o/fat.h: fat_header/fat_arch,
// big-endian; cs_blobs.h: CS_SuperBlob 0xfade0cc0 with CS_BlobIndex entries, CS_CodeDirectory
// 0xfade0c02 whose identOffset and (version >= 0x20200) teamOffset name NUL-terminated strings; all
// big-endian).
#include <catch_amalgamated.hpp>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "audit/error.h"
#include "audit/formats/macho.h"
#include "support.h"

namespace macho_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

void le(std::string& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void be(std::string& b, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_be(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
}

// CS_CodeDirectory version 0x20400: the fixed part (88 bytes) then identifier and team id.
std::string code_directory(const std::string& ident, const std::string& team) {
    std::string cd;
    be(cd, 0xfade0c02);
    be(cd, 0);                                 // length, set below
    be(cd, 0x20400);                           // version
    be(cd, 0);                                 // flags
    be(cd, 0);                                 // hashOffset
    be(cd, 88);                                // identOffset
    be(cd, 0);                                 // nSpecialSlots
    be(cd, 0);                                 // nCodeSlots
    be(cd, 0);                                 // codeLimit
    cd += std::string("\x20\x02\x00\x0c", 4);  // hashSize 32, hashType SHA-256, platform, pageSize
    be(cd, 0);                                 // spare2
    be(cd, 0);                                 // scatterOffset
    be(cd, team.empty() ? 0 : 88 + static_cast<std::uint32_t>(ident.size()) + 1);  // teamOffset
    be(cd, 0);                                                                     // spare3
    cd += std::string(8, '\0');                                                    // codeLimit64
    cd += std::string(24, '\0');  // execSeg base/limit/flags
    REQUIRE(cd.size() == 88);
    cd += ident + '\0';
    if (!team.empty()) cd += team + '\0';
    put_be(cd, 4, static_cast<std::uint32_t>(cd.size()));
    return cd;
}

// A thin 64-bit Mach-O: header, LC_CODE_SIGNATURE (if signed), some data, the signature.
std::string macho(const std::string& ident, const std::string& team, const std::string& data,
                  bool signed_ = true) {
    std::string f;
    le(f, 0xfeedfacf);
    le(f, 0x0100000c);  // arm64
    le(f, 0);
    le(f, 2);  // MH_EXECUTE
    le(f, signed_ ? 1 : 0);
    le(f, signed_ ? 16 : 0);
    le(f, 0);
    le(f, 0);
    const std::size_t cmd = f.size();
    if (signed_) {
        le(f, 0x1d);
        le(f, 16);
        le(f, 0);  // dataoff, below
        le(f, 0);  // datasize
    }
    f += data;
    if (!signed_) return f;
    const std::string cd = code_directory(ident, team);
    std::string sb;
    be(sb, 0xfade0cc0);
    be(sb, static_cast<std::uint32_t>(12 + 8 + cd.size()));
    be(sb, 1);
    be(sb, 0);   // CSSLOT_CODEDIRECTORY
    be(sb, 20);  // its offset
    sb += cd;
    const auto off = static_cast<std::uint32_t>(f.size());
    f += sb;
    for (int i = 0; i < 4; ++i) f[cmd + 8 + i] = static_cast<char>((off >> (8 * i)) & 0xff);
    const auto size = static_cast<std::uint32_t>(sb.size());
    for (int i = 0; i < 4; ++i) f[cmd + 12 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
    return f;
}

}  // namespace

TEST_CASE("macho: the team id comes from the CodeDirectory the signature points at", "[macho]") {
    const std::string kav = macho("com.kaspersky.kav", "2Y8XE5CQ94", std::string(64, '\x90'));
    CHECK(audit::macho::looks_like_macho(kav));
    const auto slices = audit::macho::parse(kav);
    REQUIRE(slices.size() == 1);
    CHECK(slices[0].cpu == "arm64");
    CHECK(slices[0].signed_);
    CHECK(slices[0].identifier == "com.kaspersky.kav");
    CHECK(slices[0].team_id == "2Y8XE5CQ94");

    // The vendor's team id as a string elsewhere in the file is not a signature: unsigned, or
    // signed by someone else, the file does not carry that team id.
    const std::string decoy = "TeamIdentifier 2Y8XE5CQ94 com.kaspersky.kav";
    const auto unsigned_slices = audit::macho::parse(macho("", "", decoy, false));
    REQUIRE(unsigned_slices.size() == 1);
    CHECK_FALSE(unsigned_slices[0].signed_);
    CHECK(unsigned_slices[0].team_id.empty());
    const auto other = audit::macho::parse(macho("org.example.tool", "ABCDE12345", decoy));
    CHECK(other[0].team_id == "ABCDE12345");

    // A CodeDirectory older than 0x20200 has no team id field: whatever lies there is not one.
    std::string old = macho("com.example.old", "2Y8XE5CQ94", "");
    const std::size_t cd = old.size() - code_directory("com.example.old", "2Y8XE5CQ94").size();
    put_be(old, cd + 8, 0x20100);
    CHECK(audit::macho::parse(old)[0].team_id.empty());
    CHECK(audit::macho::parse(old)[0].identifier == "com.example.old");
}

TEST_CASE("macho: universal files, and malformed input refused", "[macho]") {
    const std::string a = macho("com.kaspersky.kav", "2Y8XE5CQ94", "");
    const std::string b = macho("com.kaspersky.kav", "2Y8XE5CQ94", "xx");
    std::string fat;
    be(fat, 0xcafebabe);
    be(fat, 2);
    const std::uint32_t first = 8 + 2 * 20;
    for (const auto& [off, s] : {std::pair<std::uint32_t, std::size_t>{first, a.size()},
                                 {first + static_cast<std::uint32_t>(a.size()), b.size()}}) {
        be(fat, 0x0100000c);
        be(fat, 0);
        be(fat, off);
        be(fat, static_cast<std::uint32_t>(s));
        be(fat, 0);
    }
    fat += a + b;
    const auto slices = audit::macho::parse(fat);
    REQUIRE(slices.size() == 2);
    CHECK(slices[1].team_id == "2Y8XE5CQ94");

    // Every cut of a signed file is refused with a typed error or parsed, never out of bounds.
    for (std::size_t n = 0; n < a.size(); ++n) {
        try {
            (void)audit::macho::parse(std::string_view(a).substr(0, n));
        } catch (const audit::Error&) {
        }
    }
    CHECK_THROWS_AS(audit::macho::parse("not a mach-o file"), audit::Error);
    std::string bad_team = a;
    // teamOffset (CodeDirectory + 48) pointing past the CodeDirectory.
    const std::size_t cd = a.size() - code_directory("com.kaspersky.kav", "2Y8XE5CQ94").size();
    put_be(bad_team, cd + 48, 0x7fffffff);
    CHECK_THROWS_AS(audit::macho::parse(bad_team), audit::Error);
    std::string java;  // 0xcafebabe with a class-file version where the slice count would be
    be(java, 0xcafebabe);
    be(java, 0x00000034);
    CHECK_THROWS_AS(audit::macho::parse(java), audit::Error);
}

namespace {

using audit::macho::TeamBacking;
using audit_test::fixture;
using audit_test::sh;
using audit_test::slurp;
using audit_test::TempDir;

// Signed fixtures from tests/fixtures/macho-file.py: the CMS signature is openssl's
// (`openssl cms -sign` over the CodeDirectory, detached, signed attributes), the signers are
// throw-away openssl certificates whose OU is the team id (or, "store", no team at all).
struct CmsFixtures {
    TempDir dir;
    std::string make(const std::string& name, const std::string& args) {
        const std::string out = (dir.path / name).string();
        sh("python3 '" + fixture("macho-file.py") + "' '" + out +
           "' --identifier com.example.app " + args);
        return slurp(out);
    }
    CmsFixtures() {
        for (const auto& [d, ou] : {std::pair<std::string, std::string>{"vendor", "2Y8XE5CQ94"},
                                    {"other", "ABCDE12345"},
                                    {"store", "store"},
                                    {"apple", "apple"}})
            sh("python3 '" + fixture("macho-file.py") + "' signer '" + (dir.path / d).string() +
               "' " + ou);
    }
    std::string signer(const std::string& d) { return "--sign '" + (dir.path / d).string() + "'"; }
};

CmsFixtures& cms_fixtures() {
    static CmsFixtures f;
    return f;
}

// Offset and length of the CMS BlobWrapper's content (after its 8-byte header) in a thin file.
std::pair<std::size_t, std::size_t> cms_span(const std::string& f) {
    const auto at = f.find(std::string("\xfa\xde\x0b\x01", 4));
    REQUIRE(at != std::string::npos);
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<unsigned char>(f[at + 4 + i]);
    return {at + 8, len - 8};
}

}  // namespace

TEST_CASE("macho: a CMS signer whose OU is the team id backs it (openssl cms, DER and BER)",
          "[macho]") {
    auto& fx = cms_fixtures();
    for (const std::string ber : {"", "--ber"}) {
        INFO(ber);
        const std::string f =
            fx.make("good" + ber, "--team 2Y8XE5CQ94 " + fx.signer("vendor") + " " + ber);
        const auto slices = audit::macho::parse(f);
        REQUIRE(slices.size() == 1);
        const auto& c = slices[0].cms;
        CHECK(c.present);
        CHECK(c.error.empty());
        CHECK(c.subject ==
              "UID=2Y8XE5CQ94, CN=Developer ID Application: Audit Toolkit Test (2Y8XE5CQ94), "
              "OU=2Y8XE5CQ94, O=Audit Toolkit Test, C=XX");
        CHECK(c.subject_ou == std::vector<std::string>{"2Y8XE5CQ94"});
        CHECK(c.issuer == "C=XX, O=Audit Toolkit Test, CN=Audit Toolkit Test Apple-like CA");
        CHECK(c.certificates.size() == 2);  // the leaf and the CA
        CHECK(c.digest_algorithm == "sha256");
        CHECK(c.digest_matches);
        CHECK(c.covered_slot == 0);
        CHECK(c.covered_team_id == "2Y8XE5CQ94");
        CHECK(c.signature_check == "verified");
        const auto check = audit::macho::team_check(slices[0]);
        CHECK(check.backing == TeamBacking::verified);
        CHECK(check.why.empty());
    }
    // Universal: each slice carries its own signature.
    const auto fat =
        audit::macho::parse(fx.make("fat", "--team 2Y8XE5CQ94 --fat --ber " + fx.signer("vendor")));
    REQUIRE(fat.size() == 2);
    for (const auto& s : fat) CHECK(audit::macho::team_check(s).backing == TeamBacking::verified);
}

TEST_CASE("macho: ad hoc, other-team, tampered and forged signatures do not back the team id",
          "[macho]") {
    auto& fx = cms_fixtures();
    const auto one = [](const std::string& f) {
        const auto slices = audit::macho::parse(f);
        REQUIRE(slices.size() == 1);
        return slices[0];
    };
    // Ad hoc: the CMS slot holds an empty BlobWrapper, as codesign leaves it.
    const auto adhoc = one(fx.make("adhoc", "--team 2Y8XE5CQ94"));
    CHECK(adhoc.team_id == "2Y8XE5CQ94");
    CHECK_FALSE(adhoc.cms.present);
    auto check = audit::macho::team_check(adhoc);
    CHECK(check.backing == TeamBacking::refuted);
    CHECK(check.why.find("ad hoc") != std::string::npos);

    // A real signature by a certificate of another team.
    const auto wrong_ou = one(fx.make("wrong-ou", "--team 2Y8XE5CQ94 " + fx.signer("other")));
    CHECK(wrong_ou.cms.signature_check == "verified");
    CHECK(wrong_ou.cms.digest_matches);
    CHECK(wrong_ou.cms.subject_ou == std::vector<std::string>{"ABCDE12345"});
    check = audit::macho::team_check(wrong_ou);
    CHECK(check.backing == TeamBacking::refuted);
    CHECK(check.why.find("OU is another team") != std::string::npos);

    // A signer naming no team (Apple re-signs Mac App Store apps with its own certificate): the
    // CodeDirectory's team id is neither confirmed nor contradicted, so it is not lowered.
    const auto store = one(fx.make("store-signed", "--team 2Y8XE5CQ94 " + fx.signer("store")));
    CHECK(store.cms.signature_check == "verified");
    check = audit::macho::team_check(store);
    CHECK(check.backing == TeamBacking::unchecked);
    CHECK(check.why.find("names no team") != std::string::npos);
    // Nor does a signer of Apple's own (O=Apple Inc.), whatever its OU looks like.
    const auto apple = one(fx.make("apple-signed", "--team 2Y8XE5CQ94 " + fx.signer("apple")));
    check = audit::macho::team_check(apple);
    CHECK(check.backing == TeamBacking::unchecked);
    CHECK(check.why.find("Apple's own certificate") != std::string::npos);

    // The CodeDirectory changed after signing: the messageDigest covers nothing here.
    const auto tampered =
        one(fx.make("tampered", "--team 2Y8XE5CQ94 --tamper " + fx.signer("vendor")));
    CHECK(tampered.cms.signature_check == "verified");  // the CMS itself is intact
    CHECK_FALSE(tampered.cms.digest_matches);
    check = audit::macho::team_check(tampered);
    CHECK(check.backing == TeamBacking::refuted);
    CHECK(check.why.find("changed after signing") != std::string::npos);

    // A forged signature value (its last byte, the DER's last byte).
    std::string forged = fx.make("forged", "--team 2Y8XE5CQ94 " + fx.signer("vendor"));
    const auto [at, len] = cms_span(forged);
    forged[at + len - 1] = static_cast<char>(forged[at + len - 1] ^ 1);
    const auto f = one(forged);
    CHECK(f.cms.signature_check == "failed");
    CHECK(f.cms.digest_matches);
    CHECK(audit::macho::team_check(f).backing == TeamBacking::refuted);

    // A malformed CMS blob is recorded, the CodeDirectory still read: unchecked, not refuted
    // (a genuine vendor binary always carries a CMS signature; doubt is not a clean reading).
    std::string broken = fx.make("broken", "--team 2Y8XE5CQ94 " + fx.signer("vendor"));
    const auto [bat, blen] = cms_span(broken);
    broken[bat + 1] = '\x7f';  // the outer SEQUENCE's length byte
    (void)blen;
    const auto b = one(broken);
    CHECK(b.team_id == "2Y8XE5CQ94");
    CHECK(b.cms.present);
    CHECK_FALSE(b.cms.error.empty());
    CHECK(audit::macho::team_check(b).backing == TeamBacking::unchecked);

    // Every cut of the CMS blob is refused, recorded or parsed: never out of bounds.
    const std::string good = fx.make("cuts", "--team 2Y8XE5CQ94 --ber " + fx.signer("vendor"));
    const auto [gat, glen] = cms_span(good);
    for (std::size_t n = 0; n < glen; n += 7) {
        std::string cut = good;
        // Shorten the wrapper's length field: the CMS DER ends early.
        const auto l = static_cast<std::uint32_t>(8 + n);
        for (int i = 0; i < 4; ++i)
            cut[gat - 4 + i] = static_cast<char>((l >> (8 * (3 - i))) & 0xff);
        try {
            const auto s = audit::macho::parse(cut);
            CHECK(audit::macho::team_check(s[0]).backing != TeamBacking::verified);
        } catch (const audit::Error&) {
        }
    }
}

TEST_CASE("macho: with two CodeDirectories the CMS signature backs the one it covers", "[macho]") {
    auto& fx = cms_fixtures();
    for (const std::string over : {"0", "0x1000"}) {
        INFO(over);
        const auto s = audit::macho::parse(
            fx.make("agile" + over, "--team 2Y8XE5CQ94 --alternate 2Y8XE5CQ94 --cms-over " + over +
                                        " " + fx.signer("vendor")))[0];
        CHECK(s.cms.digest_matches);
        CHECK(s.cms.covered_slot == (over == "0" ? 0u : 0x1000u));
        CHECK(audit::macho::team_check(s).backing == TeamBacking::verified);
    }
    // Slot 0 claims the vendor's team; the signer (of another team) covers the alternate
    // CodeDirectory, which names its own team: the claim in slot 0 is not what was signed.
    const auto s = audit::macho::parse(fx.make(
        "agile-split",
        "--team 2Y8XE5CQ94 --alternate ABCDE12345 --cms-over 0x1000 " + fx.signer("other")))[0];
    CHECK(s.team_id == "2Y8XE5CQ94");
    CHECK(s.cms.covered_team_id == "ABCDE12345");
    CHECK(s.cms.signature_check == "verified");
    const auto check = audit::macho::team_check(s);
    CHECK(check.backing == TeamBacking::refuted);
    CHECK(check.why.find("signed CodeDirectory names team \"ABCDE12345\"") != std::string::npos);

    // A malformed alternate CodeDirectory leaves the file readable (the first one names the
    // team), and, covered by the CMS, backs nothing.
    std::string bad = fx.make("agile-bad",
                              "--team 2Y8XE5CQ94 --alternate 2Y8XE5CQ94 --cms-over "
                              "0x1000 " +
                                  fx.signer("vendor"));
    const std::string magic("\xfa\xde\x0c\x02", 4);
    const auto second = bad.find(magic, bad.find(magic) + 4);
    REQUIRE(second != std::string::npos);
    bad[second + 3] = '\x03';
    const auto b = audit::macho::parse(bad)[0];
    CHECK(b.team_id == "2Y8XE5CQ94");
    CHECK_FALSE(b.cms.digest_matches);
    CHECK(audit::macho::team_check(b).backing == TeamBacking::refuted);
}

TEST_CASE("macho: corrupted CMS blobs are refused or recorded, never crash", "[macho]") {
    auto& fx = cms_fixtures();
    for (const std::string ber : {"", "--ber"}) {
        const std::string good =
            fx.make("flip" + ber, "--team 2Y8XE5CQ94 " + ber + " " + fx.signer("vendor"));
        const auto [at, len] = cms_span(good);
        std::mt19937 rng(18);
        const char* env = std::getenv("AUDIT_MACHO_FLIPS");  // a longer run by hand
        const int rounds = env ? std::atoi(env) : 3000;
        for (int i = 0; i < rounds; ++i) {
            std::string bad = good;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) {
                // Mostly the DER headers near the start, where the BER lengths are.
                const std::size_t off =
                    rng() % 2 ? rng() % std::min<std::size_t>(len, 96) : rng() % len;
                bad[at + off] = static_cast<char>(rng());
            }
            try {
                for (const auto& s : audit::macho::parse(bad)) (void)audit::macho::team_check(s);
            } catch (const audit::Error&) {
            }
        }
    }
}

}  // namespace macho_test_cases
