// The source catalog (audit/catalog.h) against what reads it and what it describes: the sources
// themselves, manifest validation, purls, the SBOM, the matcher's directories, the fuzz targets.
#include <catch_amalgamated.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "audit/catalog.h"
#include "audit/error.h"
#include "audit/evidence/sbom.h"
#include "audit/host/identity.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/source.h"
#include "audit/sources/systemd.h"
#include "audit/sources/sysv.h"
#include "support.h"

namespace catalog_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
namespace catalog = audit::catalog;

namespace {

const std::string kHeader = R"(schema = 1
id = "acme"
name = "Acme products"
vendor = "Acme Corp"
version = "2024.1"
)";

// The ecosystem a purl names: its type, or for pkg:generic/<ecosystem>/... its namespace.
std::string ecosystem_of_purl(const std::string& purl) {
    REQUIRE(purl.rfind("pkg:", 0) == 0);
    const std::string rest = purl.substr(4);
    const std::string type = rest.substr(0, rest.find('/'));
    if (type == "generic") {
        const std::string after = rest.substr(type.size() + 1);
        return after.substr(0, after.find('/'));
    }
    for (const auto& s : catalog::sources())
        for (const auto& list : {s.ecosystems, s.also_emits})
            for (const catalog::Ecosystem* e : list)
                if (e->purl_type == type) return std::string(e->name);
    return "?";
}

}  // namespace

TEST_CASE("catalog: every registered source has its entry, in the catalog's order", "[catalog]") {
    const auto all = audit::sources::all_sources();
    const auto entries = catalog::sources();
    REQUIRE(all.size() == entries.size());
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < all.size(); ++i) {
        INFO("source " << all[i]->name());
        CHECK(all[i]->name() == entries[i].name);
        CHECK(&all[i]->info() == &entries[i]);
        CHECK(names.insert(entries[i].name).second);  // names are unique
        REQUIRE_FALSE(entries[i].ecosystems.empty());
        CHECK(all[i]->ecosystem() == entries[i].ecosystems[0]->name);
        CHECK(entries[i].platforms != 0);
        CHECK_FALSE(entries[i].reads.empty());
    }
}

TEST_CASE("catalog: an ecosystem is described once, whichever sources produce it", "[catalog]") {
    std::map<std::string_view, const catalog::Ecosystem*> seen;
    for (const auto& s : catalog::sources())
        for (const auto& list : {s.ecosystems, s.also_emits})
            for (const catalog::Ecosystem* e : list) {
                INFO("ecosystem " << e->name << " of source " << s.name);
                auto [it, added] = seen.emplace(e->name, e);
                CHECK(it->second == e);  // the same object, not a second description
                CHECK(catalog::find_ecosystem(e->name) == e);
            }
    CHECK(catalog::ecosystem_names().size() == seen.size());
    CHECK(catalog::find_ecosystem("windows") == nullptr);
    CHECK(catalog::find_ecosystem("macos") == nullptr);
    CHECK(catalog::find_ecosystem("") == nullptr);
}

TEST_CASE("catalog: every ecosystem the manifest accepts is produced by a registered source",
          "[catalog][manifest]") {
    const auto accepted = audit::manifest::known_ecosystems();
    CHECK(accepted == catalog::ecosystem_names());
    for (const auto& e : accepted) {
        INFO("ecosystem " << e);
        bool produced = false;
        for (const auto& s : catalog::sources())
            for (const auto& list : {s.ecosystems, s.also_emits})
                for (const catalog::Ecosystem* x : list) produced = produced || x->name == e;
        CHECK(produced);
        // And a manifest naming it parses.
        CHECK_NOTHROW(audit::manifest::parse_manifest(kHeader + R"(
[[rule]]
id = "r"
kind = "package"
ecosystem = ")" + e + R"("
confidence = "strong"
names = ["acme"]
)",
                                                      "m.toml"));
    }
}

TEST_CASE("catalog: an unknown ecosystem is an error with file:line naming the known ones",
          "[catalog][manifest]") {
    try {
        audit::manifest::parse_manifest(kHeader + R"(
[[rule]]
id = "r"
kind = "package"
ecosystem = "debian"
confidence = "strong"
names = ["acme"]
)",
                                        "m.toml");
        FAIL("accepted an unknown ecosystem");
    } catch (const audit::UsageError& e) {
        const std::string what = e.what();
        CHECK(what.rfind("m.toml:10:", 0) == 0);  // the ecosystem line
        CHECK(what.find("ecosystem \"debian\" is not produced by any source") != std::string::npos);
        for (const auto& name : catalog::ecosystem_names())
            CHECK(what.find(name) != std::string::npos);
    }
}

