#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "audit/error.h"
#include "audit/formats/plist.h"
#include "support.h"

namespace plist_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::plist::Value;

using audit_test::TempDir;

using audit_test::slurp;

void run(const std::string& cmd) {
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

// plistlib writes each sample in both forms and its own reading of it as JSON (same mapping as
// Value::to_json: data -> {"data": base64}, dates -> {"date": ISO}, uids -> {"uid": n}).
const char* kWriter = R"PY(
import base64, datetime, json, plistlib, sys
out = sys.argv[1]
samples = {
  "info": {"CFBundleIdentifier": "com.kaspersky.kav", "CFBundleShortVersionString": "12.1.0",
           "CFBundleVersion": "12.1.0.553", "CFBundleName": "Kaspersky Endpoint Security",
           "LSMinimumSystemVersion": "10.15", "NSHighResolutionCapable": True},
  "types": {"ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**32, 2**63 - 1, -2**63],
            "reals": [0.0, 1.5, -2.25, 1e300, 3.141592653589793],
            "bools": [True, False], "empty_dict": {}, "empty_array": [], "empty_string": "",
            "data": b"\x00\x01\xfe\xffbinary", "long_data": bytes(range(256)) * 3,
            "date": datetime.datetime(2024, 4, 2, 9, 30, 15),
            "old_date": datetime.datetime(1999, 12, 31, 23, 59, 59),
            "unicode": "Лаборатория Касперского \u00e9\u4e2d\U0001F600",
            "escapes": "a < b && c > d \"q\" 'a'",
            "long_string": "x" * 1000,
            "nested": {"a": [{"b": [[[["deep"]]]]}], "c": {"d": {"e": {"f": 1}}}}},
  "many": {"k%04d" % i: i for i in range(600)},
}
def conv(v):
    if isinstance(v, bool): return v
    if isinstance(v, bytes): return {"data": base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime): return {"date": v.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, list): return [conv(x) for x in v]
    return v
for name, value in samples.items():
    for fmt, tag in ((plistlib.FMT_XML, "xml"), (plistlib.FMT_BINARY, "bin")):
        with open(f"{out}/{name}.{tag}.plist", "wb") as f:
            plistlib.dump(value, f, fmt=fmt, sort_keys=False)
        with open(f"{out}/{name}.{tag}.plist", "rb") as f:
            back = plistlib.load(f)
        with open(f"{out}/{name}.{tag}.json", "w") as f:
            json.dump(conv(back), f, ensure_ascii=False)
)PY";

// Parse or refuse with UsageError; anything else (a crash, another exception) fails the test.
void parse_or_refuse(const std::string& bytes) {
    try {
        (void)audit::plist::parse(bytes, "fuzz");
    } catch (const audit::UsageError&) {
    }
}

std::string u8(std::initializer_list<int> bytes) {
    std::string s;
    for (int b : bytes) s.push_back(static_cast<char>(b));
    return s;
}

// A binary plist from objects (already encoded) with 2-byte offsets and 1-byte refs.
std::string bplist(const std::vector<std::string>& objects, unsigned top = 0) {
    std::string out = "bplist00";
    std::vector<std::size_t> offsets;
    for (const auto& o : objects) {
        offsets.push_back(out.size());
        out += o;
    }
    const std::size_t table = out.size();
    for (auto o : offsets) {
        out.push_back(static_cast<char>(o >> 8));
        out.push_back(static_cast<char>(o & 0xff));
    }
    std::string trailer(32, '\0');
    trailer[6] = 2;
    trailer[7] = 1;
    trailer[15] = static_cast<char>(objects.size());
    trailer[23] = static_cast<char>(top);
    trailer[30] = static_cast<char>(table >> 8);
    trailer[31] = static_cast<char>(table & 0xff);
    return out + trailer;
}

}  // namespace

TEST_CASE("plist: XML and binary forms read as plistlib reads them") {
    TempDir tmp;
    { std::ofstream(tmp.path / "writer.py") << kWriter; }
    run("python3 " + (tmp.path / "writer.py").string() + " " + tmp.path.string());
    int compared = 0;
    for (const char* name : {"info", "types", "many"}) {
        for (const char* form : {"xml", "bin"}) {
            const std::string base = std::string(name) + "." + form;
            INFO(base);
            const std::string bytes = slurp(tmp.path / (base + ".plist"));
            const auto expected = nlohmann::json::parse(slurp(tmp.path / (base + ".json")));
            const Value v = audit::plist::parse(bytes, base);
            CHECK(v.to_json() == expected);
            // The same document in both forms gives the same value.
            ++compared;
        }
    }
    CHECK(compared == 6);
    const Value info = audit::plist::parse(slurp(tmp.path / "info.bin.plist"), "info");
    CHECK(info.string_at("CFBundleIdentifier") == "com.kaspersky.kav");
    CHECK(info.find("NSHighResolutionCapable")->boolean);
    CHECK(info.string_at("missing").empty());
    CHECK(audit::plist::parse_binary(slurp(tmp.path / "types.bin.plist"), "t").to_json() ==
          audit::plist::parse_xml(slurp(tmp.path / "types.xml.plist"), "t").to_json());
}

