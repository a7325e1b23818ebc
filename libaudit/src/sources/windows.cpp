#include "audit/sources/windows.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "audit/core/ascii.h"
#include "audit/error.h"
#include "audit/host/windows_registry.h"
#include "formats/text.h"
#include "sources/base.h"
#ifdef _WIN32
#include "sources/windows_live.h"
#endif

namespace audit::sources {

namespace {

using host::CaseInsensitivePaths;
using host::current_control_set;
using host::load_hive;
using host::LoadedHive;
using host::number_value;
using host::registry_text;
using host::string_value;
using text::warn;
constexpr std::string_view kConfigDir = host::kWindowsConfigDir;
constexpr std::size_t kMaxVendorKeys = 100000;  // per hive
constexpr std::string_view kUninstall = "Microsoft\\Windows\\CurrentVersion\\Uninstall";

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && regf::names_equal(s.substr(0, prefix.size()), prefix);
}

std::string join_key(const std::string& prefix, std::string_view sub) {
    std::string out = prefix;
    if (!sub.empty()) out += "\\" + std::string(sub);
    return out;
}

// Dirty hive: recovered is a warning, unrecoverable makes the inventory incomplete.
void note_hive_state(Collection& c, const LoadedHive& h) {
    hive_state(h, c.warnings(), c.failures);
}

// A machine hive (config/SOFTWARE, config/SYSTEM) the source needs: its state noted when it
// loaded; a failure recorded (the source cannot read what it covers) when it did not.
bool machine_hive_usable(Collection& c, const LoadedHive& h, std::string_view name) {
    if (!h.hive) {
        c.failures.push_back(h.error.empty() ? "Windows root without a " + std::string(name) +
                                                   " hive in " + std::string(kConfigDir)
                                             : h.origin + ": " + h.error);
        return false;
    }
    note_hive_state(c, h);
    return true;
}

// Resolved against the root's real case later, by resolve_paths.
void add_path(InventoryItem& item, std::string_view windows_path) {
    std::string p = windows_path_to_root(windows_path);
    if (!p.empty() && std::find(item.paths.begin(), item.paths.end(), p) == item.paths.end())
        item.paths.push_back(p);
}

// Turns the relative paths the readers produced into the resolved case of this root.
void resolve_paths(std::vector<InventoryItem>& items, std::size_t from, CaseInsensitivePaths& p) {
    for (std::size_t i = from; i < items.size(); ++i) {
        std::vector<std::string> raw;
        raw.swap(items[i].paths);
        for (const auto& r : raw) {
            std::string resolved = r;
            try {
                if (auto found = p.find(r)) resolved = *found;
            } catch (const Error&) {
            }
            items[i].paths.push_back(resolved);
        }
    }
}

const char* service_type_name(std::uint64_t t) {
    if (t & 0x1) return "kernel-driver";
    if (t & 0x2) return "file-system-driver";
    if (t & 0x4) return "adapter";
    if (t & 0x8) return "recognizer-driver";
    if (t & 0x10) return "own-process";
    if (t & 0x20) return "share-process";
    return "other";
}

const char* start_name(std::uint64_t s) {
    switch (s) {
        case 0:
            return "boot";
        case 1:
            return "system";
        case 2:
            return "automatic";
        case 3:
            return "manual";
        case 4:
            return "disabled";
    }
    return "unknown";
}

std::string msi_version(std::uint64_t v) {
    return std::to_string(v >> 24 & 0xff) + "." + std::to_string(v >> 16 & 0xff) + "." +
           std::to_string(v & 0xffff);
}

// Publisher, version and location of an MSI product from Installer\UserData (any SID).
void add_msi_install_properties(const regf::Hive& hive, InventoryItem& item,
                                const std::string& packed) {
    auto user_data = hive.find("Microsoft\\Windows\\CurrentVersion\\Installer\\UserData");
    if (!user_data) return;
    for (const auto& sid : hive.subkeys(*user_data)) {
        auto props = hive.find(sid, "Products\\" + packed + "\\InstallProperties");
        if (!props) continue;
        if (item.publisher.empty()) item.publisher = string_value(hive, *props, "Publisher");
        if (auto v = string_value(hive, *props, "DisplayVersion"); !v.empty()) item.version = v;
        if (auto loc = string_value(hive, *props, "InstallLocation"); !loc.empty()) {
            item.extra["install_location"] = loc;
            add_path(item, loc);
        }
        return;
    }
}

}  // namespace

