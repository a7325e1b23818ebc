#include "audit/host/identity.h"
#ifdef _WIN32
#include "host/identity_live.h"
#endif

#include <sys/stat.h>
#ifndef _WIN32
#include <sys/utsname.h>
#endif

#include <botan/hash.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "audit/core/ascii.h"
#include "audit/core/hex.h"
#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/formats/plist.h"
#include "audit/host/windows_registry.h"

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
    return std::string(core::trim(s));
}

std::string first_line(std::string_view s) {
    return trim(s.substr(0, s.find('\n')));
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
    id.os_family = "macos";
    id.os_evidence = "System/Library/CoreServices/SystemVersion.plist";
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

std::optional<std::vector<std::string>> list_quiet(const fs::Root& root, const std::string& rel) {
    try {
        return root.list_dir(rel);
    } catch (const Error&) {
        return std::nullopt;
    }
}

// DMI fields firmware fills with placeholders are no identifier.
bool placeholder(const std::string& v) {
    static const std::set<std::string> known = {"",
                                                "0",
                                                "none",
                                                "n/a",
                                                "na",
                                                "unknown",
                                                "not specified",
                                                "not applicable",
                                                "not available",
                                                "to be filled by o.e.m.",
                                                "to be filled by oem",
                                                "system serial number",
                                                "chassis serial number",
                                                "default string",
                                                "0123456789",
                                                "123456789",
                                                "serial",
                                                "invalid",
                                                "03000200-0400-0500-0006-000700080009"};
    std::string l = core::ascii_lower(v);
    if (known.count(l)) return true;
    // All zeros, all Fs, all spaces or dashes: unset.
    return std::all_of(l.begin(), l.end(),
                       [](char c) { return c == '0' || c == '-' || c == ' '; }) ||
           std::all_of(l.begin(), l.end(), [](char c) { return c == 'f' || c == '-' || c == ' '; });
}

bool uuid_text(std::string_view v) {
    if (v.empty() || v.size() > 64) return false;
    return std::all_of(v.begin(), v.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
    });
}

// etc/fstab's UUID= device for the mount point "/".
std::string fstab_root_uuid(const fs::Root& root) {
    auto text = read_small(root, "etc/fstab");
    if (!text) return {};
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string dev, mnt;
        if (!(fields >> dev >> mnt) || dev.empty() || dev.front() == '#') continue;
        if (mnt != "/" || dev.rfind("UUID=", 0) != 0) continue;
        std::string v = unquote(dev.substr(5));
        if (uuid_text(v)) return core::ascii_lower(v);
    }
    return {};
}

#ifndef _WIN32
// Live: the /dev/disk/by-uuid link whose block device is the one the root lives on.
std::string live_root_uuid(const fs::Root& root) {
    struct stat mine {};
    if (::fstat(root.fd(), &mine) != 0) return {};
    auto names = list_quiet(root, "dev/disk/by-uuid");
    if (!names) return {};
    for (const auto& n : *names) {
        if (!uuid_text(n)) continue;
        struct stat dev {};
        const std::string p = "/dev/disk/by-uuid/" + n;
        if (::stat(p.c_str(), &dev) != 0 || !S_ISBLK(dev.st_mode)) continue;
        if (dev.st_rdev == mine.st_dev) return core::ascii_lower(n);
    }
    return {};
}
#endif

std::string ssh_host_keys(const fs::Root& root) {
    auto names = list_quiet(root, "etc/ssh");
    if (!names) return {};
    std::set<std::string> prints;
    for (const auto& n : *names) {
        const std::string suffix = "_key.pub";
        if (n.rfind("ssh_host_", 0) != 0 || n.size() <= 9 + suffix.size() ||
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        auto text = read_small(root, ("etc/ssh/" + n).c_str());
        if (!text) continue;
        if (auto fp = ssh_fingerprint(first_line(*text)); !fp.empty()) prints.insert(fp);
    }
    std::string out;
    for (const auto& fp : prints) out += (out.empty() ? "" : " ") + fp;
    return out;
}

// Upper-case 8-4-4-4-12: the form of the hardware UUID in ByHost preference names.
std::string macos_hardware_uuid(const fs::Root& root) {
    auto users = list_quiet(root, "Users");
    if (!users) return {};
    std::map<std::string, std::size_t> seen;
    std::size_t budget = 100000;
    for (const auto& u : *users) {
        if (u.empty() || u.front() == '.') continue;
        auto names = list_quiet(root, "Users/" + u + "/Library/Preferences/ByHost");
        if (!names) continue;
        for (const auto& n : *names) {
            if (budget-- == 0) break;
            const std::string ext = ".plist";
            if (n.size() <= ext.size() + 36 ||
                n.compare(n.size() - ext.size(), ext.size(), ext) != 0)
                continue;
            std::string stem = n.substr(0, n.size() - ext.size());
            std::string tail = stem.substr(stem.size() - 36);
            if (stem[stem.size() - 37] != '.' || !is_guid(tail)) continue;
            for (auto& c : tail) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            ++seen[tail];
        }
    }
    // The most frequent one (a user migrated from another Mac keeps the old one's files too).
    std::string best;
    std::size_t count = 0;
    for (const auto& [uuid, n] : seen)
        if (n > count) best = uuid, count = n;
    return best;
}

}  // namespace

