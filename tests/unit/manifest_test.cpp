#include <catch_amalgamated.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <unistd.h>

#include "audit/error.h"
#include "audit/manifest/manifest.h"
#include "support.h"

namespace manifest_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::manifest::Confidence;
using audit::manifest::Manifest;
using audit::manifest::parse_manifest;
using audit::manifest::RuleKind;

namespace {

const std::string kHeader = R"(schema = 1
id = "acme"
name = "Acme products"
vendor = "Acme Corp"
version = "2024.1"
)";

const std::string kGood = kHeader + R"(aliases = ["ACME"]
references = ["https://example.org/advisory"]

[[rule]]
id = "deb-packages"
kind = "package"
ecosystem = "deb"
confidence = "definitive"
names = ["acme-agent", "acme-gui*"]
description = "Acme's own packages"

[[rule]]
id = "config"
kind = "path"
confidence = "strong"
residue = true
paths = ["/etc/opt/acme/**"]

[[rule]]
id = "hashes"
kind = "file_hash"
confidence = "definitive"
sha256 = ["E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"]
sha384 = ["38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"]
)";

// The error message of parse_manifest, or "" when it parses.
std::string error_of(const std::string& text) {
    try {
        parse_manifest(text, "m.toml");
    } catch (const audit::UsageError& e) {
        return e.what();
    }
    return "";
}

// A temporary directory removed at scope exit.
using audit_test::TempDir;

}  // namespace

