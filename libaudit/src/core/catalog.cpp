#include "audit/catalog.h"

#include <algorithm>
#include <set>

namespace audit::catalog {

namespace {

// --- ecosystems: name, purl type, purl namespace when the item names no distro, SBOM type,
// whether its items' paths are a package's file list ----------------------------------------
constexpr Ecosystem kDeb{"deb", "deb", "debian", "application", true};
constexpr Ecosystem kRpm{"rpm", "rpm", "", "application", true};
constexpr Ecosystem kApk{"apk", "apk", "alpine", "application", true};
constexpr Ecosystem kPacman{"pacman", "alpm", "arch", "application", true};
constexpr Ecosystem kSnap{"snap", "generic", "", "application"};
constexpr Ecosystem kFlatpak{"flatpak", "generic", "", "application"};
constexpr Ecosystem kSystemd{"systemd", "generic", "", "application"};
constexpr Ecosystem kSysv{"sysv", "generic", "", "application"};
constexpr Ecosystem kKmod{"kmod", "generic", "", "device-driver"};
constexpr Ecosystem kProcess{"process", "generic", "", "application"};
constexpr Ecosystem kPypi{"pypi", "pypi", "", "library", true};
constexpr Ecosystem kNpm{"npm", "npm", "", "library"};
constexpr Ecosystem kWindowsUninstall{"windows-uninstall", "generic", "", "application"};
constexpr Ecosystem kMsi{"msi", "generic", "", "application"};
// Registry keys are evidence for matching, not software components.
constexpr Ecosystem kWindowsRegistry{"windows-registry", "generic", "", ""};
constexpr Ecosystem kWindowsService{"windows-service", "generic", "", "application"};
constexpr Ecosystem kPe{"pe", "generic", "", "application"};
constexpr Ecosystem kMacosApp{"macos-app", "generic", "", "application"};
constexpr Ecosystem kMacosExt{"macos-ext", "generic", "", "application"};
constexpr Ecosystem kMacosPkg{"macos-pkg", "generic", "", "application"};
constexpr Ecosystem kLaunchd{"launchd", "generic", "", "application"};
constexpr Ecosystem kMacho{"macho", "generic", "", "application"};
// Trust-store certificates are evidence (a CA a product installed), not software components.
constexpr Ecosystem kCertificate{"certificate", "generic", "", ""};

constexpr unsigned kLinux = kOfflineRoot | kLiveLinux;

// The system's unit directories in systemd's order of precedence (systemd.unit(5)); /lib is the
// same directory as /usr/lib on a merged-/usr system and a directory of its own elsewhere.
constexpr Names kUnitDirs{"/etc/systemd/system", "/run/systemd/system",
                          "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
                          "/lib/systemd/system"};
// /etc/rc.d/init.d is the real directory on Red Hat systems, where /etc/init.d is a symlink.
constexpr Names kInitDirs{"/etc/init.d", "/etc/rc.d/init.d"};
constexpr Names kModuleDirs{"/lib/modules", "/usr/lib/modules"};
constexpr Names kText{"text_sources"};
constexpr Names kInlineSeeds{"tests/fuzz/run.sh"};
constexpr Names kHiveFuzz{"regf"};
constexpr Names kHiveSeeds{"windows-root.sh"};
constexpr Names kMacFuzz{"plist"};
constexpr Names kMacSeeds{"macos-root.sh"};

// --- the sources, in the order the scan runs them ------------------------------------------------
constexpr Source kSources[] = {
    {.name = "dpkg",
     .ecosystems = {&kDeb},
     .reads = {"/var/lib/dpkg/status", "/var/lib/dpkg/info"},
     .platforms = kLinux,
     .system_database_of = "linux",
     .fuzz_targets = {"dpkg_status"},
     .seed_generators = {"dpkg-root.sh"}},
    {.name = "rpm",
     .ecosystems = {&kRpm},
     .reads = {"/var/lib/rpm", "/usr/lib/sysimage/rpm"},
     .platforms = kLinux,
     .system_database_of = "linux",
     .fuzz_targets = {"rpm_header", "rpm_sqlite", "rpm_bdb", "rpm_ndb"},
     .seed_generators = {"rpm-root.sh"}},
    {.name = "apk",
     .ecosystems = {&kApk},
     .reads = {"/lib/apk/db/installed"},
     .platforms = kLinux,
     .system_database_of = "linux",
     .fuzz_targets = {"apk"},
     .seed_generators = kInlineSeeds},
    {.name = "pacman",
     .ecosystems = {&kPacman},
     .reads = {"/var/lib/pacman/local"},
     .platforms = kLinux,
     .system_database_of = "linux",
     .fuzz_targets = {"pacman"},
     .seed_generators = {"pacman-root.sh"}},
    {.name = "snap",
     .ecosystems = {&kSnap},
     .reads = {"/var/lib/snapd/state.json", "/snap"},
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = kInlineSeeds},
    {.name = "flatpak",
     .ecosystems = {&kFlatpak},
     .reads = {"/var/lib/flatpak"},
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = kInlineSeeds},
    {.name = "systemd",
     .ecosystems = {&kSystemd},
     .answers = {"service"},
     .reads = kUnitDirs,
     .walk_dirs = kUnitDirs,
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = kInlineSeeds},
    {.name = "sysv",
     .ecosystems = {&kSysv},
     .answers = {"service"},
     .reads = {"/etc/init.d", "/etc/rc.d/init.d", "/etc/rc?.d", "/etc/rc.d/rc?.d"},
     .walk_dirs = kInitDirs,
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = kInlineSeeds},
    {.name = "kmod",
     .ecosystems = {&kKmod},
     .answers = {"module"},
     .reads = kModuleDirs,
     .walk_dirs = kModuleDirs,
     .platforms = kLinux,
     .fuzz_targets = {"kmod"},
     .seed_generators = {"kmod-module.sh"}},
    {.name = "live",
     .ecosystems = {&kProcess},
     .also_emits = {&kKmod},
     .reads = {"/proc/*/exe", "/proc/*/cmdline", "/proc/modules"},
     .platforms = kLiveLinux},
    {.name = "python",
     .ecosystems = {&kPypi},
     .reads = {"/usr/lib/python*", "/usr/lib64/python*", "/usr/local/lib/python*"},
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = {"python-site.sh"}},
    {.name = "npm",
     .ecosystems = {&kNpm},
     .reads = {"/usr/lib/node_modules", "/usr/local/lib/node_modules"},
     .platforms = kLinux,
     .fuzz_targets = kText,
     .seed_generators = kInlineSeeds},
    {.name = "windows-software",
     .ecosystems = {&kWindowsUninstall, &kMsi, &kWindowsRegistry},
     .answers = {"registry"},
     .reads = {"/Windows/System32/config/SOFTWARE"},
     .platforms = kOfflineRoot | kLiveWindows,
     .system_database_of = "windows",
     .fuzz_targets = kHiveFuzz,
     .seed_generators = kHiveSeeds,
     .report_covers = true},
    {.name = "windows-system",
     .ecosystems = {&kWindowsService},
     .answers = {"registry", "service"},
     .reads = {"/Windows/System32/config/SYSTEM"},
     .platforms = kOfflineRoot | kLiveWindows,
     .fuzz_targets = kHiveFuzz,
     .seed_generators = kHiveSeeds,
     .report_covers = true},
    {.name = "windows-users",
     .ecosystems = {&kWindowsUninstall, &kMsi, &kWindowsRegistry},
     .answers = {"registry"},
     .reads = {"/Users/*/NTUSER.DAT"},
     .platforms = kOfflineRoot | kLiveWindows,
     .fuzz_targets = kHiveFuzz,
     .seed_generators = kHiveSeeds,
     .report_covers = true},
    {.name = "pe-files",
     .ecosystems = {&kPe},
     .answers = {"pe_signer", "pe_version"},
     .reads = {"/Program Files", "/Program Files (x86)", "/ProgramData",
               "/Windows/System32/drivers"},
     .platforms = kOfflineRoot | kLiveWindows,
     .fuzz_targets = {"pe"},
     .seed_generators = {"pe-file.sh"}},
    {.name = "macos-apps",
     .ecosystems = {&kMacosApp},
     .reads = {"/Applications", "/Library"},
     .platforms = kOfflineRoot,
     .system_database_of = "macos",
     .fuzz_targets = kMacFuzz,
     .seed_generators = kMacSeeds},
    {.name = "macos-extensions",
     .ecosystems = {&kMacosExt},
     .reads = {"/Library/Extensions", "/System/Library/Extensions", "/Library/SystemExtensions"},
     .platforms = kOfflineRoot,
     .fuzz_targets = kMacFuzz,
     .seed_generators = kMacSeeds},
    {.name = "macos-receipts",
     .ecosystems = {&kMacosPkg},
     .reads = {"/private/var/db/receipts", "/var/db/receipts"},
     .platforms = kOfflineRoot,
     .system_database_of = "macos",
     .fuzz_targets = kMacFuzz,
     .seed_generators = kMacSeeds},
    {.name = "launchd",
     .ecosystems = {&kLaunchd},
     .answers = {"service"},
     .reads = {"/Library/LaunchDaemons", "/Library/LaunchAgents", "/System/Library/LaunchDaemons",
               "/System/Library/LaunchAgents", "/Users/*/Library/LaunchAgents"},
     .platforms = kOfflineRoot,
     .fuzz_targets = kMacFuzz,
     .seed_generators = kMacSeeds},
    {.name = "macho-files",
     .ecosystems = {&kMacho},
     .answers = {"macho_team"},
     .reads = {"/Applications", "/Library/Application Support", "/Library/Extensions",
               "/Library/SystemExtensions", "/Library/PrivilegedHelperTools", "/usr/local"},
     .platforms = kOfflineRoot,
     .fuzz_targets = {"macho"},
     .seed_generators = {"macho-file.py"}},
    {.name = "trust-store",
     .ecosystems = {&kCertificate},
     .answers = {"certificate"},
     .reads = {"/usr/local/share/ca-certificates", "/etc/ssl/certs",
               "/etc/pki/ca-trust/source/anchors", "/etc/ca-certificates/trust-source/anchors",
               "/Windows/System32/config/SOFTWARE", "/Users/*/NTUSER.DAT"},
     .platforms = kOfflineRoot | kLiveLinux,
     .fuzz_targets = {"certstore"},
     .seed_generators = {"trust-store.sh"}},
};

}  // namespace

std::span<const Source> sources() {
    return kSources;
}

const Source* find_source(std::string_view name) {
    for (const auto& s : kSources)
        if (s.name == name) return &s;
    return nullptr;
}

const Ecosystem* find_ecosystem(std::string_view name) {
    for (const auto& s : kSources)
        for (const auto& list : {s.ecosystems, s.also_emits})
            for (const Ecosystem* e : list)
                if (e->name == name) return e;
    return nullptr;
}

std::vector<std::string> ecosystem_names() {
    std::vector<std::string> out;
    for (const auto& s : kSources)
        for (const auto& list : {s.ecosystems, s.also_emits})
            for (const Ecosystem* e : list)
                if (std::find(out.begin(), out.end(), e->name) == out.end())
                    out.emplace_back(e->name);
    return out;
}

bool covers(const Source& source, std::string_view ecosystem) {
    return std::any_of(source.ecosystems.begin(), source.ecosystems.end(),
                       [&](const Ecosystem* e) { return e->name == ecosystem; });
}

bool answers(const Source& source, std::string_view kind) {
    return std::find(source.answers.begin(), source.answers.end(), kind) != source.answers.end();
}

std::vector<std::string> walk_dirs(std::string_view kind) {
    std::set<std::string> out;
    for (const auto& s : kSources)
        if (answers(s, kind)) out.insert(s.walk_dirs.begin(), s.walk_dirs.end());
    return {out.begin(), out.end()};
}

std::vector<std::string> system_databases(std::string_view os) {
    std::vector<std::string> out;
    for (const auto& s : sources())
        if (!s.system_database_of.empty() && (os.empty() || s.system_database_of == os))
            out.emplace_back(s.name);
    return out;
}

}  // namespace audit::catalog
