#include <catch_amalgamated.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "audit/error.h"
#include "audit/match/file_filter.h"
#include "audit/match/matcher.h"

namespace match_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::InventoryItem;
using audit::fs::FileRecord;
using audit::manifest::Confidence;
using audit::manifest::Manifest;
using audit::manifest::Rule;
using audit::manifest::RuleKind;
using audit::match::Finding;
using audit::match::glob_match;
using audit::match::match;

namespace {

Rule make_rule(std::string id, RuleKind kind, Confidence c, std::vector<std::string> patterns,
               std::string ecosystem = "", bool residue = false) {
    Rule r;
    r.id = std::move(id);
    r.kind = kind;
    r.confidence = c;
    r.patterns = std::move(patterns);
    r.ecosystem = std::move(ecosystem);
    r.residue = residue;
    return r;
}

Manifest make_manifest(std::string id, std::vector<Rule> rules) {
    Manifest m;
    m.id = std::move(id);
    m.name = "Test product";
    m.file = "test.toml";
    m.rules = std::move(rules);
    return m;
}

InventoryItem deb(std::string name, std::string state = "installed", std::string publisher = "") {
    InventoryItem item;
    item.ecosystem = "deb";
    item.name = std::move(name);
    item.version = "1.0";
    item.state = std::move(state);
    item.publisher = std::move(publisher);
    item.source = "/var/lib/dpkg/status:1";
    return item;
}

FileRecord file(std::string path, std::string type = "file", std::string sha256 = "") {
    FileRecord f;
    f.path = std::move(path);
    f.type = std::move(type);
    if (!sha256.empty()) f.digests = audit::fs::FileDigests{sha256, std::string(96, '0')};
    return f;
}

bool any_presence(const std::vector<Finding>& findings) {
    for (const auto& f : findings)
        if (f.proves_presence()) return true;
    return false;
}

}  // namespace

TEST_CASE("glob: literals, '?', '*' and classes", "[match]") {
    CHECK(glob_match("kesl", "kesl"));
    CHECK_FALSE(glob_match("kesl", "kesl-gui"));
    CHECK_FALSE(glob_match("kesl", "kes"));
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "x"));

    CHECK(glob_match("kesl*", "kesl"));
    CHECK(glob_match("kesl*", "kesl-gui"));
    CHECK(glob_match("*-gui", "kesl-gui"));
    CHECK(glob_match("k*l*t", "klnagent"));
    CHECK_FALSE(glob_match("/opt/*", "/opt/a/b"));  // '*' stays within a segment
    CHECK(glob_match("/opt/*/b", "/opt/a/b"));
    CHECK(glob_match("/opt/*", "/opt/"));

    CHECK(glob_match("kav4??", "kav4fs"));
    CHECK_FALSE(glob_match("kav4??", "kav4f"));
    CHECK_FALSE(glob_match("a?b", "a/b"));  // '?' never matches '/'

    CHECK(glob_match("kav4[fw]s", "kav4fs"));
    CHECK(glob_match("kav4[fw]s", "kav4ws"));
    CHECK_FALSE(glob_match("kav4[fw]s", "kav4xs"));
    CHECK(glob_match("klnagent[0-9][0-9]", "klnagent64"));
    CHECK(glob_match("x[!0-9]", "xa"));
    CHECK_FALSE(glob_match("x[!0-9]", "x5"));
    CHECK(glob_match("x[^a]", "xb"));
    CHECK_FALSE(glob_match("x[!a]", "x/"));  // negated classes do not match '/' either
    CHECK(glob_match("x[]]", "x]"));
    CHECK(glob_match("x[a-]", "x-"));

    CHECK(glob_match("a\\*b", "a*b"));
    CHECK_FALSE(glob_match("a\\*b", "axb"));
}