TEST_CASE("a well-formed manifest parses into rules", "[manifest]") {
    const Manifest m = parse_manifest(kGood, "acme.toml");
    CHECK(m.id == "acme");
    CHECK(m.name == "Acme products");
    CHECK(m.vendor == "Acme Corp");
    CHECK(m.version == "2024.1");
    CHECK(m.aliases == std::vector<std::string>{"ACME"});
    CHECK(m.references.size() == 1);
    CHECK(m.file == "acme.toml");
    REQUIRE(m.rules.size() == 3);

    CHECK(m.rules[0].id == "deb-packages");
    CHECK(m.rules[0].kind == RuleKind::package);
    CHECK(m.rules[0].ecosystem == "deb");
    CHECK(m.rules[0].confidence == Confidence::definitive);
    CHECK(m.rules[0].patterns == std::vector<std::string>{"acme-agent", "acme-gui*"});
    CHECK(m.rules[0].description == "Acme's own packages");
    CHECK_FALSE(m.rules[0].residue);

    CHECK(m.rules[1].kind == RuleKind::path);
    CHECK(m.rules[1].residue);

    // Digests are normalised to lowercase; both algorithms land in patterns.
    CHECK(m.rules[2].kind == RuleKind::file_hash);
    REQUIRE(m.rules[2].patterns.size() == 2);
    CHECK(m.rules[2].patterns[0] ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(m.rules[2].patterns[1].size() == 96);

    // Digests of the bytes: sha256 of kGood computed independently would tie us to the text,
    // so check format and that a one-byte change moves them.
    CHECK(m.sha256.size() == 64);
    CHECK(m.sha384.size() == 96);
    const Manifest m2 = parse_manifest(kGood + "\n", "acme.toml");
    CHECK(m2.sha256 != m.sha256);
    CHECK(m2.sha384 != m.sha384);
}

TEST_CASE("manifest digests are of the file bytes", "[manifest]") {
    // sha256("") is well known; an empty manifest cannot parse, so check a known text instead:
    // the digest must not depend on the file name.
    const Manifest a = parse_manifest(kGood, "a.toml");
    const Manifest b = parse_manifest(kGood, "dir/b.toml");
    CHECK(a.sha256 == b.sha256);
    CHECK(a.sha384 == b.sha384);
}

TEST_CASE("malformed manifests are refused with file:line:column", "[manifest]") {
    struct Case {
        const char* what;
        std::string text;
        std::string prefix;  // expected start of the message
        std::string needle;  // expected somewhere in the message
    };
    const std::string rule = "\n[[rule]]\nid = \"r\"\nkind = \"package\"\necosystem = \"deb\"\n";
    // kHeader is 5 lines; "[[rule]]" is then line 7, id 8, kind 9, ecosystem 10, next line 11.
    const std::vector<Case> cases = {
        {"TOML syntax error", kHeader + "oops = = 1\n", "m.toml:6:", "TOML syntax"},
        {"unterminated string", kHeader + "aliases = [\"x]\n", "m.toml:6:", "TOML syntax"},
        {"unknown top-level key",
         kHeader + "colour = \"red\"\n" + rule + "confidence = \"weak\"\nnames = [\"x\"]\n",
         "m.toml:6:1:", "unknown top-level key 'colour'"},
        {"unknown rule key", kHeader + rule + "confidence = \"weak\"\nnames = [\"x\"]\nfoo = 1\n",
         "m.toml:13:1:", "unknown key 'foo'"},
        {"wrong type", kHeader + rule + "confidence = \"weak\"\nnames = \"x\"\n",
         "m.toml:12:", "must be an array of strings"},
        {"wrong type in array", kHeader + rule + "confidence = \"weak\"\nnames = [\"x\", 2]\n",
         "m.toml:12:", "must be a string"},
        {"bad confidence", kHeader + rule + "confidence = \"certain\"\nnames = [\"x\"]\n",
         "m.toml:11:", "confidence \"certain\""},
        {"bad kind", kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"regedit\"\n",
         "m.toml:9:", "kind \"regedit\""},
        {"bad ecosystem",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"package\"\n"
                   "ecosystem = \"debian\"\nconfidence = \"weak\"\nnames = [\"x\"]\n",
         "m.toml:10:", "ecosystem \"debian\""},
        // Accepted before, but no source produces them: such a rule could never match.
        {"ecosystem no source produces",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"package\"\n"
                   "ecosystem = \"windows\"\nconfidence = \"weak\"\nnames = [\"x\"]\n",
         "m.toml:10:", "ecosystem \"windows\" is not produced by any source"},
        {"macos is not an ecosystem either",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"publisher\"\n"
                   "ecosystem = \"macos\"\nconfidence = \"weak\"\npublishers = [\"x\"]\n",
         "m.toml:10:", "ecosystem \"macos\" is not produced by any source"},
        {"bad family",
         kHeader + rule +
             "confidence = \"weak\"\nfamily = \"Endpoint Linux\"\n"
             "names = [\"x\"]\n",
         "m.toml:12:", "family \"Endpoint Linux\""},
        {"family not a string",
         kHeader + rule +
             "confidence = \"weak\"\nfamily = 3\n"
             "names = [\"x\"]\n",
         "m.toml:12:", "family must be a string"},
        {"missing confidence", kHeader + rule + "names = [\"x\"]\n",
         "m.toml:7:", "has no 'confidence'"},
        {"missing patterns", kHeader + rule + "confidence = \"weak\"\n",
         "m.toml:7:", "has no 'names'"},
        {"empty pattern list", kHeader + rule + "confidence = \"weak\"\nnames = []\n",
         "m.toml:12:", "must not be empty"},
        {"empty pattern", kHeader + rule + "confidence = \"weak\"\nnames = [\"\"]\n",
         "m.toml:12:", "must not be empty"},
        {"pattern key of another kind",
         kHeader + rule + "confidence = \"weak\"\npaths = [\"/x\"]\n",
         "m.toml:12:1:", "does not belong in a package rule"},
        {"ecosystem on a path rule",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"path\"\nconfidence = \"weak\"\n"
                   "ecosystem = \"deb\"\npaths = [\"/x\"]\n",
         "m.toml:11:1:", "'ecosystem' applies"},
        {"package rule without ecosystem",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"package\"\nconfidence = \"weak\"\n"
                   "names = [\"x\"]\n",
         "m.toml:7:", "has no 'ecosystem'"},
        {"relative path",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"path\"\n"
                   "confidence = \"weak\"\npaths = [\"opt/x\"]\n",
         "m.toml:11:", "must be absolute"},
        {"malformed glob class",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"path\"\n"
                   "confidence = \"weak\"\npaths = [\"/opt/[ab\"]\n",
         "m.toml:11:", "unterminated '['"},
        {"'**' inside a segment",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"path\"\n"
                   "confidence = \"weak\"\npaths = [\"/opt/a**\"]\n",
         "m.toml:11:", "whole path segment"},
        {"short digest",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"file_hash\"\n"
                   "confidence = \"weak\"\nsha256 = [\"abcd\"]\n",
         "m.toml:11:", "64 hex digits"},
        {"non-hex digest",
         kHeader +
             "\n[[rule]]\nid = \"r\"\nkind = \"file_hash\"\nconfidence = \"weak\"\n"
             "sha256 = [\"" +
             std::string(63, 'a') + "g\"]\n",
         "m.toml:11:", "64 hex digits"},
        {"unit with a slash",
         kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"service\"\n"
                   "confidence = \"weak\"\nunits = [\"a/b\"]\n",
         "m.toml:11:", "without '/'"},
        {"residue not a boolean",
         kHeader + rule + "confidence = \"weak\"\nnames = [\"x\"]\nresidue = \"yes\"\n",
         "m.toml:13:", "true or false"},
        {"duplicate rule ids",
         kHeader + rule + "confidence = \"weak\"\nnames = [\"x\"]\n" + rule +
             "confidence = \"weak\"\nnames = [\"y\"]\n",
         "m.toml:15:", "duplicate rule id \"r\" (first at line 7)"},
        {"bad rule id", kHeader + "\n[[rule]]\nid = \"Has Space\"\n", "m.toml:8:", "rule id"},
        {"missing id", kHeader.substr(0, kHeader.find("id =")) + "name = \"x\"\n",
         "m.toml:1:1:", "has no 'id'"},
        {"wrong schema", "schema = 2\n" + kHeader.substr(kHeader.find('\n') + 1) + rule,
         "m.toml:1:", "schema 2 is not supported"},
        {"no rules", kHeader, "m.toml:1:1:", "has no 'rule'"},
        {"rule not an array of tables", kHeader + "[rule]\nid = \"r\"\n", "m.toml:", "[[rule]]"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const std::string message = error_of(c.text);
        INFO(message);
        CHECK(message.rfind(c.prefix, 0) == 0);
        CHECK(message.find(c.needle) != std::string::npos);
    }
}

TEST_CASE("manifest input is bounded", "[manifest]") {
    std::string big = kGood + "# " + std::string(4u << 20, 'x') + "\n";
    CHECK(error_of(big).find("larger than") != std::string::npos);

    std::string many = kHeader;
    for (int i = 0; i <= 10000; ++i)
        many += "[[rule]]\nid = \"r" + std::to_string(i) +
                "\"\nkind = \"path\"\nconfidence = \"weak\"\npaths = [\"/x\"]\n";
    CHECK(error_of(many).find("more than 10000 rules") != std::string::npos);
}

TEST_CASE("load_manifests reads a directory in name order and refuses duplicates", "[manifest]") {
    TempDir dir;
    auto with_id = [](const std::string& id) {
        std::string t = kGood;
        t.replace(t.find("\"acme\""), 6, "\"" + id + "\"");
        return t;
    };
    dir.write("b.toml", with_id("bravo"));
    dir.write("a.toml", with_id("alpha"));
    dir.write("notes.txt", "not a manifest");
    const auto all = audit::manifest::load_manifests(dir.path.string());
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == "alpha");
    CHECK(all[1].id == "bravo");
    CHECK(all[0].file == "a.toml");
    CHECK(all[0].path == (dir.path / "a.toml").string());

    // A single file works too.
    CHECK(audit::manifest::load_manifests((dir.path / "b.toml").string()).size() == 1);

    dir.write("c.toml", with_id("alpha"));
    CHECK_THROWS_AS(audit::manifest::load_manifests(dir.path.string()), audit::UsageError);
    CHECK_THROWS_WITH(audit::manifest::load_manifests(dir.path.string()),
                      Catch::Matchers::ContainsSubstring("already used by"));

    CHECK_THROWS_AS(audit::manifest::load_manifests((dir.path / "nope").string()),
                    audit::UsageError);
    TempDir empty;
    CHECK_THROWS_AS(audit::manifest::load_manifests(empty.path.string()), audit::UsageError);

    TempDir bad;
    bad.write("x.toml", kHeader + "\n[[rule]]\nid = \"r\"\nkind = \"nope\"\n");
    CHECK_THROWS_WITH(audit::manifest::load_manifests(bad.path.string()),
                      Catch::Matchers::StartsWith((bad.path / "x.toml").string() + ":9:"));
}

TEST_CASE("the shipped kaspersky manifest parses and covers packages, paths and services",
          "[manifest]") {
    const auto all = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) +
                                                     "/manifests/kaspersky.toml");
    REQUIRE(all.size() == 1);
    const Manifest& m = all[0];
    CHECK(m.id == "kaspersky");
    CHECK_FALSE(m.references.empty());

    bool deb = false, rpm = false, path = false, service = false;
    for (const auto& r : m.rules) {
        if (r.kind == RuleKind::package && r.ecosystem == "deb" &&
            r.confidence == Confidence::definitive) {
            for (const auto& p : r.patterns) deb = deb || p == "kesl";
        }
        if (r.kind == RuleKind::package && r.ecosystem == "rpm") rpm = true;
        if (r.kind == RuleKind::path && !r.residue) {
            for (const auto& p : r.patterns) path = path || p == "/opt/kaspersky/**";
        }
        if (r.kind == RuleKind::service) service = true;
    }
    CHECK(deb);
    CHECK(rpm);
    CHECK(path);
    CHECK(service);

    // The directory form loads the same manifest (beside kaspersky-technology.toml, which sorts
    // first).
    const auto dir = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) + "/manifests");
    const auto same =
        std::find_if(dir.begin(), dir.end(), [](const auto& d) { return d.id == "kaspersky"; });
    REQUIRE(same != dir.end());
    CHECK(same->sha256 == m.sha256);
}

