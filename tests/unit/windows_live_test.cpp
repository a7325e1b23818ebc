// The portable parts of the live Windows sources (sources/windows_live_drivers.h), fed with
// injected lists: Wine 8 answers EnumDeviceDrivers with an empty list, so what a real Windows
// reports is exercised here.
#include <catch_amalgamated.hpp>

#include <string>
#include <vector>

#include "audit/core/drive_path.h"
#include "audit/match/file_filter.h"
#include "audit/match/matcher.h"
#include "audit/sources/windows.h"
#include "audit/sources/windows_live_cmdline.h"
#include "audit/sources/windows_live_drivers.h"

using audit::InventoryItem;
using audit::sources::windows_live::driver_file_path;
using audit::sources::windows_live::DriverFile;
using audit::sources::windows_live::DriverList;
using audit::sources::windows_live::loaded_driver_items;

namespace {

struct Out {
    std::vector<InventoryItem> items;
    std::vector<std::string> warnings, failures;
    std::vector<std::string> hashed;
};

Out run_drivers(const DriverList& list) {
    Out o;
    loaded_driver_items(
        list, "C:\\Windows",
        [&o](const std::string& p) {
            o.hashed.push_back(p);
            DriverFile f;
            if (p.find("missing") != std::string::npos)
                f.error = "open: The system cannot find the file specified";
            else
                f.sha256 = std::string(64, 'a'), f.size = 42;
            return f;
        },
        o.items, o.warnings, o.failures);
    return o;
}

}  // namespace

TEST_CASE("loaded drivers: the kernel's file names mapped to drive paths", "[windows-live]") {
    const std::string w = "C:\\Windows";
    CHECK(driver_file_path("\\SystemRoot\\system32\\drivers\\klif.sys", w) ==
          "C:\\Windows\\system32\\drivers\\klif.sys");
    CHECK(driver_file_path("\\systemroot\\System32\\ntoskrnl.exe", "D:\\WINNT\\") ==
          "D:\\WINNT\\System32\\ntoskrnl.exe");
    CHECK(driver_file_path("System32\\DRIVERS\\klbg.sys", w) ==
          "C:\\Windows\\System32\\DRIVERS\\klbg.sys");
    CHECK(driver_file_path("\\??\\D:\\Kaspersky\\klam.sys", w) == "D:\\Kaspersky\\klam.sys");
    CHECK(driver_file_path("\\\\?\\C:\\x\\y.sys", w) == "C:\\x\\y.sys");
    CHECK(driver_file_path("E:\\drv\\z.sys", w) == "E:\\drv\\z.sys");
    CHECK(driver_file_path("\\Windows\\System32\\drivers\\a.sys", w) ==
          "C:\\Windows\\System32\\drivers\\a.sys");
    // No drive path: named, never guessed.
    CHECK(driver_file_path("\\Device\\HarddiskVolume3\\x.sys", w).empty());
    CHECK(driver_file_path("\\??\\UNC\\server\\x.sys", w).empty());
    CHECK(driver_file_path("\\\\server\\share\\x.sys", w).empty());
    CHECK(driver_file_path("klif.sys", w).empty());
    CHECK(driver_file_path("", w).empty());
}

TEST_CASE("loaded drivers: items with resolved path, digest and root path", "[windows-live]") {
    DriverList list;
    list.listed = true;
    list.drivers = {{"\\SystemRoot\\system32\\drivers\\klif.sys", "klif.sys", ""},
                    {"\\SystemRoot\\system32\\ntoskrnl.exe", "ntoskrnl.exe", ""},
                    {"\\??\\C:\\missing\\gone.sys", "gone.sys", ""},
                    {"\\Device\\HarddiskVolume9\\odd.sys", "odd.sys", ""},
                    {"\\SystemRoot\\system32\\drivers\\klif.sys", "klif.sys", ""}};
    const Out o = run_drivers(list);
    CHECK(o.failures.empty());
    REQUIRE(o.items.size() == 5);
    const InventoryItem& klif = o.items[0];
    CHECK(klif.ecosystem == "kmod");
    CHECK(klif.name == "klif");
    CHECK(klif.state == "loaded");
    CHECK(klif.installed());
    CHECK(klif.source == "loaded-driver:klif.sys");
    CHECK(klif.extra["windows_driver"] == true);
    CHECK(klif.extra["live"] == true);
    CHECK(klif.extra["reported_path"] == "\\SystemRoot\\system32\\drivers\\klif.sys");
    CHECK(klif.extra["image_path"] == "C:\\Windows\\system32\\drivers\\klif.sys");
    CHECK(klif.extra["sha256"] == std::string(64, 'a'));
    CHECK(klif.extra["size"] == 42);
    CHECK(klif.paths == std::vector<std::string>{"/Windows/system32/drivers/klif.sys"});
    CHECK(o.items[1].name == "ntoskrnl");
    // A file that cannot be read: the error is recorded, the driver is still an item.
    CHECK(o.items[2].extra["error"] == "open: The system cannot find the file specified");
    CHECK_FALSE(o.items[2].extra.contains("sha256"));
    // A path that names no drive: the item stays, unhashed, with a warning.
    CHECK(o.items[3].extra["error"] ==
          "file path not resolved: \\Device\\HarddiskVolume9\\odd.sys");
    CHECK(o.items[3].paths.empty());
    REQUIRE(o.warnings.size() == 1);
    CHECK(o.warnings[0].find("1 loaded driver file(s) without a drive path") != std::string::npos);
    // Each file is hashed once.
    CHECK(o.hashed.size() == 3);
}