TEST_CASE("plist: truncated and corrupted binary plists are refused, never crash") {
    TempDir tmp;
    { std::ofstream(tmp.path / "writer.py") << kWriter; }
    run("python3 " + (tmp.path / "writer.py").string() + " " + tmp.path.string());
    for (const char* name : {"types.bin", "types.xml", "info.bin"}) {
        const std::string good = slurp(tmp.path / (std::string(name) + ".plist"));
        INFO(name);
        // Every prefix short of the last byte is malformed (trailer or closing tags missing).
        for (std::size_t n = 0; n + 1 < good.size(); n += (n < 64 || good.size() - n < 64) ? 1 : 7)
            CHECK_THROWS_AS(audit::plist::parse(good.substr(0, n), "truncated"), audit::UsageError);
        std::mt19937 rng(1234);
        for (int i = 0; i < 3000; ++i) {
            std::string bad = good;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
            parse_or_refuse(bad);
        }
    }
}

TEST_CASE("plist: hand-made malformed binary plists") {
    // Array 0xA1 whose only element is itself.
    CHECK_THROWS_WITH(audit::plist::parse(bplist({u8({0xA1, 0x00})}), "cycle"),
                      Catch::Matchers::ContainsSubstring("cycle"));
    // 30 arrays, each holding the next twice: 2^30 values when expanded; the budget stops it.
    std::vector<std::string> objects;
    for (int i = 0; i < 30; ++i) objects.push_back(u8({0xA2, i + 1, i + 1}));
    objects.push_back(u8({0x09}));
    CHECK_THROWS_WITH(audit::plist::parse(bplist(objects), "dag"),
                      Catch::Matchers::ContainsSubstring("values"));
    // 200 nested arrays: depth bound.
    objects.clear();
    for (int i = 0; i < 200; ++i) objects.push_back(u8({0xA1, i + 1}));
    objects.push_back(u8({0x08}));
    CHECK_THROWS_WITH(audit::plist::parse(bplist(objects), "deep"),
                      Catch::Matchers::ContainsSubstring("deeper"));
    // Reference past the object count, string running past the object area, non-string key.
    CHECK_THROWS_AS(audit::plist::parse(bplist({u8({0xA1, 0x05})}), "ref"), audit::UsageError);
    CHECK_THROWS_AS(
        audit::plist::parse(bplist({u8({0x5F, 0x13, 0xFF, 0xFF, 0xFF, 0xFF, 'a'})}), "len"),
        audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(bplist({u8({0xD1, 0x01, 0x01}), u8({0x10, 0x01})}), "key"),
                    audit::UsageError);
    // A well-formed one for contrast: {"a": true}.
    const Value ok =
        audit::plist::parse(bplist({u8({0xD1, 0x01, 0x02}), u8({0x51, 'a'}), u8({0x09})}), "ok");
    CHECK(ok.find("a")->boolean);
}

TEST_CASE("plist: hand-made malformed XML plists") {
    const std::string head = "<?xml version=\"1.0\"?><plist version=\"1.0\">";
    CHECK(audit::plist::parse(
              head + "<dict><key>a&amp;b</key><string>&#x41;&#66;&lt;</string></dict></plist>", "x")
              .string_at("a&b") == "AB<");
    CHECK_THROWS_AS(audit::plist::parse(head + "<dict><key>a</key><string>x</dict></plist>", "x"),
                    audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<string>&bogus;</string></plist>", "x"),
                    audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<integer>12x</integer></plist>", "x"),
                    audit::UsageError);
    CHECK_THROWS_AS(
        audit::plist::parse(head + "<integer>99999999999999999999</integer></plist>", "x"),
        audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<date>2024-13-01T00:00:00Z</date></plist>", "x"),
                    audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<data>!!!</data></plist>", "x"), audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<dict><string>no key</string></dict></plist>", "x"),
                    audit::UsageError);
    CHECK_THROWS_AS(
        audit::plist::parse(
            "<!DOCTYPE plist [<!ENTITY x \"y\">]><plist><string>&x;</string></plist>", "x"),
        audit::UsageError);
    CHECK_THROWS_AS(audit::plist::parse(head + "<string>a</string></plist><junk/>", "x"),
                    audit::UsageError);
    std::string deep = head;
    for (int i = 0; i < 300; ++i) deep += "<array>";
    CHECK_THROWS_WITH(audit::plist::parse(deep, "x"), Catch::Matchers::ContainsSubstring("deeper"));
    // Invalid UTF-8 is replaced, so the value can always go into JSON evidence.
    const Value v = audit::plist::parse(head +
                                            "<string>a\xff\xfe"
                                            "b</string></plist>",
                                        "x");
    CHECK(v.text ==
          "a\xEF\xBF\xBD\xEF\xBF\xBD"
          "b");
    CHECK_NOTHROW(v.to_json().dump());
}

}  // namespace plist_test_cases