// TOML++ 3.3.0 reached __builtin_unreachable in is_non_ascii_horizontal_whitespace for a line
// starting with a non-ASCII character (upstream issues 190/295, pull request 305); the build
// patches the packaged header (cmake/patch-tomlplusplus.sh). A clean parse error, not UB.
TEST_CASE("a line starting with a non-ASCII character is a clean parse error", "[manifest]") {
    for (const std::string& text :
         {std::string("a = 1\n\xc3\xa9 = 2\n"), std::string("\xc2\xa1 = 1\n"),
          kHeader + "\xc3\xa9t\xc3\xa9 = 1\n"}) {
        try {
            (void)parse_manifest(text, "bad.toml");
            FAIL("parsed");
        } catch (const audit::UsageError& e) {
            CHECK(std::string(e.what()).find("bad.toml:") == 0);
        }
    }
}

TEST_CASE("load_manifests shows every file's bytes before parsing it", "[manifest]") {
    char tmpl[] = "/tmp/audit-manifest-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::filesystem::path dir(tmpl);
    std::ofstream(dir / "a.toml", std::ios::binary) << kGood;
    std::ofstream(dir / "b.toml", std::ios::binary) << "a = 1\n\xc3\xa9 = 2\n";
    std::vector<std::string> seen;
    // A refusing check keeps the parser from ever seeing the unsigned bytes.
    CHECK_THROWS_AS(audit::manifest::load_manifests(
                        dir.string(),
                        [&](const std::string& path, std::string_view bytes) {
                            seen.push_back(std::filesystem::path(path).filename().string());
                            if (bytes.find('\xc3') != std::string_view::npos)
                                throw audit::VerifyError(path + ": not signed");
                        }),
                    audit::VerifyError);
    CHECK(seen == std::vector<std::string>{"a.toml", "b.toml"});
    std::filesystem::remove_all(dir);
}