TEST_CASE("loaded drivers: a failed call is a failure, never an empty list", "[windows-live]") {
    DriverList failed;
    failed.listed = false;
    failed.error = "Access is denied. (5)";
    Out o = run_drivers(failed);
    REQUIRE(o.failures.size() == 1);
    CHECK(o.failures[0] ==
          "cannot list the loaded drivers (EnumDeviceDrivers): Access is denied. (5)");
    CHECK(o.items.empty());

    // An empty list is not believed on Windows; under Wine it is a named warning.
    DriverList empty;
    empty.listed = true;
    o = run_drivers(empty);
    REQUIRE(o.failures.size() == 1);
    CHECK(o.failures[0].find("EnumDeviceDrivers listed no loaded driver") != std::string::npos);
    empty.wine = "8.0";
    o = run_drivers(empty);
    CHECK(o.failures.empty());
    REQUIRE(o.warnings.size() == 1);
    CHECK(o.warnings[0].rfind("wine: Wine 8.0 lists no loaded driver", 0) == 0);

    // A driver whose name cannot be read: a failure of the source (it may be the product's).
    DriverList unnamed;
    unnamed.listed = true;
    unnamed.drivers = {{"", "", "GetDeviceDriverBaseNameW: Invalid parameter (87)"},
                       {"\\SystemRoot\\system32\\drivers\\ok.sys", "ok.sys", ""}};
    o = run_drivers(unnamed);
    REQUIRE(o.failures.size() == 1);
    CHECK(
        o.failures[0] ==
        "a loaded driver's name cannot be read: GetDeviceDriverBaseNameW: Invalid parameter (87)");
    CHECK(o.items.size() == 1);
}

TEST_CASE("loaded drivers: a service rule matches a loaded Windows driver", "[windows-live]") {
    using audit::manifest::Rule;
    using audit::manifest::RuleKind;
    DriverList list;
    list.listed = true;
    list.drivers = {{"\\SystemRoot\\system32\\drivers\\KLIF.SYS", "KLIF.SYS", ""}};
    const Out o = run_drivers(list);
    REQUIRE(o.items.size() == 1);
    Rule r;
    r.id = "windows-minifilters";
    r.kind = RuleKind::service;
    r.confidence = audit::manifest::Confidence::strong;
    r.patterns = {"klif"};
    audit::manifest::Manifest m;
    m.id = "acme";
    m.name = "Acme";
    m.file = "acme.toml";
    m.rules = {r};
    const auto findings =
        audit::match::match(std::vector<audit::manifest::Manifest>{m}, o.items, {});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].proves_presence());
    // A Linux module of that name is no Windows service.
    InventoryItem linux_mod = o.items[0];
    linux_mod.extra.erase("windows_driver");
    const auto none =
        audit::match::match(std::vector<audit::manifest::Manifest>{m}, {linux_mod}, {});
    CHECK((none.empty() || !none[0].proves_presence()));
}