TEST_CASE("catalog: each registered source's purl type round-trips", "[catalog][inventory]") {
    std::map<std::string_view, std::string_view> types;  // non-generic purl type -> ecosystem
    for (const auto& name : catalog::ecosystem_names()) {
        const catalog::Ecosystem* e = catalog::find_ecosystem(name);
        INFO("ecosystem " << name);
        if (e->purl_type != "generic") {
            auto [it, added] = types.emplace(e->purl_type, e->name);
            CHECK(it->second == e->name);  // a purl type names one ecosystem
        }
        audit::InventoryItem item;
        item.ecosystem = name;
        item.name = "acme-agent";
        item.version = "1.0";
        const std::string purl = item.purl();
        CHECK(purl.rfind("pkg:" + std::string(e->purl_type) + "/", 0) == 0);
        CHECK(ecosystem_of_purl(purl) == name);
        if (!e->purl_namespace.empty())
            CHECK(purl.find("/" + std::string(e->purl_namespace) + "/") != std::string::npos);
    }
    // An ecosystem no source has stays generic.
    audit::InventoryItem odd;
    odd.ecosystem = "odd";
    odd.name = "x";
    CHECK(odd.purl() == "pkg:generic/odd/x");
}

TEST_CASE("catalog: SBOM components by the catalog's component types", "[catalog][sbom]") {
    std::vector<audit::InventoryItem> inventory;
    for (const auto& name : catalog::ecosystem_names()) {
        audit::InventoryItem item;
        item.ecosystem = name;
        item.name = "acme-" + name;
        item.source = "test";
        inventory.push_back(item);
    }
    audit::host::HostIdentity host;
    const auto bom = audit::evidence::cyclonedx(inventory, host, "b", "2026-01-01T00:00:00Z", "1");
    std::map<std::string, std::string> types;
    for (const auto& c : bom["components"]) types[c["name"]] = c["type"];
    for (const auto& name : catalog::ecosystem_names()) {
        INFO("ecosystem " << name);
        const auto component = catalog::find_ecosystem(name)->sbom_component;
        if (component.empty())
            CHECK(types.count("acme-" + name) == 0);
        else
            CHECK(types["acme-" + name] == component);
    }
    CHECK(types.count("acme-windows-registry") == 0);  // evidence, not software
    CHECK(types["acme-kmod"] == "device-driver");
    CHECK(types["acme-pypi"] == "library");
    CHECK(types["acme-deb"] == "application");
}

TEST_CASE("catalog: walk directories are directories the sources read", "[catalog]") {
    for (const auto& s : catalog::sources()) {
        INFO("source " << s.name);
        for (const auto& d : s.walk_dirs) {
            CHECK(std::find(s.reads.begin(), s.reads.end(), d) != s.reads.end());
            CHECK_FALSE(s.answers.empty());  // the walk answers some kind with them
        }
    }
    CHECK(catalog::walk_dirs("module") ==
          std::vector<std::string>{"/lib/modules", "/usr/lib/modules"});
    CHECK(catalog::walk_dirs("package").empty());
}

