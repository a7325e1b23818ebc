#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "audit/formats/regf.h"
#include "regf_builder.h"
#include "support.h"

namespace regf_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::regf::Hive;
using audit::regf::HiveError;
using audit::regf::Key;
using audit::regf::Value;
using namespace regf_test;

using audit_test::TempDir;

using audit_test::sh;

using audit_test::slurp;

void write_file(const stdfs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

// The same canonical form as tests/fixtures/hive-dump.pl prints with hivex.
std::string dump(const Hive& h) {
    std::string out;
    h.walk(h.root(), [&](const std::string& path, const Key& k) {
        out += "KEY\t" + path + "\n";
        for (const auto& v : h.values(k))
            out += "VAL\t" + path + "\t" + v.name + "\t" + std::to_string(v.type) + "\t" +
                   hex(v.data) + "\n";
    });
    return out;
}

bool have_hivex() {
    return std::system(
               "command -v hivexregedit >/dev/null 2>&1 && perl -MWin::Hivex -e1 "
               ">/dev/null 2>&1") == 0;
}

std::string dword(std::uint32_t v) {
    return le32(v);
}

KeySpec sample_tree() {
    KeySpec root{"ROOT", {}, {}, "lh", 100};
    KeySpec software{"Software", {}, {}, "lf", 100};
    KeySpec vendor{"KasperskyLab", {}, {}, "li", 100};
    vendor.values = {
        {"", audit::regf::reg_sz, sz("default value")},
        {"Name", audit::regf::reg_sz, sz("Kaspersky Endpoint Security")},
        {"Path", audit::regf::reg_expand_sz, sz("%ProgramFiles%\\Kaspersky Lab")},
        {"List", audit::regf::reg_multi_sz, sz("one") + sz("two") + std::string(2, '\0')},
        {"Count", audit::regf::reg_dword, dword(0x12345678)},
        {"Big", audit::regf::reg_qword, le32(1) + le32(2)},
        {"BE", audit::regf::reg_dword_big_endian, std::string("\x00\x00\x01\x02", 4)},
        {"Blob", audit::regf::reg_binary, std::string("\x01\x02\x03\x04\x05\x06", 6)},
        {"Small", audit::regf::reg_binary, std::string("\xaa\xbb", 2)},
        {"Пароль", audit::regf::reg_sz, sz("значение")},
        {"Large", audit::regf::reg_binary, std::string(6000, 'x')},
    };
    vendor.subkeys.push_back({"Касперский", {}, {}, "lh", 100});
    vendor.subkeys.push_back({"protected", {}, {}, "lh", 100});
    software.subkeys.push_back(vendor);
    software.subkeys.push_back({"Zeta", {}, {}, "lh", 100});
    root.subkeys.push_back(software);
    return root;
}

}  // namespace

TEST_CASE("Marvin32 matches the published test vectors", "[regf]") {
    const std::uint64_t seed = 0x004fb61a001bdbccull;
    const std::vector<std::pair<std::string, std::uint64_t>> vectors = {
        {"", 0x30ed35c100cd3c7dull},
        {"\xaf", 0x48e73fc77d75ddc1ull},
        {"\xe7\x0f", 0xb5f6e1fc485dbff8ull},
        {"\x37\xf4\x95", 0xf0b07c789b8cf7e8ull},
        {"\x86\x42\xdc\x59", 0x7008f2e87e9cf556ull},
        {"\x15\x3f\xb7\x98\x26", 0xe6c08c6da2afa997ull},
        {"\x09\x32\xe6\x24\x6c\x47", 0x6f04bf1a5ea24060ull},
        {"\xab\x42\x7e\xa8\xd1\x0f\xc7", 0xe11847e4f0678c41ull},
    };
    for (const auto& [data, want] : vectors) {
        INFO(data.size());
        CHECK(audit::regf::marvin32(data, seed) == want);
    }
}