TEST_CASE("process command lines: split as CommandLineToArgvW, bounded, redacted",
          "[windows-live]") {
    using audit::sources::windows_live::kMaxCmdline;
    using audit::sources::windows_live::windows_cmdline_args;
    using audit::sources::windows_live::windows_cmdline_record;
    using V = std::vector<std::string>;
    CHECK(windows_cmdline_args("\"C:\\Program Files\\Kaspersky Lab\\avp.exe\" -x  \"a b\"") ==
          V{"C:\\Program Files\\Kaspersky Lab\\avp.exe", "-x", "a b"});
    // Backslashes: 2n before a quote are n and the quote delimits, 2n+1 give a literal quote.
    CHECK(windows_cmdline_args("p a\\\\\"b c\" d\\\"e f\\g") == V{"p", "a\\b c", "d\"e", "f\\g"});
    CHECK(windows_cmdline_args("p \"x\"\"y\"") == V{"p", "x\"y"});
    CHECK(windows_cmdline_args("C:\\a\\b.exe") == V{"C:\\a\\b.exe"});
    CHECK(windows_cmdline_args("") == V{""});
    CHECK(windows_cmdline_record("avp.exe /password:hunter2 /S --token=abc /user:bob") ==
          "avp.exe /password: <redacted> /S --token=<redacted> /user:bob");
    CHECK(windows_cmdline_record("x.exe /Key=1 -p secret") ==
          "x.exe /Key=<redacted> -p <redacted>");
    CHECK(windows_cmdline_record("a.exe \"tab\there\"") == "a.exe tab?here");
    const std::string longer = "a.exe " + std::string(3 * kMaxCmdline, 'x');
    CHECK(windows_cmdline_record(longer).size() == kMaxCmdline);
}

TEST_CASE("every fixed drive: Windows paths on other drives as /X:/ root paths", "[windows-live]") {
    using audit::core::windows_drive_of;
    using audit::sources::windows_path_to_root;
    // Live: the system drive is "/", every other drive "/X:/".
    CHECK(windows_path_to_root("D:\\Program Files\\Kaspersky Lab\\avp.exe", "C", true) ==
          "/D:/Program Files/Kaspersky Lab/avp.exe");
    CHECK(windows_path_to_root("\"e:\\kl\\avp.exe\" -s", "C", true) == "/E:/kl/avp.exe");
    CHECK(windows_path_to_root("\\??\\D:\\drv\\klif.sys", "C", true) == "/D:/drv/klif.sys");
    CHECK(windows_path_to_root("\\\\?\\Z:\\x", "C", true) == "/Z:/x");
    CHECK(windows_path_to_root("C:\\Windows\\x.exe", "C", true) == "/Windows/x.exe");
    // A system drive other than C:.
    CHECK(windows_path_to_root("D:\\Windows\\x.exe", "D", true) == "/Windows/x.exe");
    CHECK(windows_path_to_root("C:\\Data\\x.exe", "D", true) == "/C:/Data/x.exe");
    // Offline (a disk taken as C:): other drives are not on it.
    CHECK(windows_path_to_root("D:\\x.exe").empty());
    CHECK(windows_path_to_root("\\??\\D:\\x.sys").empty());
    CHECK(windows_path_to_root("C:\\x.exe") == "/x.exe");
    CHECK(windows_path_to_root("\\??\\C:\\x.sys") == "/x.sys");
    CHECK(windows_path_to_root("D:\\%ProgramFiles%\\x", "C", true).empty());

    std::string_view rest;
    CHECK(windows_drive_of("/D:/Program Files", &rest) == 'D');
    CHECK(rest == "/Program Files");
    CHECK(windows_drive_of("/d:", &rest) == 'D');
    CHECK(rest == "/");
    CHECK(windows_drive_of("/Program Files") == '\0');
    CHECK(windows_drive_of("/DD:/x") == '\0');
    CHECK(windows_drive_of("/D:x") == '\0');
    CHECK(windows_drive_of("/1:/x") == '\0');
}

TEST_CASE("every fixed drive: path rules match a file on another drive by its path there",
          "[windows-live]") {
    using audit::manifest::Rule;
    using audit::manifest::RuleKind;
    Rule r;
    r.id = "windows-program-files";
    r.kind = RuleKind::path;
    r.confidence = audit::manifest::Confidence::strong;
    r.patterns = {"/Program Files*/Kaspersky Lab/**"};
    audit::manifest::Manifest m;
    m.id = "acme";
    m.name = "Acme";
    m.file = "acme.toml";
    m.rules = {r};
    audit::fs::FileRecord f;
    f.path = "/D:/program files/Kaspersky Lab/avp.exe";
    f.type = "file";
    const std::vector<audit::manifest::Manifest> ms{m};
    // A Windows root (case-insensitive paths): found, and kept by the walk's filter.
    const audit::match::CompiledRules windows(ms, audit::match::MatchOptions{true});
    auto found = audit::match::match(windows, {}, {f});
    REQUIRE(found.size() == 1);
    CHECK(found[0].proves_presence());
    CHECK(audit::match::FileFilter(windows).may_match(f));
    // Any other root: "/D:" is a directory name like any other.
    const audit::match::CompiledRules other(ms, audit::match::MatchOptions{false});
    CHECK(audit::match::match(other, {}, {f}).empty());
    CHECK_FALSE(audit::match::FileFilter(other).may_match(f));
}