std::string unpack_msi_guid(std::string_view p) {
    if (p.size() != 32 || !std::all_of(p.begin(), p.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        }))
        return {};
    auto rev = [&](std::size_t from, std::size_t n) {
        std::string s(p.substr(from, n));
        std::reverse(s.begin(), s.end());
        return s;
    };
    // The last 8 bytes keep their order; each byte's two hex digits are swapped.
    auto swapped = [&](std::size_t from, std::size_t bytes) {
        std::string s;
        for (std::size_t i = 0; i < bytes; ++i) {
            s.push_back(p[from + 2 * i + 1]);
            s.push_back(p[from + 2 * i]);
        }
        return s;
    };
    std::string g = "{" + rev(0, 8) + "-" + rev(8, 4) + "-" + rev(12, 4) + "-" + swapped(16, 2) +
                    "-" + swapped(20, 6) + "}";
    for (auto& c : g) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return g;
}

std::string windows_path_to_root(std::string_view in) {
    return windows_path_to_root(in, "C", false);
}

std::string windows_path_to_root(std::string_view in, std::string_view system_drive,
                                 bool other_drives) {
    std::string s(in);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    if (!s.empty() && s.front() == '"') {
        auto end = s.find('"', 1);
        s = s.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    } else {
        // Unquoted, with arguments: cut after the first executable-looking name.
        std::string low = core::ascii_lower(s);
        std::size_t cut = std::string::npos;
        for (const char* ext : {".exe", ".sys", ".dll"}) {
            auto at = low.find(ext);
            if (at != std::string::npos) cut = std::min(cut, at + 4);
        }
        if (cut != std::string::npos) s = s.substr(0, cut);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\\')) s.pop_back();
    if (s.empty()) return {};
    struct Prefix {
        std::string_view from, to;
    };
    // \??\X:\ and \\?\X:\ are X:\; a drive path on the system drive is a root path, on
    // another drive one below "/X:" (other_drives) or none.
    if (starts_with_ci(s, "\\??\\") || starts_with_ci(s, "\\\\?\\")) s.erase(0, 4);
    if (s.size() >= 3 && std::isalpha(static_cast<unsigned char>(s[0])) && s[1] == ':' &&
        s[2] == '\\') {
        const char drive = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
        const char system =
            system_drive.empty()
                ? 'C'
                : static_cast<char>(std::toupper(static_cast<unsigned char>(system_drive[0])));
        if (drive != system && !other_drives) return {};
        std::string out =
            (drive == system ? std::string("/") : "/" + std::string(1, drive) + ":/") + s.substr(3);
        std::replace(out.begin(), out.end(), '\\', '/');
        if (out.find('%') != std::string::npos) return {};
        return fs::normalize(out);
    }
    static constexpr std::array<Prefix, 9> kPrefixes = {{
        {"\\SystemRoot\\", "/Windows/"},
        {"%SystemRoot%\\", "/Windows/"},
        {"%windir%\\", "/Windows/"},
        {"%ProgramFiles(x86)%\\", "/Program Files (x86)/"},
        {"%ProgramFiles%\\", "/Program Files/"},
        {"%CommonProgramFiles%\\", "/Program Files/Common Files/"},
        {"%ProgramData%\\", "/ProgramData/"},
        {"%SystemDrive%\\", "/"},
        {"System32\\", "/Windows/System32/"},
    }};
    std::string out;
    for (const auto& p : kPrefixes)
        if (starts_with_ci(s, p.from)) {
            out = std::string(p.to) + s.substr(p.from.size());
            break;
        }
    if (out.empty()) return {};
    std::replace(out.begin(), out.end(), '\\', '/');
    if (out.find('%') != std::string::npos) return {};  // an unexpanded variable
    return fs::normalize(out);
}

void read_uninstall(const regf::Hive& hive, std::string_view subpath, const std::string& key_prefix,
                    const std::string& origin, const std::string& view,
                    std::vector<InventoryItem>& out, std::vector<std::string>& warnings) {
    auto base = hive.find(subpath);
    if (!base) return;
    for (const auto& key : hive.subkeys(*base)) {
        const std::string reg = join_key(key_prefix, std::string(subpath) + "\\" + key.name);
        InventoryItem item;
        item.ecosystem = "windows-uninstall";
        std::string display = string_value(hive, key, "DisplayName");
        item.name = display.empty() ? registry_text(key.name) : display;
        item.version = string_value(hive, key, "DisplayVersion");
        item.publisher = string_value(hive, key, "Publisher");
        item.source = origin + ":" + reg;
        item.extra["registry_key"] = reg;
        item.extra["key_name"] = registry_text(key.name);
        item.extra["view"] = view;
        if (display.empty()) item.extra["no_display_name"] = true;
        for (const char* f :
             {"InstallLocation", "UninstallString", "DisplayIcon", "InstallSource"}) {
            std::string v = string_value(hive, key, f);
            if (v.empty()) continue;
            std::string field = f == std::string_view("InstallLocation")   ? "install_location"
                                : f == std::string_view("UninstallString") ? "uninstall_string"
                                : f == std::string_view("DisplayIcon")     ? "display_icon"
                                                                           : "install_source";
            item.extra[field] = v;
        }
        if (item.extra.contains("install_location"))
            add_path(item, item.extra["install_location"].get<std::string>());
        if (auto n = number_value(hive, key, "SystemComponent"); n && *n)
            item.extra["system_component"] = true;
        if (auto n = number_value(hive, key, "WindowsInstaller"); n && *n)
            item.extra["windows_installer"] = true;
        if (item.name.empty()) {
            warn(warnings, item.source + ": entry without a name");
            item.name = "(unnamed)";
        }
        out.push_back(std::move(item));
    }
}

void read_msi_products(const regf::Hive& hive, std::string_view subpath,
                       const std::string& key_prefix, const std::string& origin,
                       std::vector<InventoryItem>& out, std::vector<std::string>& warnings) {
    auto base = hive.find(subpath);
    if (!base) return;
    for (const auto& key : hive.subkeys(*base)) {
        const std::string reg = join_key(key_prefix, std::string(subpath) + "\\" + key.name);
        InventoryItem item;
        item.ecosystem = "msi";
        item.source = origin + ":" + reg;
        item.extra["registry_key"] = reg;
        item.extra["packed_code"] = registry_text(key.name);
        std::string code = unpack_msi_guid(key.name);
        if (code.empty())
            warn(warnings, item.source + ": key name is not a packed product code");
        else
            item.extra["product_code"] = code;
        item.name = string_value(hive, key, "ProductName");
        if (item.name.empty()) item.name = code.empty() ? registry_text(key.name) : code;
        if (auto v = number_value(hive, key, "Version")) item.version = msi_version(*v);
        if (key_prefix == "HKLM\\SOFTWARE") add_msi_install_properties(hive, item, key.name);
        out.push_back(std::move(item));
    }
}

std::string read_services(const regf::Hive& system, const std::string& origin,
                          std::vector<InventoryItem>& out, std::vector<std::string>& warnings) {
    auto cs = current_control_set(system);
    if (!cs) throw regf::HiveError("SYSTEM has no Select\\Current: no current control set");
    auto services = system.find(*cs + "\\Services");
    if (!services) throw regf::HiveError("SYSTEM has no " + *cs + "\\Services key");
    for (const auto& key : system.subkeys(*services)) {
        const std::string reg = "HKLM\\SYSTEM\\" + *cs + "\\Services\\" + key.name;
        InventoryItem item;
        item.ecosystem = "windows-service";
        item.name = registry_text(key.name);
        item.source = origin + ":" + reg;
        item.extra["registry_key"] = reg;
        item.extra["control_set"] = *cs;
        std::string image = string_value(system, key, "ImagePath");
        if (!image.empty()) {
            item.extra["image_path"] = image;
            add_path(item, image);
        }
        if (auto d = string_value(system, key, "DisplayName"); !d.empty())
            item.extra["display_name"] = d;
        if (auto d = string_value(system, key, "Group"); !d.empty()) item.extra["group"] = d;
        if (auto t = number_value(system, key, "Type")) {
            item.extra["type"] = *t;
            item.extra["type_name"] = service_type_name(*t);
        }
        if (auto s = number_value(system, key, "Start")) {
            item.extra["start"] = *s;
            item.extra["start_name"] = start_name(*s);
        }
        if (item.name.empty()) {
            warn(warnings, item.source + ": service key without a printable name");
            item.name = "(unnamed)";
        }
        out.push_back(std::move(item));
    }
    return *cs;
}

void read_vendor_keys(const regf::Hive& hive, std::string_view subpath,
                      const std::string& key_prefix, const std::string& origin,
                      std::vector<InventoryItem>& out, std::vector<std::string>& warnings) {
    auto base = hive.find(subpath);
    if (!base) return;
    std::size_t count = 0;
    auto add = [&](const std::string& rel) {
        if (++count > kMaxVendorKeys)
            throw regf::HiveError("more than " + std::to_string(kMaxVendorKeys) +
                                  " vendor keys below " + std::string(subpath));
        InventoryItem item;
        item.ecosystem = "windows-registry";
        item.name = join_key(key_prefix, rel);
        item.source = origin + ":" + item.name;
        item.extra["registry_key"] = item.name;
        out.push_back(std::move(item));
    };
    for (const auto& vendor : hive.subkeys(*base)) {
        if (regf::names_equal(vendor.name, "Classes") ||
            regf::names_equal(vendor.name, "Microsoft") ||
            regf::names_equal(vendor.name, "WOW6432Node"))
            continue;
        const std::string v = subpath.empty()
                                  ? registry_text(vendor.name)
                                  : std::string(subpath) + "\\" + registry_text(vendor.name);
        add(v);
        for (const auto& product : hive.subkeys(vendor))
            add(v + "\\" + registry_text(product.name));
    }
    (void)warnings;
}

void WindowsSoftwareSource::read(const fs::Root& root, Collection& c) const {
#ifdef _WIN32
    // The running Windows: its registry and SCM through the Win32 API (sources/windows_live.h).
    if (root.is_live()) return windows_live::read_into(c, windows_live::software());
#endif
    SourceReport& rep = c.report;
    std::vector<InventoryItem>& items = c.items;
    CaseInsensitivePaths paths(root);
    if (!paths.find(kConfigDir)) return;  // absent: not a Windows root
    c.found = true;
    auto h = load_hive(root, paths, std::string(kConfigDir) + "/SOFTWARE");
    if (!machine_hive_usable(c, h, "SOFTWARE")) return;
    const auto& hive = *h.hive;
    const std::string prefix = "HKLM\\SOFTWARE";
    c.part(h.origin + " Uninstall", [&] {
        read_uninstall(hive, kUninstall, prefix, h.origin, "native", items, rep.warnings);
    });
    c.part(h.origin + " WOW6432Node Uninstall", [&] {
        read_uninstall(hive, "WOW6432Node\\" + std::string(kUninstall), prefix, h.origin, "wow64",
                       items, rep.warnings);
    });
    c.part(h.origin + " Installer Products", [&] {
        read_msi_products(hive, "Classes\\Installer\\Products", prefix, h.origin, items,
                          rep.warnings);
    });
    c.part(h.origin + " vendor keys", [&] {
        read_vendor_keys(hive, "", prefix, h.origin, items, rep.warnings);
        read_vendor_keys(hive, "WOW6432Node", prefix, h.origin, items, rep.warnings);
    });
    resolve_paths(items, 0, paths);
}

void WindowsSystemSource::read(const fs::Root& root, Collection& c) const {
#ifdef _WIN32
    // The running Windows: its registry and SCM through the Win32 API (sources/windows_live.h).
    if (root.is_live()) return windows_live::read_into(c, windows_live::services());
#endif
    SourceReport& rep = c.report;
    std::vector<InventoryItem>& items = c.items;
    CaseInsensitivePaths paths(root);
    if (!paths.find(kConfigDir)) return;  // absent: not a Windows root
    c.found = true;
    auto h = load_hive(root, paths, std::string(kConfigDir) + "/SYSTEM");
    if (!machine_hive_usable(c, h, "SYSTEM")) return;
    c.part(h.origin + " services", [&] {
        std::string cs = read_services(*h.hive, h.origin, items, rep.warnings);
        warn(rep.warnings, h.origin + ": services of the current control set " + cs);
    });
    resolve_paths(items, 0, paths);
}

void WindowsUserSource::read(const fs::Root& root, Collection& c) const {
#ifdef _WIN32
    // The running Windows: its registry and SCM through the Win32 API (sources/windows_live.h).
    if (root.is_live()) return windows_live::read_into(c, windows_live::users(root));
#endif
    SourceReport& rep = c.report;
    std::vector<InventoryItem>& items = c.items;
    CaseInsensitivePaths paths(root);
    if (!paths.find(kConfigDir)) return;  // absent: not a Windows root
    c.found = true;
    const std::size_t hives = for_each_user_hive(
        root, paths, c.failures, [&](const std::string& user, const LoadedHive& h) {
            note_hive_state(c, h);
            const std::string prefix = "HKU\\" + registry_text(user);
            c.part(h.origin + " Uninstall", [&] {
                read_uninstall(*h.hive, "Software\\" + std::string(kUninstall), prefix, h.origin,
                               "user", items, rep.warnings);
            });
            c.part(h.origin + " Installer Products", [&] {
                read_msi_products(*h.hive, "Software\\Microsoft\\Installer\\Products", prefix,
                                  h.origin, items, rep.warnings);
            });
            c.part(h.origin + " vendor keys", [&] {
                read_vendor_keys(*h.hive, "Software", prefix, h.origin, items, rep.warnings);
            });
        });
    for (auto& item : items)
        if (auto p = item.source.find(':'); p != std::string::npos)
            item.extra["user_hive"] = item.source.substr(0, p);
    if (hives == 0) warn(rep.warnings, "no Users/*/NTUSER.DAT hive on this Windows root");
    resolve_paths(items, 0, paths);
}

}  // namespace audit::sources