TEST_CASE("a built hive: keys, values, types, case-insensitive lookup", "[regf]") {
    HiveBuilder b;
    Hive h(b.build(sample_tree()));
    CHECK(h.status().complete());
    CHECK_FALSE(h.status().dirty);
    CHECK(h.embedded_name() == "TEST");
    CHECK(h.root().name == "ROOT");

    auto vendor = h.find("SOFTWARE\\kasperskylab");
    REQUIRE(vendor);
    CHECK(vendor->name == "KasperskyLab");
    CHECK(h.find("\\Software\\\\KasperskyLab\\")->offset == vendor->offset);
    CHECK_FALSE(h.find("Software\\Kaspersky"));
    CHECK_FALSE(h.find("Software/KasperskyLab"));
    auto cyr = h.find("Software\\KasperskyLab\\КАСПЕРСКИЙ");
    REQUIRE(cyr);
    CHECK(cyr->name == "Касперский");

    CHECK(h.value(*vendor, "")->as_string() == "default value");
    CHECK(h.value(*vendor, "name")->as_string() == "Kaspersky Endpoint Security");
    CHECK(h.value(*vendor, "PATH")->as_string() == "%ProgramFiles%\\Kaspersky Lab");
    CHECK(h.value(*vendor, "List")->as_strings() == std::vector<std::string>{"one", "two"});
    CHECK(h.value(*vendor, "Count")->as_number() == 0x12345678u);
    CHECK(h.value(*vendor, "Big")->as_number() == 0x0000000200000001ull);
    CHECK(h.value(*vendor, "BE")->as_number() == 0x102u);
    CHECK(h.value(*vendor, "Blob")->data == std::string("\x01\x02\x03\x04\x05\x06", 6));
    CHECK(h.value(*vendor, "Small")->data == std::string("\xaa\xbb", 2));
    CHECK(h.value(*vendor, "пароль")->as_string() == "значение");
    CHECK(h.value(*vendor, "Large")->data == std::string(6000, 'x'));
    CHECK_FALSE(h.value(*vendor, "Count")->as_string());
    CHECK_FALSE(h.value(*vendor, "Name")->as_number());
    CHECK_FALSE(h.value(*vendor, "missing"));
    CHECK(h.subkeys(*h.find("Software")).size() == 2);
}

TEST_CASE("index roots (ri) over many leaves and big-data (db) values", "[regf]") {
    KeySpec root{"ROOT", {}, {}, "ri", 97};
    for (int i = 0; i < 2500; ++i)
        root.subkeys.push_back({"key" + std::to_string(i), {}, {}, "lh", 100});
    std::string big;
    for (int i = 0; i < 100000; ++i) big.push_back(static_cast<char>(i * 7 + i / 256));
    root.subkeys[1234].values.push_back({"Big", audit::regf::reg_binary, big});
    HiveBuilder b;
    Hive h(b.build(root));
    auto subs = h.subkeys(h.root());
    REQUIRE(subs.size() == 2500);
    CHECK(subs[2499].name == "key2499");
    auto k = h.find("KEY1234");
    REQUIRE(k);
    CHECK(h.value(*k, "big")->data == big);

    SECTION("minor version 3 keeps large data in one cell") {
        HiveBuilder old;
        old.minor = 3;
        Hive h3(old.build(root));
        CHECK(h3.value(*h3.find("key1234"), "Big")->data == big);
    }
}

TEST_CASE("our parser agrees with hivex on hives we build (ri, db, UTF-16 names)",
          "[regf][hivex]") {
    if (!have_hivex()) SKIP("hivex (libhivex-bin, libwin-hivex-perl) is not installed");
    TempDir tmp;
    KeySpec root = sample_tree();
    KeySpec many{"Many", {}, {}, "ri", 50};
    for (int i = 0; i < 300; ++i)
        many.subkeys.push_back({"sub" + std::to_string(i), {}, {}, "lf", 10});
    many.values.push_back({"Huge", audit::regf::reg_binary, std::string(40000, '\x5a')});
    root.subkeys.push_back(many);
    HiveBuilder b;
    const std::string bytes = b.build(root);
    write_file(tmp.path / "h", bytes);
    const std::string dumper = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/hive-dump.pl";
    std::string theirs = sh("perl " + dumper + " " + (tmp.path / "h").string());
    CHECK(dump(Hive(bytes)) == theirs);
    CHECK(theirs.find("KEY\tMany\\sub299\n") != std::string::npos);
}

