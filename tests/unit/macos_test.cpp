#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "audit/fs/root.h"
#include "audit/host/identity.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/macos.h"
#include "support.h"

namespace macos_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::InventoryItem;
using audit::sources::SourceStatus;

using audit_test::TempDir;

void fixture(const std::string& args) {
    const std::string cmd =
        "bash " + std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/macos-root.sh " + args;
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

struct Collected {
    std::map<std::string, audit::sources::SourceReport> reports;  // by ecosystem
    std::vector<InventoryItem> items;
    const InventoryItem* find(const std::string& eco, const std::string& name) const {
        for (const auto& i : items)
            if (i.ecosystem == eco && i.name == name) return &i;
        return nullptr;
    }
};

Collected collect(const stdfs::path& root_path) {
    audit::fs::Root root(root_path.string());
    Collected c;
    const audit::sources::MacAppSource apps;
    const audit::sources::MacExtensionSource exts;
    const audit::sources::MacReceiptSource receipts;
    const audit::sources::LaunchdSource launchd;
    for (const audit::sources::Source* s :
         std::initializer_list<const audit::sources::Source*>{&apps, &exts, &receipts, &launchd})
        c.reports[std::string(s->ecosystem())] = s->collect(root, c.items);
    return c;
}

std::set<std::string> kaspersky_rules(const Collected& c) {
    const auto manifests =
        audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) + "/manifests");
    std::set<std::string> rules;
    for (const auto& f : audit::match::match(manifests, c.items, {}))
        if (f.proves_presence()) rules.insert(f.rule);
    return rules;
}

}  // namespace

TEST_CASE("macos: bundles, receipts, launchd jobs and extensions from a plistlib-made root") {
    TempDir tmp;
    const auto r = tmp.path / "mac";
    fixture("init '" + r.string() + "' mac-one");
    fixture("install-kaspersky '" + r.string() + "'");
    const Collected c = collect(r);
    for (const auto& [eco, rep] : c.reports) {
        INFO(eco);
        CHECK(rep.status == SourceStatus::ran);
    }

    const auto* kav = c.find("macos-app", "com.kaspersky.kav");
    REQUIRE(kav);
    CHECK(kav->version == "12.1.0");
    CHECK(kav->extra["bundle_version"] == "12.1.0.553");
    CHECK(kav->extra["bundle_name"] == "Kaspersky Endpoint Security");
    CHECK(kav->paths ==
          std::vector<std::string>{"/Applications/Kaspersky Endpoint Security for Mac.app"});
    REQUIRE(c.find("macos-app",
                   "com.kaspersky.kav_agent"));  // nested under Library/Application Support
    REQUIRE(c.find("macos-app", "com.apple.Safari"));
    REQUIRE(c.find("macos-app", "com.example.helper"));
    CHECK_FALSE(c.find("macos-app", "com.kaspersky.kext.klif"));  // extensions are not apps

    const auto* klif = c.find("macos-ext", "com.kaspersky.kext.klif");
    REQUIRE(klif);
    CHECK(klif->extra["kind"] == "kext");
    const auto* sysext = c.find("macos-ext", "com.kaspersky.kav.sysext");
    REQUIRE(sysext);
    CHECK(sysext->extra["kind"] == "system-extension");

    const auto* receipt = c.find("macos-pkg", "com.kaspersky.kav.core");
    REQUIRE(receipt);
    CHECK(receipt->version == "12.1.0.553");
    CHECK(receipt->extra["install_date"] == "2024-04-02T09:30:00Z");
    // var -> private/var: each receipt once.
    std::size_t receipts = 0;
    for (const auto& i : c.items) receipts += i.ecosystem == "macos-pkg";
    CHECK(receipts == 2);

    const auto* daemon = c.find("launchd", "com.kaspersky.kav");
    REQUIRE(daemon);
    CHECK(daemon->extra["kind"] == "daemon");
    CHECK(daemon->extra["program"] ==
          "/Library/Application Support/Kaspersky Lab/KAV/Binaries/kav");
    CHECK(daemon->paths.size() == 2);
    const auto* agent = c.find("launchd", "com.kaspersky.kav_agent");
    REQUIRE(agent);
    CHECK(agent->extra["kind"] == "agent");
    REQUIRE(c.find("launchd", "com.example.backup"));

    CHECK(kaspersky_rules(c) == std::set<std::string>{"macos-bundles", "macos-extensions",
                                                      "macos-receipts", "macos-launchd"});

    audit::fs::Root root(r.string());
    const auto id = audit::host::identify(root);
    CHECK(id.os_id == "macos");
    CHECK(id.os_version_id == "14.4.1");
    CHECK(id.os_pretty_name == "macOS 14.4.1 (23E224)");
    CHECK(id.hostname == "mac-one");

    fixture("remove-kaspersky '" + r.string() + "'");
    const Collected after = collect(r);
    CHECK(kaspersky_rules(after).empty());
    CHECK(after.find("macos-app", "com.apple.Safari"));
}

TEST_CASE("macos: malformed plists keep the item, marked, with a warning") {
    TempDir tmp;
    const auto r = tmp.path / "mac";
    fixture("init '" + r.string() + "' mac-two");
    stdfs::create_directories(r / "Applications/Broken.app/Contents");
    std::ofstream(r / "Applications/Broken.app/Contents/Info.plist") << "bplist00 garbage";
    std::ofstream(r / "Library/LaunchDaemons/com.kaspersky.kav.plist")
        << "<plist><dict><key>Label</key>";
    const Collected c = collect(r);
    CHECK(c.reports.at("macos-app").status == SourceStatus::ran);
    const auto* broken = c.find("macos-app", "Broken.app");
    REQUIRE(broken);
    CHECK(broken->extra["malformed"] == true);
    CHECK_FALSE(c.reports.at("macos-app").warnings.empty());
    // The job's file name still names it, so the service rule still sees it.
    const auto* job = c.find("launchd", "com.kaspersky.kav");
    REQUIRE(job);
    CHECK(job->extra["malformed"] == true);
    CHECK(kaspersky_rules(c).count("macos-launchd"));
}

TEST_CASE("macos: sources are absent on a root without SystemVersion.plist") {
    TempDir tmp;
    stdfs::create_directories(tmp.path / "Applications/X.app/Contents");
    std::ofstream(tmp.path / "Applications/X.app/Contents/Info.plist") << "<plist><dict/></plist>";
    const Collected c = collect(tmp.path);
    for (const auto& [eco, rep] : c.reports) CHECK(rep.status == SourceStatus::absent);
    CHECK(c.items.empty());
}

}  // namespace macos_test_cases