TEST_CASE("glob: '**' spans any number of segments, including none", "[match]") {
    CHECK(glob_match("/opt/kaspersky/**", "/opt/kaspersky"));
    CHECK(glob_match("/opt/kaspersky/**", "/opt/kaspersky/"));
    CHECK(glob_match("/opt/kaspersky/**", "/opt/kaspersky/kesl"));
    CHECK(glob_match("/opt/kaspersky/**", "/opt/kaspersky/kesl/bin/kesl"));
    CHECK_FALSE(glob_match("/opt/kaspersky/**", "/opt/kasperskyX"));
    CHECK_FALSE(glob_match("/opt/kaspersky/**", "/opt/kaspersk"));
    CHECK_FALSE(glob_match("/opt/kaspersky/**", "/opt"));

    CHECK(glob_match("/a/**/b", "/a/b"));
    CHECK(glob_match("/a/**/b", "/a/x/b"));
    CHECK(glob_match("/a/**/b", "/a/x/y/z/b"));
    CHECK_FALSE(glob_match("/a/**/b", "/a/xb"));
    CHECK_FALSE(glob_match("/a/**/b", "/a/x/b/c"));

    CHECK(glob_match("**/kesl.ini", "kesl.ini"));
    CHECK(glob_match("**/kesl.ini", "/etc/opt/kaspersky/kesl.ini"));
    CHECK_FALSE(glob_match("**/kesl.ini", "/etc/xkesl.ini"));
    CHECK(glob_match("**", ""));
    CHECK(glob_match("**", "/any/thing"));
    CHECK(glob_match("/var/**/kaspersky/*.log", "/var/log/kaspersky/a.log"));
    CHECK(glob_match("/var/**/kaspersky/*.log", "/var/kaspersky/a.log"));
    CHECK_FALSE(glob_match("/var/**/kaspersky/*.log", "/var/log/kaspersky/sub/a.log"));
}

TEST_CASE("glob: case-insensitive matching", "[match]") {
    CHECK_FALSE(glob_match("Kaspersky*", "KASPERSKY LAB"));
    CHECK(glob_match("Kaspersky*", "KASPERSKY LAB", true));
    CHECK(glob_match("*kaspersky*", "AO Kaspersky Lab", true));
    CHECK(glob_match("[k]esl", "KESL", true));
    CHECK(glob_match("[A-C]x", "bX", true));
    CHECK_FALSE(glob_match("[!k]esl", "KESL", true));
}

TEST_CASE("glob: malformed patterns are refused", "[match]") {
    using audit::match::Glob;
    for (const char* bad :
         {"/opt/[ab", "a**", "**b", "/x/a**/b", "/x/***", "[z-a]", "a\\", "[a/]", "x[!"}) {
        INFO(bad);
        CHECK_THROWS_AS(Glob(bad), audit::UsageError);
        CHECK_FALSE(glob_match(bad, bad));
    }
}