TEST_CASE("our parser agrees with hivex on hives hivex wrote", "[regf][hivex]") {
    if (!have_hivex()) SKIP("hivex (libhivex-bin, libwin-hivex-perl) is not installed");
    TempDir tmp;
    const std::string fixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/windows-root.sh";
    const std::string dumper = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/hive-dump.pl";
    // Enough subkeys that hivex has to grow its lists, values of every type and a long one.
    std::string reg;
    for (int i = 0; i < 1500; ++i) reg += "[\\Big\\Key" + std::to_string(i) + "]\n\n";
    reg += "[\\Types]\n\"s\"=\"text with \\\\ backslash\"\n\"d\"=dword:0000002a\n";
    reg += "\"q\"=hex(b):01,02,03,04,05,06,07,08\n\"m\"=hex(7):61,00,00,00,62,00,00,00,00,00\n";
    reg += "\"e\"=hex(2):25,00,41,00,25,00,00,00\n\"b\"=hex:de,ad,be,ef\n\"long\"=hex:";
    for (int i = 0; i < 20000; ++i) reg += (i ? ",ab" : "ab");
    reg += "\n\n";
    write_file(tmp.path / "in.reg", reg);
    sh("bash " + fixture + " hive " + (tmp.path / "h").string() + " " +
       (tmp.path / "in.reg").string());
    const std::string bytes = slurp(tmp.path / "h");
    Hive h(bytes);
    CHECK(h.status().complete());
    CHECK(dump(h) == sh("perl " + dumper + " " + (tmp.path / "h").string()));
    CHECK(h.subkeys(*h.find("big")).size() == 1500);
    auto t = h.find("Types");
    REQUIRE(t);
    CHECK(h.value(*t, "s")->as_string() == "text with \\ backslash");
    CHECK(h.value(*t, "d")->as_number() == 42u);
    CHECK(h.value(*t, "q")->as_number() == 0x0807060504030201ull);
    CHECK(h.value(*t, "m")->as_strings() == std::vector<std::string>{"a", "b"});
    CHECK(h.value(*t, "e")->as_string() == "%A%");
    CHECK(h.value(*t, "long")->data.size() == 20000);
    // hivexget prints string values as text: the same as our UTF-16 decoding.
    CHECK(sh("hivexget " + (tmp.path / "h").string() + " '\\Types' s") ==
          *h.value(*t, "s")->as_string() + "\n");
}

