#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "audit/formats/regf.h"
#include "audit/fs/root.h"
#include "audit/host/identity.h"
#include "audit/host/windows_registry.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/windows.h"
#include "regf_builder.h"
#include "support.h"

namespace windows_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::InventoryItem;
using audit::sources::SourceStatus;

using audit_test::TempDir;

void sh(const std::string& cmd) {
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

bool have_hivex() {
    return std::system("command -v hivexregedit >/dev/null 2>&1") == 0;
}

const std::string kGuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

// hivex runs take seconds: each state is laid out once per test run and copied from there.
void layout(const stdfs::path& root, const std::string& state) {
    static std::map<std::string, TempDir> made;
    auto it = made.find(state);
    if (it == made.end()) {
        it = made.try_emplace(state).first;
        sh("bash " + std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/windows-root.sh layout " +
           (it->second.path / "root").string() + " " + state + " " + kGuid + " >/dev/null");
    }
    stdfs::create_directories(root);
    stdfs::copy(it->second.path / "root", root, stdfs::copy_options::recursive);
}

const InventoryItem* find(const std::vector<InventoryItem>& items, std::string_view ecosystem,
                          std::string_view name) {
    for (const auto& i : items)
        if (i.ecosystem == ecosystem && i.name == name) return &i;
    return nullptr;
}

struct Collected {
    std::vector<InventoryItem> items;
    std::vector<audit::sources::SourceReport> reports;
};

Collected collect_all(const stdfs::path& root) {
    Collected c;
    audit::fs::Root r(root.string());
    c.reports.push_back(audit::sources::WindowsSoftwareSource().collect(r, c.items));
    c.reports.push_back(audit::sources::WindowsSystemSource().collect(r, c.items));
    c.reports.push_back(audit::sources::WindowsUserSource().collect(r, c.items));
    return c;
}

}  // namespace

TEST_CASE("packed MSI product codes and Windows paths", "[windows]") {
    using audit::sources::unpack_msi_guid;
    using audit::sources::windows_path_to_root;
    CHECK(unpack_msi_guid("872710A94F7F9FD44A28B0797BD07DDE") ==
          "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}");
    CHECK(unpack_msi_guid("00002109610090400000000000f01fec") ==
          "{90120000-0016-0409-0000-0000000FF1CE}");
    CHECK(unpack_msi_guid("872710A94F7F9FD44A28B0797BD07DD") == "");
    CHECK(unpack_msi_guid("872710A94F7F9FD44A28B0797BD07DDG") == "");

    CHECK(windows_path_to_root("system32\\DRIVERS\\klif.sys") ==
          "/Windows/System32/DRIVERS/klif.sys");
    CHECK(windows_path_to_root("\\SystemRoot\\System32\\drivers\\kneps.sys") ==
          "/Windows/System32/drivers/kneps.sys");
    CHECK(windows_path_to_root("\"C:\\Program Files (x86)\\Kaspersky Lab\\KES\\avp.exe\" -r") ==
          "/Program Files (x86)/Kaspersky Lab/KES/avp.exe");
    CHECK(windows_path_to_root("C:\\Program Files\\Kaspersky Lab\\avp.exe -r -x") ==
          "/Program Files/Kaspersky Lab/avp.exe");
    CHECK(windows_path_to_root("%SystemRoot%\\system32\\svchost.exe -k netsvcs") ==
          "/Windows/system32/svchost.exe");
    CHECK(windows_path_to_root("\\??\\C:\\Windows\\system32\\drivers\\klim6.sys") ==
          "/Windows/system32/drivers/klim6.sys");
    CHECK(windows_path_to_root("C:\\Program Files\\7-Zip\\") == "/Program Files/7-Zip");
    CHECK(windows_path_to_root("D:\\Apps\\x.exe") == "");
    CHECK(windows_path_to_root("%UnknownVar%\\x.exe") == "");
    CHECK(windows_path_to_root("C:\\..\\..\\etc\\passwd") == "/etc/passwd");  // stays in the root
    CHECK(windows_path_to_root("") == "");
}

