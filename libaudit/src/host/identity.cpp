#include "audit/host/identity.h"

#include <sys/utsname.h>

#include <cctype>
#include <optional>

#include "audit/error.h"
#include "audit/sources/plist.h"
#include "audit/sources/windows.h"

namespace audit::host {

namespace {

constexpr std::size_t kSmallFile = 64 * 1024;

// A small identity file; a missing or unreadable one is simply not an identifier.
std::optional<std::string> read_small(const fs::Root& root, const char* rel) {
    try {
        return root.read_file(rel, kSmallFile);
    } catch (const Error&) {
        return std::nullopt;
    }
}

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::string first_line(std::string_view s) {
    return trim(s.substr(0, s.find('\n')));
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

// Printable ASCII only, bounded: these values end up in reports and file names.
std::string printable(std::string_view s, std::size_t max = 256) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) out.push_back(c);
    }
    return out;
}

// One os-release value: "..." (with \ escapes), '...', or bare.
std::string unquote(std::string_view v) {
    std::string out;
    if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
        char q = v.front();
        for (std::size_t i = 1; i < v.size() && v[i] != q; ++i) {
            if (q == '"' && v[i] == '\\' && i + 1 < v.size()) ++i;
            out.push_back(v[i]);
        }
        return out;
    }
    return trim(v);
}

// 8-4-4-4-12 hex digits, as MachineGuid is written.
bool is_guid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// A small plist, or nullopt when missing, unreadable or malformed (not an identifier then).
std::optional<plist::Value> read_plist(const fs::Root& root, const char* rel) {
    auto bytes = read_small(root, rel);
    if (!bytes) return std::nullopt;
    try {
        return plist::parse(*bytes, rel);
    } catch (const Error&) {
        return std::nullopt;
    }
}

// A macOS disk names itself in SystemVersion.plist and SystemConfiguration's preferences.
void identify_macos(const fs::Root& root, HostIdentity& id) {
    auto version = read_plist(root, "System/Library/CoreServices/SystemVersion.plist");
    if (!version) return;
    id.os_id = "macos";
    id.os_version_id = printable(version->string_at("ProductVersion"));
    id.os_pretty_name = printable(version->string_at("ProductName") + " " + id.os_version_id);
    if (auto build = printable(version->string_at("ProductBuildVersion")); !build.empty())
        id.os_pretty_name += " (" + build + ")";
    if (!id.hostname.empty()) return;
    auto prefs = read_plist(root, "Library/Preferences/SystemConfiguration/preferences.plist");
    const plist::Value* system = prefs ? prefs->find("System") : nullptr;
    if (!system) return;
    std::string name;
    if (const auto* sys = system->find("System")) name = sys->string_at("HostName");
    if (const auto* net = system->find("Network"); name.empty() && net)
        if (const auto* names = net->find("HostNames")) name = names->string_at("LocalHostName");
    if (const auto* sys = system->find("System"); name.empty() && sys)
        name = sys->string_at("ComputerName");
    id.hostname = printable(name, 253);
}

}  // namespace

std::map<std::string, std::string> os_release(const fs::Root& root) {
    std::map<std::string, std::string> out;
    auto text = read_small(root, "etc/os-release");
    if (!text) text = read_small(root, "usr/lib/os-release");
    if (!text) return out;
    std::size_t pos = 0;
    while (pos < text->size()) {
        std::size_t nl = text->find('\n', pos);
        if (nl == std::string::npos) nl = text->size();
        std::string line = trim(std::string_view(*text).substr(pos, nl - pos));
        pos = nl + 1;
        if (line.empty() || line.front() == '#') continue;
        std::size_t eq = line.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        std::string key = line.substr(0, eq);
        bool ok = true;
        for (char c : key) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        if (ok) out[key] = printable(unquote(std::string_view(line).substr(eq + 1)));
    }
    return out;
}

HostIdentity identify(const fs::Root& root) {
    HostIdentity id;
    id.root = root.path();
    id.live = root.is_live();

    if (auto h = read_small(root, "etc/hostname")) id.hostname = printable(first_line(*h), 253);
    if (id.hostname.empty() && id.live) {
        struct utsname u {};
        if (::uname(&u) == 0) id.hostname = printable(u.nodename, 253);
    }

    for (const char* p : {"etc/machine-id", "var/lib/dbus/machine-id"}) {
        auto m = read_small(root, p);
        if (!m) continue;
        std::string v = first_line(*m);
        // "uninitialized" and other placeholders are not identifiers.
        if (v.size() == 32 && is_hex(v)) {
            for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            id.machine_id = v;
            break;
        }
    }

    // Only the running system's DMI describes this hardware; a mounted image's /sys is not it.
    if (id.live) {
        if (auto u = read_small(root, "sys/class/dmi/id/product_uuid")) {
            std::string v = first_line(*u);
            if (v.size() == 36 && is_hex(v.substr(0, 8))) {
                for (auto& c : v)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                id.dmi_product_uuid = printable(v);
            }
        }
    }

    auto os = os_release(root);
    id.os_id = os["ID"];
    id.os_version_id = os["VERSION_ID"];
    id.os_pretty_name = os["PRETTY_NAME"];

    // A Windows disk has none of the files above; its registry holds the same facts.
    if (!id.live && id.os_id.empty()) {
        if (auto win = sources::windows_identity(root)) {
            id.os_id = "windows";
            if (is_guid(win->machine_guid)) id.windows_machine_guid = win->machine_guid;
            if (id.hostname.empty()) id.hostname = printable(win->computer_name, 253);
            id.os_version_id = printable(win->build, 32);
            std::string pretty = printable(win->product_name);
            std::string detail = printable(win->display_version, 32);
            if (!win->build.empty())
                detail += (detail.empty() ? "build " : ", build ") + printable(win->build, 32);
            if (!detail.empty()) pretty += (pretty.empty() ? "" : " ") + ("(" + detail + ")");
            id.os_pretty_name = pretty.empty() ? "Windows" : pretty;
        }
    }
    if (id.os_id.empty() && !id.live) identify_macos(root, id);
    return id;
}

nlohmann::json HostIdentity::to_json() const {
    return {{"hostname", hostname},
            {"label", label()},
            {"machine_id", machine_id},
            {"dmi_product_uuid", dmi_product_uuid},
            {"windows_machine_guid", windows_machine_guid},
            {"os_id", os_id},
            {"os_version_id", os_version_id},
            {"os_pretty_name", os_pretty_name},
            {"live", live},
            {"root", root}};
}

nlohmann::json HostIdentity::stable_ids() const {
    nlohmann::json j = nlohmann::json::object();
    if (!machine_id.empty()) j["machine_id"] = machine_id;
    if (!dmi_product_uuid.empty()) j["dmi_product_uuid"] = dmi_product_uuid;
    if (!windows_machine_guid.empty()) j["windows_machine_guid"] = windows_machine_guid;
    return j;
}

std::string HostIdentity::label() const {
    std::string out;
    for (char c : hostname) {
        if (out.size() >= 63) break;
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
        if (!ok && c != '_' && c != ' ') continue;  // dropped, not replaced: no "--" runs
        out.push_back(ok ? c : '-');
    }
    // Never a hidden file or "..", never a leading '-' that looks like a flag.
    while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(0, 1);
    while (!out.empty() && (out.back() == '.' || out.back() == '-')) out.pop_back();
    if (!out.empty()) return out;
    if (machine_id.size() >= 12) return "host-" + machine_id.substr(0, 12);
    if (windows_machine_guid.size() >= 8) return "host-" + windows_machine_guid.substr(0, 8);
    return "unknown-host";
}

}  // namespace audit::host