TEST_CASE("glob: pathological patterns finish fast", "[match]") {
    const std::string text(100000, 'a');
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*b", text));
    CHECK_FALSE(glob_match("**/a*a*a*a*a*a*a*b", text));
    std::string slashes;
    for (int i = 0; i < 20000; ++i) slashes += "/a";
    CHECK_FALSE(glob_match("/**/a/**/a/**/a/**/a/**/b", slashes));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("glob: literal prefix gives the walk root", "[match]") {
    using audit::match::Glob;
    CHECK(Glob("/opt/kaspersky/**").literal_prefix() == "/opt/kaspersky");
    CHECK(Glob("/opt/kasp*/bin").literal_prefix() == "/opt");
    CHECK(Glob("/etc/opt/kaspersky/kesl.ini").literal_prefix() == "/etc/opt/kaspersky/kesl.ini");
    CHECK(Glob("/**").literal_prefix() == "/");
    CHECK(Glob("/a\\*b/*").literal_prefix() == "/a*b");
}

TEST_CASE("walk_roots: literal prefixes, unit and module dirs, minimal and sorted", "[match]") {
    const auto m = make_manifest(
        "p", {make_rule("paths", RuleKind::path, Confidence::strong,
                        {"/opt/kaspersky/**", "/opt/kaspersky/kesl/bin/*", "/var/opt/kaspersky/**",
                         "/etc/opt/kaspersky*/x"}),
              make_rule("units", RuleKind::service, Confidence::strong, {"kesl"}),
              make_rule("mods", RuleKind::module, Confidence::weak, {"klif"}),
              make_rule("pkgs", RuleKind::package, Confidence::strong, {"kesl"}, "deb")});
    // The unit directories are the systemd and sysv sources' (the source catalog), including
    // /run/systemd/system and /usr/local/lib/systemd/system, which the matcher once lacked.
    const std::vector<std::string> expected = {"/etc/init.d",
                                               "/etc/opt",
                                               "/etc/rc.d/init.d",
                                               "/etc/systemd/system",
                                               "/lib/modules",
                                               "/lib/systemd/system",
                                               "/opt/kaspersky",
                                               "/run/systemd/system",
                                               "/usr/lib/modules",
                                               "/usr/lib/systemd/system",
                                               "/usr/local/lib/systemd/system",
                                               "/var/opt/kaspersky"};
    CHECK(audit::match::walk_roots({m}) == expected);

    const auto everything =
        make_manifest("q", {make_rule("all", RuleKind::path, Confidence::weak, {"**/kesl.ini"})});
    CHECK(audit::match::walk_roots({m, everything}) == std::vector<std::string>{"/"});
    CHECK(audit::match::walk_roots({}).empty());
}

TEST_CASE("match: packages by ecosystem and name, case-insensitive", "[match]") {
    const auto m =
        make_manifest("kaspersky", {make_rule("deb", RuleKind::package, Confidence::definitive,
                                              {"kesl", "klnagent*"}, "deb")});
    InventoryItem rpm = deb("kesl");
    rpm.ecosystem = "rpm";
    const auto findings =
        match({m}, {deb("KESL"), deb("klnagent64"), deb("keslx"), rpm, deb("bash")}, {});
    REQUIRE(findings.size() == 1);
    const auto& f = findings[0];
    CHECK(f.product == "kaspersky");
    CHECK(f.rule == "deb");
    CHECK_FALSE(f.residue);
    CHECK(f.proves_presence());
    REQUIRE(f.records.size() == 2);
    CHECK(f.records[0]["inventory"]["name"] == "KESL");
    CHECK(f.records[1]["inventory"]["name"] == "klnagent64");

    const auto j = f.to_json();
    CHECK(j["product"] == "kaspersky");
    CHECK(j["product_name"] == "Test product");
    CHECK(j["confidence"] == "definitive");
    CHECK(j["kind"] == "package");
    CHECK(j["residue"] == false);
    CHECK(j["records"][1]["inventory"] == nlohmann::json{{"ecosystem", "deb"},
                                                         {"name", "klnagent64"},
                                                         {"version", "1.0"},
                                                         {"state", "installed"},
                                                         {"source", "/var/lib/dpkg/status:1"}});
}

TEST_CASE("match: a package in config-files state is residue, not presence", "[match]") {
    const auto m = make_manifest("kaspersky", {make_rule("deb", RuleKind::package,
                                                         Confidence::definitive, {"kesl"}, "deb")});
    const auto findings =
        match({m}, {deb("kesl", "config-files"), deb("kesl", "not-installed")}, {});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].residue);
    CHECK_FALSE(findings[0].proves_presence());
    REQUIRE(findings[0].records.size() == 1);
    CHECK(findings[0].records[0]["inventory"]["state"] == "config-files");
    CHECK(findings[0].to_json()["residue"] == true);

    // Installed and residue records of one rule give two findings, presence first.
    const auto both = match({m}, {deb("kesl", "config-files"), deb("kesl")}, {});
    REQUIRE(both.size() == 2);
    CHECK_FALSE(both[0].residue);
    CHECK(both[0].proves_presence());
    CHECK(both[1].residue);
}

TEST_CASE("match: residue rules never prove presence", "[match]") {
    const auto m =
        make_manifest("kaspersky", {make_rule("etc", RuleKind::path, Confidence::definitive,
                                              {"/etc/opt/kaspersky/**"}, "", true)});
    const auto findings = match({m}, {}, {file("/etc/opt/kaspersky/kesl.ini")});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].residue);
    CHECK_FALSE(findings[0].proves_presence());
}

TEST_CASE("match: weak-only matches are leads, not presence", "[match]") {
    const auto m = make_manifest(
        "kaspersky",
        {make_rule("pub", RuleKind::publisher, Confidence::weak, {"*kaspersky*"}),
         make_rule("deb", RuleKind::package, Confidence::definitive, {"kesl"}, "deb")});
    const auto findings = match({m}, {deb("kaspresso-tools", "installed", "Kaspersky Lab")}, {});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].rule == "pub");
    CHECK(findings[0].confidence == Confidence::weak);
    CHECK_FALSE(findings[0].residue);
    CHECK_FALSE(findings[0].proves_presence());
    CHECK_FALSE(any_presence(findings));
}

