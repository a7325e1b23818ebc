// The matcher on items of the Linux sources: service rules on systemd/sysv items, module rules on
// kmod items (module files and loaded modules), package rules per ecosystem; and their purls.
#include <catch_amalgamated.hpp>

#include <set>

#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"

namespace source_match_test_cases {  // one namespace per test file: unity builds compile several as
                                     // one

using audit::InventoryItem;
using audit::manifest::Confidence;
using audit::manifest::Manifest;
using audit::manifest::Rule;
using audit::manifest::RuleKind;
using audit::match::match;

namespace {

InventoryItem item(std::string eco, std::string name, std::string state = "installed") {
    InventoryItem i;
    i.ecosystem = std::move(eco);
    i.name = std::move(name);
    i.state = std::move(state);
    i.source = "test";
    return i;
}

Manifest manifest(std::vector<Rule> rules) {
    Manifest m;
    m.id = "p";
    m.name = "P";
    m.file = "p.toml";
    m.rules = std::move(rules);
    return m;
}

Rule rule(std::string id, RuleKind kind, std::vector<std::string> patterns, std::string eco = "") {
    Rule r;
    r.id = std::move(id);
    r.kind = kind;
    r.confidence = Confidence::strong;
    r.patterns = std::move(patterns);
    r.ecosystem = std::move(eco);
    return r;
}

std::set<std::string> matched_names(const std::vector<audit::match::Finding>& findings,
                                    bool residue) {
    std::set<std::string> out;
    for (const auto& f : findings)
        if (f.residue == residue)
            for (const auto& r : f.records)
                if (r.contains("inventory"))
                    out.insert(r["inventory"]["ecosystem"].get<std::string>() + ":" +
                               r["inventory"]["name"].get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("service rules match systemd units and sysv scripts by name", "[match][sources]") {
    const auto m = manifest({rule("svc", RuleKind::service, {"kesl", "klnagent64"})});
    const auto f = match(
        {m},
        {item("systemd", "kesl.service"), item("systemd", "kesl-gui.service"),
         item("sysv", "klnagent64"), item("systemd", "klnagent64.socket"), item("deb", "kesl"),
         item("kmod", "kesl"), item("systemd", "kesl.timer", "link-only")},
        {});
    CHECK(matched_names(f, false) == std::set<std::string>{"systemd:kesl.service",
                                                           "sysv:klnagent64",
                                                           "systemd:klnagent64.socket"});
    // An enablement link left behind by a removal is residue, not presence.
    CHECK(matched_names(f, true) == std::set<std::string>{"systemd:kesl.timer"});
}

TEST_CASE("an enablement link the systemd source found dangling is residue as a file too",
          "[match][sources]") {
    const auto m = manifest({rule("svc", RuleKind::service, {"kesl"})});
    audit::fs::FileRecord link;
    link.path = "/etc/systemd/system/multi-user.target.wants/kesl.service";
    link.type = "symlink";
    auto dangling = item("systemd", "kesl.service", "link-only");
    dangling.paths = {link.path};
    auto f = match({m}, {dangling}, {link});
    for (const auto& x : f) CHECK(x.residue);
    CHECK(f.size() == 1);
    // Without the source's verdict the link alone is still reported as the unit (as before).
    f = match({m}, {}, {link});
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].residue);
}

TEST_CASE("module rules match kmod items, '-' and '_' alike", "[match][sources]") {
    const auto m = manifest({rule("mod", RuleKind::module, {"kav4fs-oas", "redirfs"})});
    auto loaded = item("kmod", "kav4fs_oas", "loaded");
    loaded.extra["live"] = true;
    const auto f = match({m},
                         {loaded, item("kmod", "redirfs"), item("kmod", "ext4"),
                          item("systemd", "redirfs.service"), item("process", "redirfs")},
                         {});
    CHECK(matched_names(f, false) == std::set<std::string>{"kmod:kav4fs_oas", "kmod:redirfs"});
}

TEST_CASE("package rules stay within their ecosystem", "[match][sources]") {
    const auto m = manifest({rule("pac", RuleKind::package, {"kesl"}, "pacman"),
                             rule("py", RuleKind::package, {"kaspersky-*"}, "pypi")});
    const auto f = match({m},
                         {item("pacman", "kesl"), item("apk", "kesl"),
                          item("pypi", "kaspersky-sdk"), item("npm", "kaspersky-sdk")},
                         {});
    CHECK(matched_names(f, false) == std::set<std::string>{"pacman:kesl", "pypi:kaspersky-sdk"});
}

TEST_CASE("purls of the Linux ecosystems", "[inventory][sources]") {
    auto i = item("pacman", "kesl");
    i.version = "1:11.1-2";
    i.arch = "x86_64";
    CHECK(i.purl() == "pkg:alpm/arch/kesl@1%3A11.1-2?arch=x86_64");
    i.extra["distro"] = "manjaro";
    CHECK(i.purl() == "pkg:alpm/manjaro/kesl@1%3A11.1-2?arch=x86_64");
    auto p = item("pypi", "Kaspersky_SDK.Tools");
    p.version = "1.0";
    CHECK(p.purl() == "pkg:pypi/kaspersky-sdk-tools@1.0");
    auto n = item("npm", "@scope/pkg");
    n.version = "2.0.0";
    CHECK(n.purl() == "pkg:npm/%40scope/pkg@2.0.0");
    CHECK(item("npm", "plain").purl() == "pkg:npm/plain");
    CHECK(item("apk", "musl").purl() == "pkg:apk/alpine/musl");
    CHECK(item("sysv", "kesl").purl() == "pkg:generic/sysv/kesl");
    auto proc = item("process", "kesl", "running");
    proc.extra["sha256"] = std::string(64, 'a');
    CHECK(proc.purl() == "pkg:generic/process/kesl?checksum=sha256:" + std::string(64, 'a'));
    CHECK(item("rpm", "kesl").purl() == "pkg:rpm/kesl");
    CHECK(item("deb", "kesl").purl() == "pkg:deb/debian/kesl");
    // Only explicit left-overs are not installed outside dpkg.
    CHECK(item("pacman", "x", "unknown").installed());
    CHECK(item("process", "x", "running").installed());
    CHECK_FALSE(item("systemd", "x", "link-only").installed());
}

}  // namespace source_match_test_cases