TEST_CASE("a rule's family is parsed, and every rule of kaspersky.toml has a documented one",
          "[manifest]") {
    const Manifest acme = parse_manifest(kHeader + R"(
[[rule]]
id = "agent"
kind = "package"
ecosystem = "deb"
confidence = "definitive"
family = "endpoint-linux"
names = ["acme-agent"]

[[rule]]
id = "other"
kind = "path"
confidence = "strong"
paths = ["/opt/acme/**"]
)",
                                         "acme.toml");
    REQUIRE(acme.rules.size() == 2);
    CHECK(acme.rules[0].family == "endpoint-linux");
    CHECK(acme.rules[1].family.empty());

    // The families README.md lists, one table row each ("| `name` | ...").
    std::ifstream readme(std::string(AUDIT_SOURCE_DIR) + "/manifests/README.md");
    std::string line;
    bool in_table = false;
    std::set<std::string> documented;
    while (std::getline(readme, line)) {
        if (line == "## Product families")
            in_table = true;
        else if (in_table && line.rfind("## ", 0) == 0)
            break;
        else if (in_table && line.rfind("| `", 0) == 0)
            documented.insert(line.substr(3, line.find('`', 3) - 3));
    }
    CHECK(documented.count("endpoint-linux"));
    CHECK(documented.count("network-agent"));
    for (const char* file : {"/manifests/kaspersky.toml", "/manifests/kaspersky-technology.toml"}) {
        const auto all = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) + file);
        REQUIRE(all.size() == 1);
        for (const auto& r : all[0].rules) {
            INFO(file << " rule " << r.id << " family \"" << r.family << "\"");
            CHECK(documented.count(r.family) == 1);
        }
    }
}