TEST_CASE("match: paths, hashes, services and modules", "[match]") {
    const std::string digest(64, 'a');
    const auto m = make_manifest(
        "kaspersky",
        {make_rule("opt", RuleKind::path, Confidence::strong, {"/opt/kaspersky/**"}),
         make_rule("hash", RuleKind::file_hash, Confidence::definitive,
                   {std::string(64, 'A'), std::string(96, 'b')}),
         make_rule("units", RuleKind::service, Confidence::strong, {"kesl", "klnagent64"}),
         make_rule("mods", RuleKind::module, Confidence::weak, {"kav4fs-oas"})});
    const std::vector<FileRecord> files = {
        file("/opt/kaspersky", "dir"),
        file("/opt/kaspersky/kesl/bin/kesl", "file", "ff"),
        file("/opt/kaspersky/gone", "missing"),
        file("/usr/bin/renamed", "file", digest),
        file("/lib/systemd/system/kesl.service"),
        file("/etc/systemd/system/multi-user.target.wants/kesl.service", "symlink"),
        file("/etc/init.d/klnagent64"),
        file("/etc/init.d/kesl.sh"),
        file("/usr/share/doc/kesl.service"),
        file("/lib/modules/6.1.0/extra/kav4fs_oas.ko.xz"),
        file("/lib/modules/6.1.0/extra/kav4fs_oas.txt"),
        file("/opt/modules/kav4fs_oas.ko"),
    };
    const auto findings = match({m}, {}, files);
    REQUIRE(findings.size() == 4);
    // Sorted by rule id: hash, mods, opt, units.
    CHECK(findings[0].rule == "hash");
    REQUIRE(findings[0].records.size() == 1);
    CHECK(findings[0].records[0]["file"]["path"] == "/usr/bin/renamed");
    CHECK(findings[0].records[0]["file"]["sha256"] == digest);

    CHECK(findings[1].rule == "mods");
    REQUIRE(findings[1].records.size() == 1);
    CHECK(findings[1].records[0]["file"]["path"] == "/lib/modules/6.1.0/extra/kav4fs_oas.ko.xz");

    CHECK(findings[2].rule == "opt");
    REQUIRE(findings[2].records.size() == 2);
    CHECK(findings[2].records[0]["file"]["path"] == "/opt/kaspersky");
    CHECK(findings[2].records[0]["file"]["sha256"].is_null());
    CHECK(findings[2].records[1]["file"]["path"] == "/opt/kaspersky/kesl/bin/kesl");

    CHECK(findings[3].rule == "units");
    std::vector<std::string> units;
    for (const auto& r : findings[3].records) units.push_back(r["file"]["path"]);
    CHECK(units ==
          std::vector<std::string>{"/etc/init.d/klnagent64",
                                   "/etc/systemd/system/multi-user.target.wants/kesl.service",
                                   "/lib/systemd/system/kesl.service"});
}

TEST_CASE("match: sha384 digests match too", "[match]") {
    const std::string d384(96, 'c');
    const auto m =
        make_manifest("p", {make_rule("h", RuleKind::file_hash, Confidence::definitive, {d384})});
    FileRecord f = file("/x");
    f.digests = audit::fs::FileDigests{std::string(64, '1'), std::string(96, 'C')};
    const auto findings = match({m}, {}, {f});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].records[0]["file"]["path"] == "/x");
}

TEST_CASE("match: output order does not depend on input order", "[match]") {
    const auto a = make_manifest(
        "zeta", {make_rule("b", RuleKind::path, Confidence::strong, {"/z/**"}),
                 make_rule("a", RuleKind::package, Confidence::strong, {"z*"}, "deb")});
    const auto b =
        make_manifest("alpha", {make_rule("only", RuleKind::path, Confidence::strong, {"/a/**"})});
    std::vector<FileRecord> files = {file("/z/2"), file("/a/1"), file("/z/1"), file("/z/10")};
    std::vector<InventoryItem> items = {deb("zz"), deb("za")};

    const auto first = match({a, b}, items, files);
    std::reverse(files.begin(), files.end());
    std::reverse(items.begin(), items.end());
    const auto second = match({b, a}, items, files);

    auto dump = [](const std::vector<Finding>& fs) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& f : fs) j.push_back(f.to_json());
        return j.dump();
    };
    CHECK(dump(first) == dump(second));
    REQUIRE(first.size() == 3);
    CHECK(first[0].product == "alpha");
    CHECK(first[1].rule == "a");
    CHECK(first[2].rule == "b");
    CHECK(first[2].records.size() == 3);
}

