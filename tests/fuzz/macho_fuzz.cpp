// Mach-O code signatures (thin and universal files, SuperBlob, CodeDirectory team id, the CMS
// signer of the signature slot). An input that starts like a DER/BER SEQUENCE (0x30) is also put,
// as the CMS blob, into a fixed signed thin file, so the CMS reader (BER lengths, certificates,
// signed attributes, the signature check) is reached without the Mach-O layout in front.
#include <cstdint>
#include <string>

#include "audit/formats/macho.h"
#include "fuzz.h"
#ifndef AUDIT_FUZZ_MAIN
#include <catch_amalgamated.hpp>
#endif

namespace macho_fuzz_cases {  // one namespace per test file: unity builds compile several as one

namespace {

void put_le(std::string& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_be(std::string& b, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A thin arm64 Mach-O whose SuperBlob holds a CodeDirectory (version 0x20400, team 2Y8XE5CQ94)
// and cms as its CMS BlobWrapper (cs_blobs.h layouts, big-endian blobs).
std::string with_cms(std::string_view cms) {
    std::string cd;
    put_be(cd, 0xfade0c02);
    put_be(cd, 0);  // length, below
    put_be(cd, 0x20400);
    for (std::uint32_t v : {0u, 0u, 88u, 0u, 0u, 0u}) put_be(cd, v);  // flags .. codeLimit
    cd += std::string("\x20\x02\x00\x0c", 4);
    put_be(cd, 0);                // spare2
    put_be(cd, 0);                // scatterOffset
    put_be(cd, 88 + 16);          // teamOffset
    cd += std::string(36, '\0');  // spare3, codeLimit64, execSeg*
    cd += std::string("com.x.fuzz\0\0\0\0\0\0", 16);
    cd += std::string("2Y8XE5CQ94\0", 11);
    for (int i = 0; i < 4; ++i) cd[4 + i] = static_cast<char>((cd.size() >> (8 * (3 - i))) & 0xff);
    std::string wrapper;
    put_be(wrapper, 0xfade0b01);
    put_be(wrapper, static_cast<std::uint32_t>(8 + cms.size()));
    wrapper += cms;
    std::string sb;
    put_be(sb, 0xfade0cc0);
    put_be(sb, static_cast<std::uint32_t>(12 + 16 + cd.size() + wrapper.size()));
    put_be(sb, 2);
    put_be(sb, 0);
    put_be(sb, 28);
    put_be(sb, 0x10000);
    put_be(sb, static_cast<std::uint32_t>(28 + cd.size()));
    sb += cd + wrapper;
    std::string f;
    for (std::uint32_t v : {0xfeedfacfu, 0x0100000cu, 0u, 2u, 1u, 16u, 0u, 0u}) put_le(f, v);
    put_le(f, 0x1d);
    put_le(f, 16);
    put_le(f, 48);  // dataoff: right after this load command
    put_le(f, static_cast<std::uint32_t>(sb.size()));
    return f + sb;
}

void one(std::string_view file) {
    audit::fuzz::expect_typed_errors([&] {
        (void)audit::macho::looks_like_macho(file);
        for (const auto& s : audit::macho::parse(file)) {
            const auto check = audit::macho::team_check(s);
            (void)(s.identifier.size() + s.team_id.size() + s.cms.subject.size() +
                   s.cms.signature_check.size() + check.why.size());
        }
    });
}

}  // namespace

AUDIT_FUZZ_TARGET(macho) {
    one(data);
    if (!data.empty() && static_cast<unsigned char>(data[0]) == 0x30 && data.size() < (1u << 20))
        one(with_cms(data));
}

#ifndef AUDIT_FUZZ_MAIN
// The wrapper must reach the CMS reader, or the fuzzer would only ever see a Mach-O error.
TEST_CASE("fuzz: the macho target puts a CMS-looking input into a signed file", "[macho]") {
    const auto slices = audit::macho::parse(with_cms(std::string("\x30\x03\x02\x01\x01", 5)));
    REQUIRE(slices.size() == 1);
    CHECK(slices[0].team_id == "2Y8XE5CQ94");
    CHECK(slices[0].cms.present);
    CHECK_FALSE(slices[0].cms.error.empty());  // the reader saw it and refused it, typed
    CHECK(audit::macho::team_check(slices[0]).backing == audit::macho::TeamBacking::unchecked);
}
#endif

}  // namespace macho_fuzz_cases
