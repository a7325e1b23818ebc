#include <sys/stat.h>

#include "audit/error.h"
#include "audit/formats/decompress.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "audit/sources/kmod.h"
#include "support.h"

namespace kmod_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::Codec;
using audit::sources::decompress;
using audit::sources::KmodSource;
using audit::sources::module_bytes;
using audit::sources::parse_modinfo;
using audit::sources::SourceStatus;

namespace {

std::string field(const std::vector<std::pair<std::string, std::string>>& info,
                  const std::string& k) {
    for (const auto& [key, v] : info)
        if (key == k) return v;
    return "<none>";
}

}  // namespace

TEST_CASE("modinfo of .ko, .ko.xz and .ko.zst matches Debian's modinfo", "[kmod]") {
    TempDir t;
    sh("bash " + fixture("kmod-module.sh") + " " + t.str() +
       " kesl-test 11.4.0.5396 'AO Kaspersky Lab'");
    for (const std::string ext : {".ko", ".ko.xz", ".ko.zst"}) {
        const auto file = t.path / ("kesl-test" + ext);
        const auto info = parse_modinfo(module_bytes(slurp(file)));
        INFO(file);
        for (const std::string k :
             {"name", "version", "author", "license", "vermagic", "srcversion"})
            CHECK(field(info, k) == trim_nl(sh("modinfo -F " + k + " " + file.string())));
    }
    // Debian's kmod is built without zlib, so the gzip copy is compared with the plain file.
    CHECK(parse_modinfo(module_bytes(slurp(t.path / "kesl-test.ko.gz"))) ==
          parse_modinfo(slurp(t.path / "kesl-test.ko")));
}

TEST_CASE("malformed ELF objects are refused, never crash", "[kmod]") {
    TempDir t;
    sh("bash " + fixture("kmod-module.sh") + " " + t.str() + " m 1 a");
    const std::string ko = slurp(t.path / "m.ko");
    REQUIRE_NOTHROW(parse_modinfo(ko));
    // Every truncation either parses (the section table is early) or throws UsageError.
    std::size_t thrown = 0;
    for (std::size_t n = 0; n < ko.size(); ++n) {
        try {
            parse_modinfo(ko.substr(0, n));
        } catch (const audit::UsageError&) {
            ++thrown;
        }
    }
    CHECK(thrown == ko.size());  // section headers sit at the end: any cut loses them
    CHECK_THROWS_AS(parse_modinfo("MZ not an elf file at all"), audit::UsageError);
    std::string bad = ko;
    bad[4] = 7;  // class
    CHECK_THROWS_AS(parse_modinfo(bad), audit::UsageError);
    bad = ko;
    for (int i = 0; i < 8; ++i) bad[0x28 + i] = '\xff';  // e_shoff far past the end
    CHECK_THROWS_AS(parse_modinfo(bad), audit::UsageError);
    bad = ko;
    bad[0x3E] = '\x7f';  // e_shstrndx out of range
    CHECK_THROWS_WITH(parse_modinfo(bad), Catch::Matchers::ContainsSubstring("index out of range"));
    // Every single-byte corruption of the ELF header and section table: parse or UsageError.
    const std::size_t shoff = static_cast<unsigned char>(ko[0x28]) |
                              static_cast<std::size_t>(static_cast<unsigned char>(ko[0x29])) << 8;
    for (std::size_t off = 0; off < ko.size(); ++off) {
        if (off >= 0x40 && off < shoff) continue;  // section contents: any bytes are valid
        for (unsigned char v : {0x00, 0x08, 0x7f, 0xff}) {
            std::string c = ko;
            c[off] = static_cast<char>(v);
            try {
                parse_modinfo(c);
            } catch (const audit::UsageError&) {
            }
        }
    }
    // An object without .modinfo.
    sh("gcc -c -x c -o " + (t.path / "plain.o").string() + " - </dev/null");
    CHECK_THROWS_WITH(parse_modinfo(slurp(t.path / "plain.o")),
                      Catch::Matchers::ContainsSubstring("no .modinfo"));
}