std::string ssh_fingerprint(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string type, blob_b64;
    if (!(in >> type >> blob_b64)) return {};
    if (type.rfind("ssh-", 0) != 0 && type.rfind("ecdsa-", 0) != 0 && type.rfind("sk-", 0) != 0)
        return {};
    std::string blob;
    try {
        blob = crypto::base64_decode(blob_b64);
    } catch (const Error&) {
        return {};
    }
    // The blob starts with its own key type as an SSH string.
    if (blob.size() < 4 + type.size()) return {};
    auto h = Botan::HashFunction::create_or_throw("SHA-256");
    h->update(reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size());
    auto d = h->final();
    std::string b64 =
        crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    return "SHA256:" + b64;
}

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
#ifdef _WIN32
    // The running Windows (audit-scan.exe on its system drive): the Win32 API says who it is.
    if (id.live) {
        std::vector<std::string> notes;
        identify_live_windows(id, notes);
        for (const auto& n : notes) id.notes.push_back(n);
        return id;
    }
#else
    if (id.hostname.empty() && id.live) {
        struct utsname u {};
        if (::uname(&u) == 0) id.hostname = printable(u.nodename, 253);
    }
#endif

    for (const char* p : {"etc/machine-id", "var/lib/dbus/machine-id"}) {
        auto m = read_small(root, p);
        if (!m) continue;
        std::string v = first_line(*m);
        // "uninitialized" and other placeholders are not identifiers.
        if (v.size() == 32 && core::is_hex(v)) {
            id.machine_id = core::ascii_lower(v);
            break;
        }
    }

    // Only the running system's DMI describes this hardware; a mounted image's /sys is not it.
    if (id.live) {
        if (auto u = read_small(root, "sys/class/dmi/id/product_uuid")) {
            std::string v = core::ascii_lower(first_line(*u));
            if (v.size() == 36 && core::is_hex(v.substr(0, 8)) && !placeholder(v))
                id.dmi_product_uuid = printable(v);
        }
        if (auto u = read_small(root, "sys/class/dmi/id/product_serial")) {
            std::string v = printable(first_line(*u), 128);
            if (!placeholder(v)) id.dmi_product_serial = v;
        }
#ifndef _WIN32
        id.root_fs_uuid = live_root_uuid(root);
#endif
    }
    if (id.root_fs_uuid.empty()) id.root_fs_uuid = fstab_root_uuid(root);
    id.ssh_host_keys = ssh_host_keys(root);

    auto os = os_release(root);
    const bool has_os_release = !os.empty();  // before operator[] adds keys
    id.os_id = os["ID"];
    id.os_version_id = os["VERSION_ID"];
    id.os_pretty_name = os["PRETTY_NAME"];
    if (has_os_release) {
        id.os_family = "linux";
        const bool etc_release = read_small(root, "etc/os-release").has_value();
        id.os_evidence = etc_release ? "etc/os-release" : "usr/lib/os-release";
        // A /usr tree carries usr/lib/os-release too; a system root has etc/ and var/ beside it.
        if (!list_quiet(root, "etc"))
            id.not_a_system =
                "usr/lib/os-release but no etc/ directory (a /usr tree, not a "
                "system root)";
        else if (!list_quiet(root, "var"))
            id.not_a_system = id.os_evidence + " but no var/ directory (not a whole system root)";
    }

    // A Windows disk has none of the files above; its registry holds the same facts.
    if (!id.live && id.os_id.empty()) {
        if (auto win = windows_identity(root)) {
            id.os_id = "windows";
            id.os_family = "windows";
            id.os_evidence = "Windows/System32/config";
            if (is_guid(win->machine_guid)) id.windows_machine_guid = win->machine_guid;
            if (win->machine_sid.size() <= 128)
                id.windows_machine_sid = printable(win->machine_sid);
            id.windows_computer_name = printable(win->computer_name, 253);
            if (id.hostname.empty()) id.hostname = id.windows_computer_name;
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
    if (id.os_family == "macos") id.macos_hardware_uuid = macos_hardware_uuid(root);
    if (id.os_family.empty())
        id.not_a_system =
            "no operating system recognised (none of etc/os-release, usr/lib/os-release, "
            "Windows/System32/config, System/Library/CoreServices/SystemVersion.plist)";
    return id;
}

nlohmann::json HostIdentity::to_json() const {
    nlohmann::json j = {{"hostname", hostname},
                        {"label", label()},
                        {"machine_id", machine_id},
                        {"dmi_product_uuid", dmi_product_uuid},
                        {"dmi_product_serial", dmi_product_serial},
                        {"root_fs_uuid", root_fs_uuid},
                        {"ssh_host_keys", ssh_host_keys},
                        {"windows_machine_guid", windows_machine_guid},
                        {"windows_machine_sid", windows_machine_sid},
                        {"windows_computer_name", windows_computer_name},
                        {"windows_domain", windows_domain},
                        {"macos_hardware_uuid", macos_hardware_uuid},
                        {"os_family", os_family},
                        {"os_evidence", os_evidence},
                        {"os_id", os_id},
                        {"os_version_id", os_version_id},
                        {"os_pretty_name", os_pretty_name},
                        {"live", live},
                        {"root", root}};
    if (!notes.empty()) j["notes"] = notes;
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