TEST_CASE("case-insensitive paths on a mounted NTFS root", "[windows]") {
    TempDir tmp;
    stdfs::create_directories(tmp.path / "WINDOWS/system32/CONFIG");
    std::ofstream(tmp.path / "WINDOWS/system32/CONFIG/software") << "x";
    audit::fs::Root root(tmp.path.string());
    audit::host::CaseInsensitivePaths paths(root);
    CHECK(paths.find("Windows/System32/config/SOFTWARE") == "/WINDOWS/system32/CONFIG/software");
    CHECK(paths.find("/windows/SYSTEM32") == "/WINDOWS/system32");
    CHECK_FALSE(paths.find("Windows/System32/config/SYSTEM"));
    CHECK_FALSE(paths.find("Windows/../WINDOWS"));
}

TEST_CASE("Windows sources on a root with hives hivex wrote", "[windows][hivex]") {
    if (!have_hivex()) SKIP("hivex (libwin-hivex-perl) is not installed");
    TempDir tmp;
    layout(tmp.path, "kaspersky");
    auto c = collect_all(tmp.path);
    for (const auto& r : c.reports) {
        INFO(r.to_json().dump());
        CHECK(r.status == SourceStatus::ran);
    }

    const auto* kes = find(c.items, "windows-uninstall", "Kaspersky Endpoint Security for Windows");
    REQUIRE(kes);
    CHECK(kes->version == "12.3.0.493");
    CHECK(kes->publisher == "AO Kaspersky Lab");
    CHECK(kes->extra["view"] == "native");
    CHECK(kes->extra["registry_key"] ==
          "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\"
          "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}");
    CHECK(kes->source ==
          "/Windows/System32/config/SOFTWARE:" + kes->extra["registry_key"].get<std::string>());
    CHECK(kes->paths == std::vector<std::string>{"/Program Files (x86)/Kaspersky Lab/KES.12.3.0"});
    const auto* agent =
        find(c.items, "windows-uninstall", "Kaspersky Security Center Network Agent");
    REQUIRE(agent);
    CHECK(agent->extra["view"] == "wow64");
    const auto* zip = find(c.items, "windows-uninstall", "7-Zip 23.01 (x64)");
    REQUIRE(zip);
    CHECK(zip->publisher == "Igor Pavlov");
    CHECK(zip->extra["uninstall_string"] == "\"C:\\Program Files\\7-Zip\\Uninstall.exe\"");

    const auto* msi = find(c.items, "msi", "Kaspersky Endpoint Security for Windows");
    REQUIRE(msi);
    CHECK(msi->extra["product_code"] == "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}");
    CHECK(msi->version == "12.3.493");
    REQUIRE(find(c.items, "msi", "Microsoft Office Professional Plus 2019"));

    CHECK(find(c.items, "windows-registry", "HKLM\\SOFTWARE\\KasperskyLab"));
    CHECK(find(c.items, "windows-registry", "HKLM\\SOFTWARE\\KasperskyLab\\protected"));
    CHECK(find(c.items, "windows-registry", "HKLM\\SOFTWARE\\WOW6432Node\\KasperskyLab"));
    CHECK_FALSE(find(c.items, "windows-registry", "HKLM\\SOFTWARE\\Microsoft"));
    CHECK_FALSE(find(c.items, "windows-registry", "HKLM\\SOFTWARE\\KasperskyLab\\protected\\KES"));

    // SYSTEM: ControlSet001 is current; ControlSet002's klif must not count twice.
    const auto* klif = find(c.items, "windows-service", "klif");
    REQUIRE(klif);
    CHECK(klif->extra["control_set"] == "ControlSet001");
    CHECK(klif->extra["type_name"] == "file-system-driver");
    CHECK(klif->extra["start_name"] == "boot");
    CHECK(klif->paths == std::vector<std::string>{"/Windows/System32/drivers/klif.sys"});
    const auto* avp = find(c.items, "windows-service", "AVP.KES.12.3.0");
    REQUIRE(avp);
    CHECK(avp->extra["image_path"] ==
          "\"C:\\Program Files (x86)\\Kaspersky Lab\\KES.12.3.0\\avp.exe\" -r");
    CHECK(avp->extra["start"] == 2);
    std::size_t services = 0;
    for (const auto& i : c.items) services += i.ecosystem == "windows-service";
    CHECK(services == 4);  // Tcpip, klif, AVP.KES.12.3.0, klnagent

    const auto* kpm = find(c.items, "windows-uninstall", "Kaspersky Password Manager");
    REQUIRE(kpm);
    CHECK(kpm->extra["view"] == "user");
    CHECK(kpm->extra["registry_key"].get<std::string>().rfind("HKU\\alice\\Software\\", 0) == 0);
    CHECK(find(c.items, "windows-registry", "HKU\\alice\\Software\\KasperskyLab\\KPM"));
    CHECK(find(c.items, "windows-uninstall", "Notepad++ (64-bit x64)"));

    SECTION("host identity from the hives") {
        auto id = audit::host::identify(audit::fs::Root(tmp.path.string()));
        CHECK(id.hostname == "WS-ALICE");
        CHECK(id.windows_computer_name == "WS-ALICE");
        CHECK(id.to_json()["windows_computer_name"] == "WS-ALICE");
        CHECK(id.windows_machine_guid == kGuid);
        CHECK(id.os_id == "windows");
        CHECK(id.os_pretty_name == "Windows 10 Pro (22H2, build 19045)");
        CHECK(id.stable_ids()["windows_machine_guid"] == kGuid);
        CHECK(id.label() == "WS-ALICE");
    }
    SECTION("the kaspersky manifest finds it; a clean layout has nothing") {
        auto manifests = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) +
                                                         "/manifests/kaspersky.toml");
        auto findings = audit::match::match(manifests, c.items, {});
        std::set<std::string> rules, residue;
        for (const auto& f : findings) (f.proves_presence() ? rules : residue).insert(f.rule);
        // The DisplayName alone is a lead; with the vendor as Publisher it is the product.
        CHECK(rules.count("windows-uninstall-corroborated"));
        CHECK(rules.count("windows-uninstall-publisher"));
        CHECK(rules.count("msi-products"));
        CHECK(rules.count("windows-services"));
        CHECK(residue.count("registry-keys"));  // settings can outlive the product

        TempDir clean;
        layout(clean.path, "clean");
        auto cc = collect_all(clean.path);
        for (const auto& r : cc.reports) CHECK(r.status == SourceStatus::ran);
        CHECK(audit::match::match(manifests, cc.items, {}).empty());
    }
}