TEST_CASE("decompression is bounded and refuses corrupt or truncated input", "[kmod]") {
    TempDir t;
    write(t.path / "zeros", std::string(8u << 20, '\0'));
    sh("cd " + t.str() + " && xz -k zeros && zstd -q -k zeros && gzip -k -n zeros");
    for (const std::string ext : {".xz", ".zst", ".gz"}) {
        const std::string c = slurp(t.path / ("zeros" + ext));
        INFO(ext);
        const Codec codec = audit::sources::sniff_codec(c);
        REQUIRE(codec != Codec::none);
        CHECK(decompress(c, codec, 8u << 20).size() == (8u << 20));
        CHECK_THROWS_WITH(decompress(c, codec, 1u << 20),
                          Catch::Matchers::ContainsSubstring("larger than"));
        CHECK_THROWS_AS(decompress(c.substr(0, c.size() / 2), codec, 8u << 20), audit::UsageError);
        std::string corrupt = c;
        for (std::size_t i = 20; i < corrupt.size() && i < 60; ++i) corrupt[i] ^= 0x5a;
        CHECK_THROWS_AS(decompress(corrupt, codec, 8u << 20), audit::UsageError);
    }
    CHECK(audit::sources::sniff_codec("\x7f"
                                      "ELF") == Codec::none);
}

TEST_CASE("the kmod source lists modules of every kernel and keeps broken ones", "[kmod]") {
    TempDir mods, t;
    sh("bash " + fixture("kmod-module.sh") + " " + mods.str() +
       " kesl-test 1.0 'AO Kaspersky Lab'");
    const auto kdir = t.path / "lib/modules/6.1.0-13-amd64";
    stdfs::create_directories(kdir / "extra");
    stdfs::copy_file(mods.path / "kesl-test.ko.xz", kdir / "extra/kesl-test.ko.xz");
    stdfs::create_directories(t.path / "usr/lib/modules/6.5.0/updates");
    stdfs::copy_file(mods.path / "kesl-test.ko.zst",
                     t.path / "usr/lib/modules/6.5.0/updates/kesl-test.ko.zst");
    write(kdir / "kernel/broken.ko",
          "\x7f"
          "ELF garbage");
    write(kdir / "modules.dep", "extra/kesl-test.ko.xz:\n");
    stdfs::create_directory_symlink("/usr/src/linux-headers-6.1.0-13-amd64", kdir / "build");

    std::vector<audit::InventoryItem> items;
    auto rep = KmodSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 3);
    CHECK(rep.items == 3);
    const audit::InventoryItem* xz = nullptr;
    for (const auto& i : items)
        if (i.extra.value("kernel", "") == "6.1.0-13-amd64" && i.name == "kesl_test") xz = &i;
    REQUIRE(xz != nullptr);
    CHECK(xz->ecosystem == "kmod");
    CHECK(xz->version == "1.0");
    CHECK(xz->publisher == "AO Kaspersky Lab");
    CHECK(xz->paths ==
          std::vector<std::string>{"/lib/modules/6.1.0-13-amd64/extra/kesl-test.ko.xz"});
    CHECK(xz->extra["sha256"] == audit::fs::sha256_hex(slurp(kdir / "extra/kesl-test.ko.xz")));
    CHECK(xz->purl() == "pkg:generic/kmod/kesl_test@1.0?checksum=sha256:" +
                            xz->extra["sha256"].get<std::string>() + "&kernel=6.1.0-13-amd64");
    const auto* broken = find(items, "broken");
    REQUIRE(broken != nullptr);
    CHECK(broken->extra.contains("error"));
    CHECK(any_contains(rep.warnings, "broken.ko"));
}

TEST_CASE("kmod coverage: absent without module trees, failed when unreadable", "[kmod]") {
    TempDir t;
    std::vector<audit::InventoryItem> items;
    CHECK(KmodSource().collect(audit::fs::Root(t.str()), items).status == SourceStatus::absent);
    stdfs::create_directories(t.path / "lib");
    REQUIRE(::mkfifo((t.path / "lib/modules").c_str(), 0600) == 0);
    auto rep = KmodSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK_FALSE(rep.error.empty());
}

}  // namespace kmod_test_cases