TEST_CASE("dirty hives are recovered from HvLE transaction logs", "[regf]") {
    HiveBuilder b;
    const std::string good = b.build(sample_tree());
    REQUIRE(good.size() >= 4096 * 3);  // base block + at least two pages of hive bins
    const std::string want = dump(Hive(good));
    const std::string page1 = good.substr(4096 + 4096, 4096);

    // Primary: page 1 of the hive bins never written, sequence numbers 5/4.
    std::string primary = good;
    primary.replace(4096 + 4096, 4096, std::string(4096, '\0'));
    put32(primary, 4, 5);
    put32(primary, 8, 4);
    HiveBuilder::checksum(primary);
    const auto bins = get32(good, 40);

    SECTION("one log entry in LOG1") {
        Hive h(primary, {make_log(primary, {{4, bins, {{4096, page1}}}})});
        CHECK(h.status().dirty);
        CHECK(h.status().recovered);
        CHECK(h.status().complete());
        CHECK(h.status().log_entries_applied == 1);
        CHECK(dump(h) == want);
    }
    SECTION("entries split over LOG1 and LOG2, old entries skipped") {
        std::string half_a = page1.substr(0, 2048), half_b = page1.substr(2048);
        std::string log1 =
            make_log(primary, {{2, bins, {{4096, std::string(4096, 'Z')}}},
                               {4, bins, {{4096, half_a + std::string(2048, 'Q')}}}});
        std::string log2 = make_log(primary, {{5, bins, {{4096 + 2048, half_b}}}});
        Hive h(primary, {log1, log2});
        CHECK(h.status().log_entries_applied == 2);
        CHECK(dump(h) == want);
    }
    SECTION("the hive grows: pages beyond the primary's hive bins size") {
        std::string small = primary.substr(0, 4096 + 4096);
        put32(small, 40, 4096);
        HiveBuilder::checksum(small);
        std::vector<std::pair<std::uint32_t, std::string>> pages;
        for (std::uint32_t off = 4096; off < bins; off += 4096)
            pages.emplace_back(off, good.substr(4096 + off, 4096));
        Hive h(small, {make_log(small, {{4, bins, pages}})});
        CHECK(h.status().recovered);
        CHECK(dump(h) == want);
    }
    SECTION("a bad hash stops recovery: the hive stays incomplete") {
        std::string log = make_log(primary, {{4, bins, {{4096, page1}}, true}});
        std::optional<Hive> h;
        try {
            h.emplace(primary, std::vector<std::string>{log});
        } catch (const HiveError&) {
            SUCCEED("the unrecovered hive is not even readable");
            return;
        }
        CHECK(h->status().dirty);
        CHECK_FALSE(h->status().complete());
        CHECK(h->status().log_entries_applied == 0);
    }
    SECTION("a gap in sequence numbers stops recovery at the gap") {
        std::string log = make_log(
            primary, {{4, bins, {{4096, page1}}}, {6, bins, {{4096, std::string(4096, 'Z')}}}});
        Hive h(primary, {log});
        CHECK(h.status().log_entries_applied == 1);
        CHECK(dump(h) == want);
        bool noted = false;
        for (const auto& n : h.status().notes) noted = noted || n.find("gap") != std::string::npos;
        CHECK(noted);
    }
    SECTION("a log claiming a huge hive is not allowed to allocate it") {
        Hive h(primary, {make_log(primary, {{4, 0x7ffff000u, {{4096, page1}}}})});
        CHECK(h.status().log_entries_applied == 0);
        CHECK_FALSE(h.status().complete());
    }
    SECTION("no logs: opened as it is, marked incomplete") {
        std::string dirty_but_intact = good;
        put32(dirty_but_intact, 4, 5);
        put32(dirty_but_intact, 8, 4);
        HiveBuilder::checksum(dirty_but_intact);
        Hive h(dirty_but_intact);
        CHECK(h.status().dirty);
        CHECK_FALSE(h.status().complete());
        CHECK(dump(h) == want);
    }
    SECTION("an old-format log is reported, not applied") {
        std::string log = make_log(primary, {});
        put32(log, 28, 1);
        HiveBuilder::checksum(log);
        Hive h(primary, {log});
        CHECK_FALSE(h.status().complete());
        bool noted = false;
        for (const auto& n : h.status().notes)
            noted = noted || n.find("old-format") != std::string::npos;
        CHECK(noted);
        CHECK_THROWS_AS(dump(h), HiveError);  // page 1 is still zeros
    }
    SECTION("a bad base block checksum is repaired from the log's copy") {
        std::string bad = primary;
        bad[200] = 'X';  // inside the checksummed area
        Hive h(bad, {make_log(primary, {{4, bins, {{4096, page1}}}})});
        CHECK_FALSE(h.status().checksum_ok);
        CHECK(h.status().recovered);
        CHECK(dump(h) == want);
    }
}