TEST_CASE("match: the shipped kaspersky manifest tells presence from residue", "[match]") {
    const auto manifests = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) +
                                                           "/manifests/kaspersky.toml");
    // After "apt-get remove kesl": config-files state and settings left under /var/opt.
    const auto removed =
        match(manifests, {deb("kesl", "config-files"), deb("bash")},
              {file("/var/opt/kaspersky/kesl/common/kesl.ini"), file("/usr/bin/bash")});
    REQUIRE_FALSE(removed.empty());
    CHECK_FALSE(any_presence(removed));
    for (const auto& f : removed) CHECK(f.residue);

    // Installed: the package, its directory and its unit each prove presence.
    const auto installed =
        match(manifests, {deb("kesl")},
              {file("/opt/kaspersky/kesl/bin/kesl", "file", std::string(64, 'f')),
               file("/lib/systemd/system/kesl.service")});
    std::set<std::string> proving;
    for (const auto& f : installed)
        if (f.proves_presence()) proving.insert(f.rule);
    CHECK(proving == std::set<std::string>{"deb-packages", "opt-kaspersky", "services"});

    // Planned on a Linux root (its Windows and macOS globs find nothing there): never "/".
    const audit::match::ListDir linux_root = [](const std::string& dir) {
        if (dir == "/")
            return std::optional<std::vector<std::string>>(
                std::vector<std::string>{"etc", "opt", "usr", "var"});
        if (dir == "/opt")
            return std::optional<std::vector<std::string>>(
                std::vector<std::string>{"google", "kaspersky"});
        return std::optional<std::vector<std::string>>();
    };
    const auto roots = audit::match::plan_walk_roots(manifests, linux_root, false);
    CHECK(std::find(roots.begin(), roots.end(), "/") == roots.end());
    // "/opt/KasperskyOS-Community-Edition-*/**" walks /opt, which holds /opt/kaspersky.
    CHECK(std::find(roots.begin(), roots.end(), "/opt") != roots.end());
    CHECK(std::find(roots.begin(), roots.end(), "/var/opt/kaspersky") != roots.end());
    CHECK(std::find(roots.begin(), roots.end(), "/lib/systemd/system") != roots.end());
    CHECK(std::is_sorted(roots.begin(), roots.end()));
}

TEST_CASE("match: every finding carries its rule's family", "[match]") {
    Rule with = make_rule("agent", RuleKind::package, Confidence::definitive, {"kesl"}, "deb");
    with.family = "endpoint-linux";
    const auto m = make_manifest(
        "kaspersky",
        {with, make_rule("dir", RuleKind::path, Confidence::strong, {"/opt/kaspersky/**"})});
    const auto findings = match({m}, {deb("kesl")}, {file("/opt/kaspersky/kesl/bin/kesl")});
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].rule == "agent");
    CHECK(findings[0].family == "endpoint-linux");
    CHECK(findings[0].to_json()["family"] == "endpoint-linux");
    CHECK(findings[1].to_json()["family"] == "unspecified");
}

TEST_CASE("match: a path rule whose matches hold no regular file is residue", "[match]") {
    const auto m = make_manifest(
        "kaspersky", {make_rule("opt", RuleKind::path, Confidence::strong, {"/opt/kaspersky/**"})});
    // What rpm -e leaves: the directories no package owned, empty (or holding only links).
    const auto left = match(
        {m}, {},
        {file("/opt/kaspersky", "dir"), file("/opt/kaspersky/kesl", "dir"),
         file("/opt/kaspersky/kesl/var", "dir"), file("/opt/kaspersky/kesl/current", "symlink")});
    REQUIRE(left.size() == 1);
    CHECK(left[0].residue);
    CHECK_FALSE(left[0].proves_presence());
    CHECK(left[0].records.size() == 4);
    CHECK(left[0].records[0]["file"]["type"] == "dir");
    CHECK(left[0].to_json()["reason"].get<std::string>().find("no regular file") !=
          std::string::npos);

    // One regular file anywhere under it: presence, as before.
    const auto installed = match(
        {m}, {}, {file("/opt/kaspersky", "dir"), file("/opt/kaspersky/kesl/bin/kesl", "file")});
    REQUIRE(installed.size() == 1);
    CHECK(installed[0].proves_presence());
    CHECK_FALSE(installed[0].to_json().contains("reason"));

    // A directory the walk could not list may hold files: never downgraded to residue.
    FileRecord unreadable = file("/opt/kaspersky/kesl", "dir");
    unreadable.error = "open: Permission denied";
    const auto doubtful = match({m}, {}, {file("/opt/kaspersky", "dir"), unreadable});
    REQUIRE(doubtful.size() == 1);
    CHECK(doubtful[0].proves_presence());
    FileRecord other_fs = file("/opt/kaspersky", "dir");
    other_fs.skipped = "other-filesystem";
    CHECK(any_presence(match({m}, {}, {other_fs})));
}