// Every ecosystem a manifest may name is one a source sets on its items (InventoryItem::ecosystem
// in libaudit/src/sources), so no accepted rule can be one that silently never matches.
TEST_CASE("manifest ecosystems are exactly ones some source produces", "[manifest]") {
    std::string sources;
    for (const auto& e : std::filesystem::directory_iterator(std::string(AUDIT_SOURCE_DIR) +
                                                             "/libaudit/src/sources")) {
        std::ifstream in(e.path(), std::ios::binary);
        sources.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const auto known = audit::manifest::known_ecosystems();
    CHECK(std::find(known.begin(), known.end(), "windows") == known.end());
    CHECK(std::find(known.begin(), known.end(), "macos") == known.end());
    for (const auto& e : known) {
        INFO("ecosystem " << e);
        CHECK(sources.find("\"" + e + "\"") != std::string::npos);
    }
}

TEST_CASE("all_of rules name two or more other rules; parts-only rules must be used",
          "[manifest]") {
    const std::string parts = R"(
[[rule]]
id = "name"
kind = "package"
ecosystem = "windows-uninstall"
confidence = "weak"
names = ["Acme*"]

[[rule]]
id = "publisher"
kind = "publisher"
ecosystem = "windows-uninstall"
confidence = "strong"
standalone = false
publishers = ["Acme Corp"]
)";
    const Manifest m = parse_manifest(kHeader + parts + R"(
[[rule]]
id = "both"
kind = "all_of"
confidence = "strong"
rules = ["name", "publisher"]
)",
                                      "acme.toml");
    REQUIRE(m.rules.size() == 3);
    CHECK(m.rules[2].kind == RuleKind::all_of);
    CHECK(m.rules[2].all_of == std::vector<std::string>{"name", "publisher"});
    CHECK_FALSE(m.rules[1].standalone);

    auto all_of = [&](const std::string& rules) {
        return error_of(kHeader + parts + "\n[[rule]]\nid = \"both\"\nkind = \"all_of\"\n" +
                        "confidence = \"strong\"\nrules = " + rules + "\n");
    };
    CHECK(all_of(R"(["name", "nothing"])").find("does not have") != std::string::npos);
    CHECK(all_of(R"(["name"])").find("two or more") != std::string::npos);
    CHECK(all_of(R"(["name", "name"])").find("twice") != std::string::npos);
    CHECK(all_of(R"(["name", "both"])").find("no nesting") != std::string::npos);
    CHECK(all_of(R"(["name", "publisher"])").empty());
    // A parts-only rule nobody uses would silently never count.
    const std::string orphan = error_of(kHeader + parts);
    CHECK(orphan.rfind("m.toml:", 0) == 0);
    CHECK(orphan.find("not standalone but no all_of rule names it") != std::string::npos);
}

}  // namespace manifest_test_cases