TEST_CASE("malformed hives throw HiveError, never crash or loop", "[regf]") {
    HiveBuilder b;
    const std::string good = b.build(sample_tree());

    SECTION("every truncation") {
        for (std::size_t n = 0; n < good.size(); n += (n < 4200 ? 1 : 97)) {
            INFO(n);
            try {
                Hive h(good.substr(0, n));
                dump(h);
                FAIL("a truncated hive was accepted");
            } catch (const HiveError&) {
            }
        }
    }
    SECTION("signature, version, file type, hive bins") {
        auto broken = [&](std::size_t off, std::uint32_t v) {
            std::string s = good;
            put32(s, off, v);
            if (off < 508) HiveBuilder::checksum(s);
            return s;
        };
        CHECK_THROWS_AS(Hive(broken(0, 0x66676571)), HiveError);     // "qegf"
        CHECK_THROWS_AS(Hive(broken(20, 2)), HiveError);             // major version
        CHECK_THROWS_AS(Hive(broken(28, 6)), HiveError);             // a log, not a hive
        CHECK_THROWS_AS(Hive(broken(40, 4097)), HiveError);          // bins size
        CHECK_THROWS_AS(Hive(broken(40, 0x7ffff000)), HiveError);    // past the file
        CHECK_THROWS_AS(Hive(broken(36, 0x10)), HiveError);          // root inside a header
        CHECK_THROWS_AS(Hive(broken(36, 0x7fffff8)), HiveError);     // root past the end
        CHECK_THROWS_AS(Hive(broken(4096, 0x6e696249)), HiveError);  // "Ibin"
        CHECK_THROWS_AS(Hive(broken(4096 + 4, 4096)), HiveError);    // bin offset
        CHECK_THROWS_AS(Hive(broken(4096 + 8, 12)), HiveError);      // bin size
    }
    SECTION("a wrong checksum alone makes the hive dirty, not unreadable") {
        std::string s = good;
        s[300] = 1;
        Hive h(s);
        CHECK(h.status().dirty);
        CHECK_FALSE(h.status().checksum_ok);
        CHECK_FALSE(h.status().complete());
    }
    SECTION("cells: free, misaligned, wrong signatures, nested index roots, counts") {
        const std::uint32_t vendor = b.offset_of("KasperskyLab");
        const std::uint32_t software = b.offset_of("Software");
        auto nk_field = [&](std::uint32_t nk, std::size_t field, std::uint32_t v) {
            std::string s = good;
            put32(s, 4096 + nk + 4 + field, v);
            return s;
        };
        auto walk = [](const std::string& bytes) {
            Hive h(bytes);
            dump(h);
        };
        // The subkey count disagrees with the list.
        CHECK_THROWS_AS(walk(nk_field(software, 20, 3)), HiveError);
        CHECK_THROWS_AS(walk(nk_field(software, 20, 1)), HiveError);
        // Subkey list and value list offsets out of range, misaligned, into a header.
        CHECK_THROWS_AS(walk(nk_field(software, 28, 0x7ffffff0)), HiveError);
        CHECK_THROWS_AS(walk(nk_field(software, 28, 0x21)), HiveError);
        CHECK_THROWS_AS(walk(nk_field(vendor, 40, 0x8)), HiveError);
        // A value count far beyond its list.
        CHECK_THROWS_AS(walk(nk_field(vendor, 36, 500)), HiveError);
        CHECK_THROWS_AS(walk(nk_field(vendor, 36, 0xffffffff)), HiveError);
        // Name length beyond the cell.
        {
            std::string s = good;
            s[4096 + vendor + 4 + 72] = '\xff';
            s[4096 + vendor + 4 + 73] = '\x7f';
            CHECK_THROWS_AS(walk(s), HiveError);
        }
        // The subkey list points at a free cell.
        {
            std::string s = good;
            std::uint32_t list = get32(s, 4096 + software + 4 + 28);
            std::uint32_t size = get32(s, 4096 + list);
            put32(s, 4096 + list, static_cast<std::uint32_t>(-static_cast<std::int32_t>(size)));
            CHECK_THROWS_AS(walk(s), HiveError);
        }
        // A subkey list pointing at a value list (not lf/lh/li/ri).
        CHECK_THROWS_AS(walk(nk_field(software, 28, get32(good, 4096 + vendor + 4 + 40))),
                        HiveError);
    }
    SECTION("a cycle in the key tree is refused") {
        // Software's list points back to the root: walking would never end.
        const std::uint32_t software = b.offset_of("Software");
        std::string s = good;
        std::uint32_t list = get32(s, 4096 + software + 4 + 28);
        put32(s, 4096 + list + 4 + 4, get32(s, 36));  // first element -> root
        Hive h(s);
        CHECK_THROWS_AS(dump(h), HiveError);
    }
    SECTION("an index root inside an index root is refused") {
        KeySpec root{"ROOT", {}, {}, "ri", 2};
        for (int i = 0; i < 4; ++i)
            root.subkeys.push_back({"k" + std::to_string(i), {}, {}, "lh", 100});
        HiveBuilder rb;
        std::string s = rb.build(root);
        Hive ok(s);
        std::uint32_t ri = get32(s, 4096 + get32(s, 36) + 4 + 28);
        put32(s, 4096 + ri + 4 + 4, ri);  // first leaf -> the ri itself
        Hive h(s);
        CHECK_THROWS_AS(h.subkeys(h.root()), HiveError);
    }
    SECTION("value data that does not fit its cell or its big-data segments") {
        KeySpec root{"ROOT", {}, {}, "lh", 100};
        root.values.push_back({"v", audit::regf::reg_binary, std::string(100, 'a')});
        root.values.push_back({"db", audit::regf::reg_binary, std::string(40000, 'b')});
        HiveBuilder vb;
        std::string s = vb.build(root);
        Hive ok(s);
        REQUIRE(ok.values(ok.root()).size() == 2);
        std::uint32_t vlist = get32(s, 4096 + get32(s, 36) + 4 + 40);
        std::uint32_t vk0 = get32(s, 4096 + vlist + 4), vk1 = get32(s, 4096 + vlist + 8);
        auto values_of = [](const std::string& bytes) {
            Hive h(bytes);
            return h.values(h.root());
        };
        std::string t = s;
        put32(t, 4096 + vk0 + 4 + 4, 5000);  // data size beyond the data cell
        CHECK_THROWS_AS(values_of(t), HiveError);
        t = s;
        put32(t, 4096 + vk0 + 4 + 4, 0x80000010);  // inline data of 16 bytes
        CHECK_THROWS_AS(values_of(t), HiveError);
        t = s;
        put32(t, 4096 + vk1 + 4 + 4, 60000);  // more than its 3 segments hold
        CHECK_THROWS_AS(values_of(t), HiveError);
        t = s;
        put32(t, 4096 + vk1 + 4 + 4, 0x7fffffff);  // absurd size
        CHECK_THROWS_AS(values_of(t), HiveError);
    }
    SECTION("random byte flips: HiveError or a consistent result, never a crash") {
        std::mt19937 rng(1234);
        std::size_t accepted = 0, refused = 0;
        for (int round = 0; round < 3000; ++round) {
            std::string s = good;
            int flips = 1 + static_cast<int>(rng() % 8);
            for (int i = 0; i < flips; ++i)
                s[4096 + rng() % (s.size() - 4096)] = static_cast<char>(rng());
            try {
                Hive h(s);
                dump(h);
                ++accepted;
            } catch (const HiveError&) {
                ++refused;
            }
        }
        CHECK(accepted + refused == 3000);
        CHECK(refused > 0);
    }
}

TEST_CASE("names: UTF-16 decoding and case-insensitive comparison", "[regf]") {
    using audit::regf::names_equal;
    using audit::regf::utf16le_to_utf8;
    CHECK(names_equal("Uninstall", "UNINSTALL"));
    CHECK(names_equal("Kaspersky Lab", "kaspersky lab"));
    CHECK(names_equal("Ärger", "äRGER"));
    CHECK(names_equal("Касперский", "КАСПЕРСКИЙ"));
    CHECK_FALSE(names_equal("Kaspersky", "Kaspersk"));
    CHECK_FALSE(names_equal("a\xff", "a\xfe"));
    CHECK(utf16le_to_utf8(utf16("Kaspersky \xf0\x9f\x98\x80")) == "Kaspersky \xf0\x9f\x98\x80");
    CHECK(utf16le_to_utf8(std::string("\x00\xd8\x41\x00", 4)) ==
          "\xef\xbf\xbd"
          "A");                                               // lone surrogate
    CHECK(utf16le_to_utf8(std::string("A\x00X", 3)) == "A");  // odd trailing byte
}

}  // namespace regf_test_cases