TEST_CASE("plan_walk_roots: Windows globs are looked up level by level without case", "[match]") {
    // A Windows disk as listed: names in whatever case the installer used.
    const std::map<std::string, std::vector<std::string>> tree = {
        {"/", {"PROGRAM FILES", "Program Files (x86)", "Users", "Windows", "programdata"}},
        {"/PROGRAM FILES", {"Common Files", "KASPERSKY LAB"}},
        {"/Program Files (x86)", {"Kaspersky Lab", "Mozilla Firefox"}},
        {"/programdata", {"Microsoft", "kaspersky lab"}},
    };
    std::vector<std::string> listed;
    const audit::match::ListDir list = [&](const std::string& dir) {
        listed.push_back(dir);
        auto it = tree.find(dir);
        return it == tree.end() ? std::nullopt
                                : std::optional<std::vector<std::string>>(it->second);
    };
    const auto m = make_manifest(
        "kaspersky",
        {make_rule("win", RuleKind::path, Confidence::strong,
                   {"/Program Files*/Kaspersky Lab/**", "/ProgramData/Kaspersky Lab/**",
                    "/ProgramData/Kaspersky Lab Setup Files/**"})});
    const auto roots = audit::match::plan_walk_roots({m}, list, true);
    CHECK(roots == std::vector<std::string>{
                       "/PROGRAM FILES/KASPERSKY LAB", "/Program Files (x86)/Kaspersky Lab",
                       "/programdata/Kaspersky Lab Setup Files", "/programdata/kaspersky lab"});
    // Never the whole disk, and nothing listed but the levels on the way.
    for (const auto& d : listed) CHECK((d == "/" || tree.count(d) == 1));

    // A wildcard below the top level walks the directory above it: the roots stay the same
    // whether or not the product's own directory is there.
    const auto apps = make_manifest("m", {make_rule("app", RuleKind::path, Confidence::strong,
                                                    {"/Applications/Kaspersky*.app/**"})});
    CHECK(audit::match::plan_walk_roots({apps}, list, true) ==
          std::vector<std::string>{"/Applications"});

    // Case-sensitive (any other root): literal levels as written, wildcard levels looked up;
    // a Linux manifest's roots are its literal prefixes, as walk_roots() gives them.
    CHECK(audit::match::plan_walk_roots({m}, list, false) ==
          std::vector<std::string>{"/Program Files (x86)/Kaspersky Lab",
                                   "/ProgramData/Kaspersky Lab",
                                   "/ProgramData/Kaspersky Lab Setup Files"});
    const auto linux_rules = make_manifest(
        "l", {make_rule("opt", RuleKind::path, Confidence::strong,
                        {"/opt/kaspersky/**", "/var/log/kaspersky/**", "/etc/x.conf"}),
              make_rule("units", RuleKind::service, Confidence::strong, {"kesl"})});
    CHECK(audit::match::plan_walk_roots({linux_rules}, list, false) ==
          audit::match::walk_roots({linux_rules}));

    // A directory that cannot be listed is walked whole (the walker records why).
    const audit::match::ListDir failing = [&](const std::string& dir) {
        if (dir == "/") return std::optional<std::vector<std::string>>(tree.at("/"));
        throw audit::IoError("cannot list " + dir);
    };
    const auto partial = audit::match::plan_walk_roots({m}, failing, true);
    CHECK(std::find(partial.begin(), partial.end(), "/PROGRAM FILES") != partial.end());
    CHECK(std::find(partial.begin(), partial.end(), "/") == partial.end());

    // Path rules match those paths without case on a Windows root, and only there.
    const std::vector<FileRecord> files = {file("/PROGRAM FILES/KASPERSKY LAB/avp.exe")};
    CHECK(match({m}, {}, files).empty());
    audit::match::MatchOptions windows;
    windows.case_insensitive_paths = true;
    CHECK(any_presence(match({m}, {}, files, windows)));
    CHECK(audit::match::FileFilter({m}, true).may_match(files[0]));
    CHECK_FALSE(audit::match::FileFilter({m}, false).may_match(files[0]));
}

TEST_CASE("match: the walk's filter uses the rules' compiled path globs, compiled once",
          "[match]") {
    audit::manifest::Manifest m;
    m.id = "p";
    audit::manifest::Rule r;
    r.id = "opt";
    r.kind = audit::manifest::RuleKind::path;
    r.patterns = {"/opt/kaspersky/**", "/Program Files*/Kaspersky Lab/**"};
    m.rules = {r};
    const std::vector<audit::manifest::Manifest> ms = {m};
    const audit::match::CompiledRules rules(ms, audit::match::MatchOptions{true});
    const auto globs = rules.path_globs();
    REQUIRE(globs->size() == 2);
    CHECK((*globs)[0]->pattern() == "/opt/kaspersky/**");
    // The same objects, not a copy: one compilation serves the filter and match().
    CHECK(rules.path_globs()->at(1) == (*globs)[1]);
    const audit::match::FileFilter filter(rules);
    CHECK(filter.may_match(file("/program files (x86)/kaspersky lab/avp.exe")));
    CHECK_FALSE(filter.may_match(file("/opt/other/x")));
}