TEST_CASE("Windows sources report absent, failed and incomplete, never 'nothing found'",
          "[windows][hivex]") {
    SECTION("not a Windows root") {
        TempDir tmp;
        stdfs::create_directories(tmp.path / "etc");
        auto c = collect_all(tmp.path);
        for (const auto& r : c.reports) CHECK(r.status == SourceStatus::absent);
        CHECK(c.items.empty());
    }
    if (!have_hivex()) SKIP("hivex (libwin-hivex-perl) is not installed");
    TempDir tmp;
    layout(tmp.path, "kaspersky");
    const stdfs::path cfg = tmp.path / "Windows/System32/config";
    SECTION("SYSTEM missing") {
        stdfs::remove(cfg / "SYSTEM");
        auto c = collect_all(tmp.path);
        CHECK(c.reports[0].status == SourceStatus::ran);
        CHECK(c.reports[1].status == SourceStatus::failed);
        CHECK(c.reports[1].error.find("SYSTEM") != std::string::npos);
    }
    SECTION("a corrupt SOFTWARE hive") {
        std::fstream f(cfg / "SOFTWARE", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(0);
        f.write("XXXX", 4);
        f.close();
        auto c = collect_all(tmp.path);
        CHECK(c.reports[0].status == SourceStatus::failed);
        CHECK(c.reports[0].error.find("regf") != std::string::npos);
        CHECK_FALSE(find(c.items, "windows-uninstall", "Kaspersky Endpoint Security for Windows"));
    }
    SECTION("a truncated user hive fails the user source, the others still run") {
        stdfs::resize_file(tmp.path / "Users/alice/NTUSER.DAT", 5000);
        auto c = collect_all(tmp.path);
        CHECK(c.reports[2].status == SourceStatus::failed);
        CHECK(c.reports[2].error.find("alice") != std::string::npos);
        CHECK(find(c.items, "windows-uninstall", "Notepad++ (64-bit x64)"));  // Default's
    }
    SECTION("a dirty SOFTWARE hive without logs: items kept, source failed (incomplete)") {
        std::string bytes;
        {
            std::ifstream in(cfg / "SOFTWARE", std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        regf_test::put32(bytes, 4, regf_test::get32(bytes, 8) + 1);
        regf_test::HiveBuilder::checksum(bytes);
        std::ofstream(cfg / "SOFTWARE", std::ios::binary | std::ios::trunc) << bytes;
        auto c = collect_all(tmp.path);
        CHECK(c.reports[0].status == SourceStatus::failed);
        CHECK(c.reports[0].error.find("incomplete") != std::string::npos);
        CHECK(find(c.items, "windows-uninstall", "Kaspersky Endpoint Security for Windows"));

        SECTION("with a SOFTWARE.LOG1 that completes it: ran, with a warning") {
            std::string primary = bytes;
            std::uint32_t seq = regf_test::get32(primary, 8);
            std::uint32_t bins = regf_test::get32(primary, 40);
            std::string page = primary.substr(4096, 4096);
            primary.replace(4096 + 64, 64, std::string(64, '\0'));  // damage the written page
            std::ofstream(cfg / "SOFTWARE", std::ios::binary | std::ios::trunc) << primary;
            std::ofstream(cfg / "software.log1", std::ios::binary)
                << regf_test::make_log(primary, {{seq, bins, {{0, page}}}});
            auto r = collect_all(tmp.path);
            INFO(r.reports[0].to_json().dump());
            CHECK(r.reports[0].status == SourceStatus::ran);
            bool warned = false;
            for (const auto& w : r.reports[0].warnings)
                warned = warned || w.find("recovered from 1 transaction log") != std::string::npos;
            CHECK(warned);
            CHECK(find(r.items, "windows-uninstall", "Kaspersky Endpoint Security for Windows"));
        }
    }
}

TEST_CASE("registry rules and Windows services in manifests", "[windows][manifest]") {
    const std::string head =
        "schema = 1\nid = \"p\"\nname = \"P\"\nvendor = \"V\"\nversion = \"1\"\n";
    auto m = audit::manifest::parse_manifest(
        head +
            "[[rule]]\nid = \"reg\"\nkind = \"registry\"\nconfidence = \"strong\"\n"
            "keys = ['HKLM\\SOFTWARE\\KasperskyLab\\**', 'hku\\*\\Software\\KasperskyLab\\**']\n"
            "[[rule]]\nid = \"svc\"\nkind = \"service\"\nconfidence = \"strong\"\n"
            "units = [\"klif\", \"AVP*\"]\n",
        "t.toml");
    REQUIRE(m.rules.size() == 2);
    CHECK(m.rules[0].kind == audit::manifest::RuleKind::registry);

    auto item = [](std::string eco, std::string name, std::string key) {
        InventoryItem i;
        i.ecosystem = std::move(eco);
        i.name = std::move(name);
        if (!key.empty()) i.extra["registry_key"] = key;
        return i;
    };
    std::vector<InventoryItem> inv = {
        item("windows-registry", "HKLM\\SOFTWARE\\KasperskyLab", "HKLM\\SOFTWARE\\KasperskyLab"),
        item("windows-registry", "x", "HKU\\bob\\Software\\kasperskylab\\KPM"),
        item("windows-registry", "y", "HKLM\\SOFTWARE\\KasperskyLabs"),
        item("windows-registry", "z", "HKLM\\SOFTWARE\\Kaspersky/Lab"),
        item("windows-service", "KLIF", "HKLM\\SYSTEM\\ControlSet001\\Services\\KLIF"),
        item("windows-service", "avp.kes.12", ""),
        item("windows-service", "klif2", ""),
        item("deb", "klif", ""),
    };
    auto findings = audit::match::match({m}, inv, {});
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].rule == "reg");
    CHECK(findings[0].records.size() == 2);
    CHECK(findings[1].rule == "svc");
    CHECK(findings[1].records.size() == 2);

    auto refused = [&](const std::string& keys) {
        CHECK_THROWS_AS(audit::manifest::parse_manifest(
                            head +
                                "[[rule]]\nid = \"r\"\nkind = \"registry\"\nconfidence = "
                                "\"weak\"\nkeys = [" +
                                keys + "]\n",
                            "t.toml"),
                        audit::UsageError);
    };
    refused("'SOFTWARE\\KasperskyLab'");      // no hive
    refused("'HKLM/SOFTWARE/KasperskyLab'");  // '/' separators
    refused("'HKLM\\SOFTWARE\\Kasp[ersky'");  // bad glob
    refused("'HKLM'");
}

}  // namespace windows_test_cases