// The unit directories were listed twice and disagreed: the matcher lacked /run/systemd/system
// and /usr/local/lib/systemd/system, which the systemd source reads (systemd.unit(5)). Both now
// read the catalog: a unit file in any catalog directory is found by the source, and its file
// is matched by a service rule.
TEST_CASE("catalog: the systemd source and the matcher agree on unit directories", "[catalog]") {
    TempDir t;
    const auto* systemd = catalog::find_source("systemd");
    REQUIRE(systemd);
    REQUIRE(systemd->walk_dirs.size() == 5);
    std::vector<audit::fs::FileRecord> files;
    std::size_t n = 0;
    for (const auto& d : systemd->walk_dirs) {
        const std::string name = "acme" + std::to_string(++n) + ".service";
        write(t.path / std::string(d).substr(1) / name, "[Service]\nExecStart=/opt/acme/bin/a\n");
        audit::fs::FileRecord f;
        f.path = std::string(d) + "/" + name;
        f.type = "file";
        files.push_back(f);
    }
    std::vector<audit::InventoryItem> items;
    const auto rep = audit::sources::SystemdSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == audit::sources::SourceStatus::ran);
    std::set<std::string> found;
    for (const auto& i : items) found.insert(i.name);
    for (std::size_t i = 1; i <= n; ++i)
        CHECK(found.count("acme" + std::to_string(i) + ".service"));

    audit::manifest::Manifest m;
    m.id = "acme";
    m.name = "Acme";
    m.file = "acme.toml";
    audit::manifest::Rule r;
    r.id = "units";
    r.kind = audit::manifest::RuleKind::service;
    r.confidence = audit::manifest::Confidence::strong;
    r.patterns = {"acme*"};
    m.rules = {r};
    const auto findings = audit::match::match({m}, {}, files);
    std::set<std::string> matched;
    for (const auto& f : findings)
        for (const auto& rec : f.records)
            if (rec.contains("file")) matched.insert(rec["file"]["path"].get<std::string>());
    CHECK(matched.size() == n);
    const auto roots = audit::match::walk_roots({m});
    for (const auto& d : systemd->walk_dirs)
        CHECK(std::find(roots.begin(), roots.end(), std::string(d)) != roots.end());
}

TEST_CASE("catalog: the fuzz targets and seed generators named exist", "[catalog]") {
    const std::filesystem::path src = AUDIT_SOURCE_DIR;
    for (const auto& s : catalog::sources()) {
        INFO("source " << s.name);
        for (const auto& t : s.fuzz_targets)
            CHECK(std::filesystem::exists(src / "tests/fuzz" / (std::string(t) + "_fuzz.cpp")));
        for (const auto& g : s.seed_generators)
            CHECK((std::filesystem::exists(src / "tests/fixtures" / std::string(g)) ||
                   std::filesystem::exists(src / std::string(g))));
        // Every source whose parsers read files of the root has a fuzz target; the live source
        // reads the running kernel's /proc only.
        if (s.name != "live") CHECK_FALSE(s.fuzz_targets.empty());
    }
}

TEST_CASE("catalog: reports name the catalog's ecosystems; hive sources list what they cover",
          "[catalog]") {
    TempDir t;
    const audit::fs::Root root(t.str());
    for (const auto& source : audit::sources::all_sources()) {
        if (source->name() == "live") continue;  // reads the running system
        std::vector<audit::InventoryItem> items;
        const auto rep = source->collect(root, items);
        INFO("source " << rep.name);
        CHECK(rep.name == source->name());
        CHECK(rep.status == audit::sources::SourceStatus::absent);  // an empty root
        CHECK(rep.ecosystem == source->info().ecosystems[0]->name);
        std::vector<std::string> covers;
        if (source->info().report_covers)
            for (const auto* e : source->info().ecosystems) covers.emplace_back(e->name);
        CHECK(rep.covers == covers);
    }
    // As before the catalog: the Windows hive kinds, and only they, list covers.
    const auto* software = catalog::find_source("windows-software");
    REQUIRE(software);
    CHECK(software->report_covers);
    CHECK(catalog::covers(*software, "msi"));
    CHECK(catalog::covers(*catalog::find_source("windows-system"), "windows-service"));
    CHECK_FALSE(catalog::covers(*catalog::find_source("live"), "kmod"));  // also_emits only
    CHECK(catalog::answers(*catalog::find_source("pe-files"), "pe_signer"));
}

TEST_CASE("catalog: the package databases of each system family are the catalog's", "[catalog]") {
    using V = std::vector<std::string>;
    CHECK(audit::catalog::system_databases("linux") == V{"dpkg", "rpm", "apk", "pacman"});
    CHECK(audit::catalog::system_databases("windows") == V{"windows-software"});
    CHECK(audit::catalog::system_databases("macos") == V{"macos-apps", "macos-receipts"});
    CHECK(audit::catalog::system_databases("plan9").empty());
    // Every family's list together: what the attestation's regression check reads.
    const auto all = audit::catalog::system_databases();
    CHECK(std::set<std::string>(all.begin(), all.end()) ==
          std::set<std::string>{"dpkg", "rpm", "apk", "pacman", "windows-software", "macos-apps",
                                "macos-receipts"});
}

}  // namespace catalog_test_cases