TEST_CASE("match: all_of needs every part on one subject; parts-only rules stay silent",
          "[match]") {
    Rule name =
        make_rule("name", RuleKind::package, Confidence::weak, {"Kaspersky*"}, "windows-uninstall");
    Rule publisher = make_rule("publisher", RuleKind::publisher, Confidence::strong,
                               {"AO Kaspersky Lab"}, "windows-uninstall");
    publisher.standalone = false;
    Rule both = make_rule("both", RuleKind::all_of, Confidence::strong, {});
    both.all_of = {"name", "publisher"};
    const auto m = make_manifest("kaspersky", {name, publisher, both});
    auto entry = [](std::string display, std::string pub, std::string key) {
        InventoryItem i;
        i.ecosystem = "windows-uninstall";
        i.name = std::move(display);
        i.publisher = std::move(pub);
        i.state = "installed";
        i.source = "SOFTWARE:" + key;
        return i;
    };
    // Name and publisher on one entry: strong. On two different entries: not corroborated.
    const auto own =
        match({m}, {entry("Kaspersky Endpoint Security", "AO Kaspersky Lab", "a")}, {});
    std::set<std::string> proving;
    for (const auto& f : own)
        if (f.proves_presence()) proving.insert(f.rule);
    CHECK(proving == std::set<std::string>{"both"});
    for (const auto& f : own) CHECK(f.rule != "publisher");  // parts-only: never reported alone

    const auto split = match({m},
                             {entry("Kaspersky Helper", "Example Reseller", "a"),
                              entry("Example Tool", "AO Kaspersky Lab", "b")},
                             {});
    CHECK_FALSE(any_presence(split));
    REQUIRE(split.size() == 1);
    CHECK(split[0].rule == "name");  // the DisplayName alone: a lead

    // A PE file and a path rule meet on the file's path.
    Rule signer =
        make_rule("signer", RuleKind::pe_signer, Confidence::strong, {"AO Kaspersky Lab"});
    signer.standalone = false;
    Rule folder =
        make_rule("folder", RuleKind::path, Confidence::weak, {"/Program Files/Kaspersky Lab/**"});
    Rule inside = make_rule("inside", RuleKind::all_of, Confidence::strong, {});
    inside.all_of = {"signer", "folder"};
    const auto pe_m = make_manifest("kaspersky", {signer, folder, inside});
    auto pe = [](std::string path) {
        InventoryItem i;
        i.ecosystem = "pe";
        i.name = path.substr(path.rfind('/') + 1);
        i.state = "installed";
        i.source = path;
        i.paths = {path};
        i.extra["signature"] = {{"present", true}, {"subject_cn", "AO Kaspersky Lab"}};
        return i;
    };
    const auto in_folder = match({pe_m}, {pe("/Program Files/Kaspersky Lab/avp.exe")},
                                 {file("/Program Files/Kaspersky Lab/avp.exe")});
    CHECK(any_presence(in_folder));
    const auto downloads = match({pe_m}, {pe("/Users/alice/Downloads/kavremover.exe")},
                                 {file("/Program Files/Kaspersky Lab", "dir")});
    CHECK_FALSE(any_presence(downloads));
}

