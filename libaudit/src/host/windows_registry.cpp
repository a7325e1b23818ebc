#include "audit/host/windows_registry.h"

#include <algorithm>
#include <cctype>

#include "audit/core/ascii.h"
#include "audit/error.h"

namespace audit::host {

namespace {

constexpr std::size_t kMaxHiveBytes = 1u << 30;
constexpr std::size_t kMaxLogBytes = 512u << 20;
constexpr std::size_t kMaxPathComponents = 64;

std::uint32_t le32(std::string_view b, std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

}  // namespace

std::string registry_text(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) out.push_back(c);
    }
    return out;
}

std::string string_value(const regf::Hive& hive, const regf::Key& key, std::string_view name) {
    auto v = hive.value(key, name);
    if (!v) return {};
    if (auto s = v->as_string()) return registry_text(*s);
    return {};
}

std::optional<std::uint64_t> number_value(const regf::Hive& hive, const regf::Key& key,
                                          std::string_view name) {
    auto v = hive.value(key, name);
    if (!v) return std::nullopt;
    return v->as_number();
}

std::optional<std::string> CaseInsensitivePaths::find(std::string_view rel) {
    std::string cur;  // resolved so far, "" = the root
    std::size_t pos = 0, components = 0;
    while (pos <= rel.size()) {
        std::size_t sep = rel.find('/', pos);
        if (sep == std::string_view::npos) sep = rel.size();
        std::string_view part = rel.substr(pos, sep - pos);
        pos = sep + 1;
        if (part.empty() || part == ".") continue;
        if (part == ".." || ++components > kMaxPathComponents) return std::nullopt;
        auto it = listings_.find(cur);
        if (it == listings_.end())
            it = listings_.emplace(cur, root_.list_dir(cur.empty() ? "/" : cur)).first;
        if (!it->second) return std::nullopt;
        const auto& names = *it->second;
        std::string match;
        if (std::binary_search(names.begin(), names.end(), std::string(part))) {
            match = part;
        } else {
            for (const auto& n : names)
                if (regf::names_equal(n, part)) {
                    match = n;
                    break;
                }
        }
        if (match.empty()) return std::nullopt;
        cur += "/" + match;
    }
    return cur.empty() ? std::string("/") : cur;
}

LoadedHive load_hive(const fs::Root& root, CaseInsensitivePaths& paths, const std::string& rel) {
    LoadedHive out;
    auto found = paths.find(rel);
    if (!found) return out;
    out.origin = *found;
    try {
        auto bytes = root.read_file(*found, kMaxHiveBytes);
        if (!bytes) return out;
        std::vector<std::string> logs;
        for (const char* ext : {".LOG1", ".LOG2"}) {
            auto log_path = paths.find(rel + ext);
            if (!log_path) continue;
            if (auto log = root.read_file(*log_path, kMaxLogBytes)) logs.push_back(std::move(*log));
        }
        out.hive.emplace(std::move(*bytes), logs);
    } catch (const Error& e) {
        out.error = e.what();
    }
    return out;
}

std::optional<std::string> current_control_set(const regf::Hive& system) {
    auto select = system.find("Select");
    if (!select) return std::nullopt;
    auto n = number_value(system, *select, "Current");
    if (!n || *n == 0 || *n > 999) return std::nullopt;
    std::string digits = std::to_string(*n);
    return "ControlSet" + std::string(3 - std::min<std::size_t>(3, digits.size()), '0') + digits;
}

std::string machine_sid_from_v(std::string_view v) {
    if (v.size() < 12) return {};
    const std::size_t at = v.size() - 12;
    std::string out = "S-1-5-21";
    for (std::size_t i = 0; i < 3; ++i) out += "-" + std::to_string(le32(v, at + 4 * i));
    return out;
}

std::string sid_to_string(std::string_view sid) {
    if (sid.size() < 8 || sid[0] != 1) return {};
    const auto count = static_cast<unsigned char>(sid[1]);
    if (count == 0 || count > 15 || sid.size() < 8 + 4 * std::size_t{count}) return {};
    std::uint64_t authority = 0;
    for (std::size_t i = 2; i < 8; ++i)
        authority = authority << 8 | static_cast<unsigned char>(sid[i]);
    std::string out = "S-1-" + std::to_string(authority);
    for (std::size_t i = 0; i < count; ++i) out += "-" + std::to_string(le32(sid, 8 + 4 * i));
    return out;
}

std::optional<WindowsIdentity> windows_identity(const fs::Root& root) {
    CaseInsensitivePaths paths(root);
    std::optional<std::string> config;
    try {
        config = paths.find(kWindowsConfigDir);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (!config) return std::nullopt;
    WindowsIdentity id;
    // Identity is best effort: a damaged hive shows up in the sources' coverage instead.
    auto software = load_hive(root, paths, std::string(kWindowsConfigDir) + "/SOFTWARE");
    if (software.hive) {
        try {
            const auto& h = *software.hive;
            if (auto k = h.find("Microsoft\\Cryptography"))
                id.machine_guid =
                    core::ascii_lower(registry_text(string_value(h, *k, "MachineGuid"), 64));
            if (auto k = h.find("Microsoft\\Windows NT\\CurrentVersion")) {
                id.product_name = string_value(h, *k, "ProductName");
                id.display_version = string_value(h, *k, "DisplayVersion");
                if (id.display_version.empty())
                    id.display_version = string_value(h, *k, "ReleaseId");
                id.build = string_value(h, *k, "CurrentBuildNumber");
                if (id.build.empty()) id.build = string_value(h, *k, "CurrentBuild");
            }
        } catch (const Error&) {
        }
    }
    auto sam = load_hive(root, paths, std::string(kWindowsConfigDir) + "/SAM");
    if (sam.hive) {
        try {
            if (auto k = sam.hive->find("SAM\\Domains\\Account"))
                if (auto v = sam.hive->value(*k, "V")) id.machine_sid = machine_sid_from_v(v->data);
        } catch (const Error&) {
        }
    }
    if (id.machine_sid.empty()) {
        auto security = load_hive(root, paths, std::string(kWindowsConfigDir) + "/SECURITY");
        if (security.hive) {
            try {
                if (auto k = security.hive->find("Policy\\PolAcDmS"))
                    if (auto v = security.hive->value(*k, ""))
                        id.machine_sid = sid_to_string(v->data);
            } catch (const Error&) {
            }
        }
    }
    auto system = load_hive(root, paths, std::string(kWindowsConfigDir) + "/SYSTEM");
    if (system.hive) {
        try {
            const auto& h = *system.hive;
            if (auto cs = current_control_set(h))
                if (auto k = h.find(*cs + "\\Control\\ComputerName\\ComputerName"))
                    id.computer_name = registry_text(string_value(h, *k, "ComputerName"), 253);
        } catch (const Error&) {
        }
    }
    return id;
}

}  // namespace audit::host