TEST_CASE("match: technology inside another product names its owner; the vendor's own is excluded",
          "[match]") {
    Rule sdk = make_rule("sdk", RuleKind::path, Confidence::strong,
                         {"/opt/*/**/appinfo.kli", "/Program Files*/*/**/appinfo.kli"});
    sdk.owner = true;
    sdk.exclude_owners = {"*Kaspersky*"};
    sdk.exclude_paths = {"/opt/kaspersky/**", "/Program Files*/Kaspersky Lab/**"};
    const auto m = make_manifest("kaspersky-technology", {sdk});
    InventoryItem acme = deb("acme-gateway", "installed", "Acme Networks <support@acme.example>");
    acme.paths = {"/opt/acme/engine/ppl/appinfo.kli"};
    InventoryItem kesl = deb("kesl", "installed", "Kaspersky Lab <support@kaspersky.com>");
    kesl.paths = {"/opt/vendorx/appinfo.kli"};
    InventoryItem win;
    win.ecosystem = "windows-uninstall";
    win.name = "Example Secure Browser";
    win.publisher = "Example Corp";
    win.state = "installed";
    win.paths = {"/Program Files/Example/"};
    const auto findings =
        match({m}, {acme, kesl, win},
              {file("/opt/acme/engine/ppl/appinfo.kli"), file("/opt/vendorx/appinfo.kli"),
               file("/opt/kaspersky/kesl/lib/appinfo.kli"), file("/opt/portable/appinfo.kli"),
               file("/Program Files/EXAMPLE/av/appinfo.kli"),
               file("/Program Files/Kaspersky Lab/KES/appinfo.kli")},
              audit::match::MatchOptions{true});
    REQUIRE(findings.size() == 1);
    std::map<std::string, nlohmann::json> owners;
    for (const auto& r : findings[0].records) owners[r["file"]["path"]] = r["owned_by"];
    // The vendor's package, its folders: excluded. A foreign package or Uninstall entry: named.
    CHECK(owners.size() == 3);
    CHECK(owners.at("/opt/acme/engine/ppl/appinfo.kli")["name"] == "acme-gateway");
    CHECK(owners.at("/Program Files/EXAMPLE/av/appinfo.kli")["name"] == "Example Secure Browser");
    CHECK(owners.at("/opt/portable/appinfo.kli").is_null());  // nobody owns it: still reported
}

TEST_CASE("match: a Mach-O team id counts only when its CMS signer backs it", "[match]") {
    // Items as the macho-files source writes them (formats/macho.h team_check per slice).
    const auto macho = [](const std::string& name, const std::string& team,
                          const std::string& backing, const std::string& why) {
        InventoryItem item;
        item.ecosystem = "macho";
        item.name = name;
        item.state = "installed";
        item.source = "/Applications/" + name;
        item.paths = {item.source};
        item.extra["team_ids"] = {team};
        item.extra["slices"] = {{{"cpu", "arm64"},
                                 {"team_id", team},
                                 {"team_signer", backing},
                                 {"team_signer_why", why}}};
        return item;
    };
    const Manifest m = make_manifest(
        "kaspersky", {make_rule("team", RuleKind::macho_team, Confidence::strong, {"2Y8XE5CQ94"})});
    const auto run = [&](const InventoryItem& item) { return match({m}, {item}, {}); };

    auto f = run(macho("Verified", "2Y8XE5CQ94", "verified", ""));
    REQUIRE(f.size() == 1);
    CHECK(f[0].proves_presence());
    CHECK(f[0].confidence == Confidence::strong);
    CHECK(f[0].records[0]["inventory"]["team_signer"] == "verified");

    // A CMS signature that could not be checked keeps the rule's confidence (a genuine vendor
    // binary carries one; doubt must not read as clean), and the record says why.
    f = run(macho("Odd", "2Y8XE5CQ94", "unchecked", "CMS signature unchecked: algorithm"));
    REQUIRE(f.size() == 1);
    CHECK(f[0].proves_presence());
    CHECK(f[0].records[0]["inventory"]["team_signer_why"] == "CMS signature unchecked: algorithm");

    // Ad hoc, failed, other team: a lead with a reason, never presence or residue.
    f = run(macho("AdHoc", "2Y8XE5CQ94", "refuted", "no CMS signature (ad hoc)"));
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].proves_presence());
    CHECK_FALSE(f[0].residue);
    CHECK(f[0].confidence == Confidence::weak);
    CHECK(f[0].reason.find("not backed by a verified CMS signer") != std::string::npos);
    CHECK(f[0].records[0]["inventory"]["team_signer_why"] == "no CMS signature (ad hoc)");

    // Both on one host: a finding each, presence from the verified one only.
    f = match({m},
              {macho("AdHoc", "2Y8XE5CQ94", "refuted", "x"),
               macho("Verified", "2Y8XE5CQ94", "verified", "")},
              {});
    REQUIRE(f.size() == 2);
    CHECK(std::count_if(f.begin(), f.end(), [](const Finding& x) { return x.proves_presence(); }) ==
          1);
    // Another team matches nothing; an item from before team_signer existed is a lead.
    CHECK(run(macho("Other", "ABCDE12345", "verified", "")).empty());
    InventoryItem old = macho("Old", "2Y8XE5CQ94", "", "");
    old.extra["slices"][0].erase("team_signer");
    f = run(old);
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].proves_presence());
}

}  // namespace match_test_cases
