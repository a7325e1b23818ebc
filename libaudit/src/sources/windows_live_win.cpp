// The running Windows system through the Win32 API (windows_live.h). Windows preset only.
#include "windows_live.h"

#include <windows.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "audit/core/win_path.h"
#include "audit/error.h"
#include "audit/host/windows_registry.h"
#include "audit/sources/windows.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources::windows_live {

namespace {

using core::utf8_of;
using host::registry_text;

constexpr std::size_t kMaxValue = 64u << 10;    // bytes of one string value read
constexpr std::size_t kMaxSubkeys = 100000;     // per key enumerated
constexpr std::size_t kMaxVendorKeys = 100000;  // per hive and view
constexpr std::size_t kMaxServices = 100000;
constexpr std::size_t kMaxCertificateBlob = 1u << 20;  // one store entry's Blob value
constexpr const char* kUninstall = "Microsoft\\Windows\\CurrentVersion\\Uninstall";

std::wstring wide(const std::string& s) {
    if (s.empty()) return {};
    const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
    std::wstring w(static_cast<std::size_t>(n > 0 ? n : 0), L'\0');
    if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
    return w;
}

// A string the SCM returned, "" for a null pointer (Wine leaves an unset display name null).
std::string text_of(const wchar_t* p) {
    return p ? registry_text(utf8_of(std::wstring(p))) : std::string();
}

std::string err(const std::string& what, LONG code) {
    return what + ": " + core::win_error_text(static_cast<unsigned long>(code)) + " (" +
           std::to_string(code) + ")";
}

// One open registry key, read-only (KEY_READ plus a view flag), closed once.
class Key {
  public:
    Key() = default;
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    Key(Key&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    ~Key() {
        if (h_) RegCloseKey(h_);
    }
    // ERROR_SUCCESS, ERROR_FILE_NOT_FOUND (absent) or another error.
    LONG open(HKEY parent, const std::string& sub, REGSAM view) {
        return RegOpenKeyExW(parent, wide(sub).c_str(), 0, KEY_READ | view, &h_);
    }
    HKEY get() const { return h_; }

    // Subkey names; throws Error on a failed enumeration (never a partial list taken as whole).
    std::vector<std::string> subkeys(const std::string& shown) const {
        std::vector<std::string> out;
        for (DWORD i = 0;; ++i) {
            wchar_t name[256];
            DWORD len = 256;
            const LONG rc = RegEnumKeyExW(h_, i, name, &len, nullptr, nullptr, nullptr, nullptr);
            if (rc == ERROR_NO_MORE_ITEMS) break;
            if (rc != ERROR_SUCCESS) throw IoError(err("cannot enumerate " + shown, rc));
            if (out.size() >= kMaxSubkeys)
                throw IoError("more than " + std::to_string(kMaxSubkeys) + " subkeys in " + shown);
            out.push_back(utf8_of(std::wstring(name, len)));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // A REG_SZ / REG_EXPAND_SZ value (not expanded), as registry_text; "" when missing or not a
    // string. Throws Error when it exists but cannot be read.
    std::string text(const char* name, const std::string& shown) const {
        DWORD type = 0, size = 0;
        const std::wstring wname = wide(name);
        LONG rc = RegQueryValueExW(h_, wname.c_str(), nullptr, &type, nullptr, &size);
        if (rc == ERROR_FILE_NOT_FOUND) return {};
        if (rc != ERROR_SUCCESS) throw IoError(err("cannot read " + shown + "\\" + name, rc));
        if (type != REG_SZ && type != REG_EXPAND_SZ) return {};
        if (size > kMaxValue) size = kMaxValue;
        std::wstring buf(size / sizeof(wchar_t) + 1, L'\0');
        DWORD got = static_cast<DWORD>(buf.size() * sizeof(wchar_t));
        rc = RegQueryValueExW(h_, wname.c_str(), nullptr, &type,
                              reinterpret_cast<BYTE*>(buf.data()), &got);
        if (rc == ERROR_MORE_DATA) {
            buf.resize(kMaxValue / sizeof(wchar_t) + 1);
            got = static_cast<DWORD>(kMaxValue);
            rc = RegQueryValueExW(h_, wname.c_str(), nullptr, &type,
                                  reinterpret_cast<BYTE*>(buf.data()), &got);
            if (rc == ERROR_MORE_DATA) rc = ERROR_SUCCESS;  // bounded: the first 64 KiB
        }
        if (rc != ERROR_SUCCESS) throw IoError(err("cannot read " + shown + "\\" + name, rc));
        buf.resize(std::min<std::size_t>(buf.size(), got / sizeof(wchar_t)));
        while (!buf.empty() && buf.back() == L'\0') buf.pop_back();
        return registry_text(utf8_of(buf));
    }

    // A REG_DWORD / REG_QWORD value; nullopt when missing or another type.
    std::optional<std::uint64_t> number(const char* name, const std::string& shown) const {
        DWORD type = 0;
        std::uint64_t v = 0;
        DWORD size = sizeof v;
        const LONG rc = RegQueryValueExW(h_, wide(name).c_str(), nullptr, &type,
                                         reinterpret_cast<BYTE*>(&v), &size);
        if (rc == ERROR_FILE_NOT_FOUND) return std::nullopt;
        if (rc == ERROR_MORE_DATA) return std::nullopt;  // a larger value: not a number
        if (rc != ERROR_SUCCESS) throw IoError(err("cannot read " + shown + "\\" + name, rc));
        if (type == REG_DWORD && size == 4) return v & 0xffffffffu;
        if (type == REG_QWORD && size == 8) return v;
        return std::nullopt;
    }

    // A value's bytes, whatever its type; nullopt when missing. Throws Error when it exists but
    // cannot be read or is larger than max (a certificate Blob over the bound is unread, which
    // is not absent).
    std::optional<std::string> bytes(const char* name, const std::string& shown,
                                     std::size_t max) const {
        DWORD type = 0, size = 0;
        const std::wstring wname = wide(name);
        LONG rc = RegQueryValueExW(h_, wname.c_str(), nullptr, &type, nullptr, &size);
        if (rc == ERROR_FILE_NOT_FOUND) return std::nullopt;
        if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA)
            throw IoError(err("cannot read " + shown + "\\" + name, rc));
        if (size > max)
            throw IoError(shown + "\\" + name + ": value larger than " + std::to_string(max) +
                          " bytes not read");
        std::string out(size, '\0');
        DWORD got = size;
        rc = RegQueryValueExW(h_, wname.c_str(), nullptr, &type,
                              reinterpret_cast<BYTE*>(out.data()), &got);
        if (rc != ERROR_SUCCESS)  // ERROR_MORE_DATA: it grew meanwhile, a failure of this scan
            throw IoError(err("cannot read " + shown + "\\" + name, rc));
        out.resize(std::min<std::size_t>(got, out.size()));
        return out;
    }

  private:
    HKEY h_ = nullptr;
};

// Opens parent\sub; nullopt when the key does not exist; throws Error when it cannot be opened.
std::optional<Key> open_key(HKEY parent, const std::string& sub, REGSAM view,
                            const std::string& shown) {
    Key k;
    const LONG rc = k.open(parent, sub, view);
    if (rc == ERROR_FILE_NOT_FOUND) return std::nullopt;
    if (rc != ERROR_SUCCESS) throw IoError(err("cannot open " + shown, rc));
    return std::optional<Key>(std::move(k));
}

// Each piece of reading: an error is a failure of the source, the rest goes on.
template <typename Fn>
void run(Result& r, Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        r.failures.push_back(e.what());
    }
}

// The system drive's letter ("C"): the live root; the other fixed drives are "/X:/...".
std::string live_windows_system_drive() {
    wchar_t windir[MAX_PATH + 1] = {};
    const UINT n = GetSystemWindowsDirectoryW(windir, MAX_PATH);
    return n >= 2 && n <= MAX_PATH && windir[1] == L':' && windir[0] < 128
               ? std::string(1, static_cast<char>(windir[0]))
               : std::string("C");
}

std::string live_path_to_root(const std::string& windows_path) {
    return windows_path_to_root(windows_path, live_windows_system_drive(), true);
}

void add_path(InventoryItem& item, const std::string& windows_path) {
    const std::string p = live_path_to_root(windows_path);
    if (!p.empty() && std::find(item.paths.begin(), item.paths.end(), p) == item.paths.end())
        item.paths.push_back(p);
}

// parent\sub (opened in view) holds one key per program: items as read_uninstall makes them.
// shown_base: the key's name as reported ("HKLM\SOFTWARE\WOW6432Node\Microsoft\...").
void uninstall(Result& r, HKEY parent, const std::string& sub, REGSAM view,
               const std::string& shown_base, const std::string& view_name) {
    auto base = open_key(parent, sub, view, shown_base);
    if (!base) return;
    for (const auto& name : base->subkeys(shown_base)) {
        const std::string reg = shown_base + "\\" + name;
        auto key = open_key(base->get(), name, view, reg);
        if (!key) continue;  // removed between the listing and now
        InventoryItem item;
        item.ecosystem = "windows-uninstall";
        const std::string display = key->text("DisplayName", reg);
        item.name = display.empty() ? registry_text(name) : display;
        item.version = key->text("DisplayVersion", reg);
        item.publisher = key->text("Publisher", reg);
        item.source = "registry:" + reg;
        item.extra["registry_key"] = reg;
        item.extra["key_name"] = registry_text(name);
        item.extra["view"] = view_name;
        if (display.empty()) item.extra["no_display_name"] = true;
        const std::pair<const char*, const char*> fields[] = {
            {"InstallLocation", "install_location"},
            {"UninstallString", "uninstall_string"},
            {"DisplayIcon", "display_icon"},
            {"InstallSource", "install_source"}};
        for (const auto& [value, field] : fields)
            if (auto v = key->text(value, reg); !v.empty()) item.extra[field] = v;
        if (item.extra.contains("install_location"))
            add_path(item, item.extra["install_location"].get<std::string>());
        if (auto n = key->number("SystemComponent", reg); n && *n)
            item.extra["system_component"] = true;
        if (auto n = key->number("WindowsInstaller", reg); n && *n)
            item.extra["windows_installer"] = true;
        if (item.name.empty()) {
            text::warn(r.warnings, item.source + ": entry without a name");
            item.name = "(unnamed)";
        }
        r.items.push_back(std::move(item));
    }
}

std::string msi_version(std::uint64_t v) {
    return std::to_string(v >> 24 & 0xff) + "." + std::to_string(v >> 16 & 0xff) + "." +
           std::to_string(v & 0xffff);
}

// Installer\Products: one packed product code per key (read_msi_products' items).
void msi_products(Result& r, HKEY parent, const std::string& sub, const std::string& shown_base,
                  bool machine) {
    auto base = open_key(parent, sub, KEY_WOW64_64KEY, shown_base);
    if (!base) return;
    for (const auto& packed : base->subkeys(shown_base)) {
        const std::string reg = shown_base + "\\" + packed;
        auto key = open_key(base->get(), packed, KEY_WOW64_64KEY, reg);
        if (!key) continue;
        InventoryItem item;
        item.ecosystem = "msi";
        item.source = "registry:" + reg;
        item.extra["registry_key"] = reg;
        item.extra["packed_code"] = registry_text(packed);
        const std::string code = unpack_msi_guid(packed);
        if (code.empty())
            text::warn(r.warnings, item.source + ": key name is not a packed product code");
        else
            item.extra["product_code"] = code;
        item.name = key->text("ProductName", reg);
        if (item.name.empty()) item.name = code.empty() ? registry_text(packed) : code;
        if (auto v = key->number("Version", reg)) item.version = msi_version(*v);
        if (machine) {
            // Publisher, version and location from Installer\UserData\<any SID>.
            const std::string ud =
                "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Installer\\UserData";
            if (auto user_data = open_key(HKEY_LOCAL_MACHINE, ud, KEY_WOW64_64KEY, "HKLM\\" + ud)) {
                for (const auto& sid : user_data->subkeys("HKLM\\" + ud)) {
                    const std::string rel = sid + "\\Products\\" + packed + "\\InstallProperties";
                    auto props = open_key(user_data->get(), rel, KEY_WOW64_64KEY,
                                          "HKLM\\" + ud + "\\" + rel);
                    if (!props) continue;
                    const std::string shown = "HKLM\\" + ud + "\\" + rel;
                    if (item.publisher.empty()) item.publisher = props->text("Publisher", shown);
                    if (auto v = props->text("DisplayVersion", shown); !v.empty()) item.version = v;
                    if (auto loc = props->text("InstallLocation", shown); !loc.empty()) {
                        item.extra["install_location"] = loc;
                        add_path(item, loc);
                    }
                    break;
                }
            }
        }
        r.items.push_back(std::move(item));
    }
}

// parent\sub\<vendor>[\<product>] except Classes, Microsoft, WOW6432Node.
void vendor_keys(Result& r, HKEY parent, const std::string& sub, REGSAM view,
                 const std::string& shown_base) {
    auto base = open_key(parent, sub, view, shown_base);
    if (!base) return;
    std::size_t count = 0;
    auto add = [&](const std::string& name) {
        if (++count > kMaxVendorKeys)
            throw IoError("more than " + std::to_string(kMaxVendorKeys) + " vendor keys below " +
                          shown_base);
        InventoryItem item;
        item.ecosystem = "windows-registry";
        item.name = name;
        item.source = "registry:" + name;
        item.extra["registry_key"] = name;
        r.items.push_back(std::move(item));
    };
    for (const auto& vendor : base->subkeys(shown_base)) {
        if (regf::names_equal(vendor, "Classes") || regf::names_equal(vendor, "Microsoft") ||
            regf::names_equal(vendor, "WOW6432Node"))
            continue;
        const std::string v = shown_base + "\\" + registry_text(vendor);
        add(v);
        auto vk = open_key(base->get(), vendor, view, v);
        if (!vk) continue;
        for (const auto& product : vk->subkeys(v)) add(v + "\\" + registry_text(product));
    }
}

const char* service_type_name(DWORD t) {
    if (t & SERVICE_KERNEL_DRIVER) return "kernel-driver";
    if (t & SERVICE_FILE_SYSTEM_DRIVER) return "file-system-driver";
    if (t & 0x4) return "adapter";
    if (t & 0x8) return "recognizer-driver";
    if (t & SERVICE_WIN32_OWN_PROCESS) return "own-process";
    if (t & SERVICE_WIN32_SHARE_PROCESS) return "share-process";
    return "other";
}

const char* start_name(DWORD s) {
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

const char* state_name(DWORD s) {
    switch (s) {
        case SERVICE_STOPPED:
            return "stopped";
        case SERVICE_START_PENDING:
            return "start-pending";
        case SERVICE_STOP_PENDING:
            return "stop-pending";
        case SERVICE_RUNNING:
            return "running";
        case SERVICE_CONTINUE_PENDING:
            return "continue-pending";
        case SERVICE_PAUSE_PENDING:
            return "pause-pending";
        case SERVICE_PAUSED:
            return "paused";
    }
    return "unknown";
}

struct ScHandle {
    SC_HANDLE h = nullptr;
    explicit ScHandle(SC_HANDLE x) : h(x) {}
    ScHandle(const ScHandle&) = delete;
    ScHandle& operator=(const ScHandle&) = delete;
    ~ScHandle() {
        if (h) CloseServiceHandle(h);
    }
};

bool is_sid_text(const std::string& s) {
    return s.rfind("S-1-", 0) == 0 && s.find("_Classes") == std::string::npos;
}

// One user's hive below HKEY_USERS\<sid>.
void user_hive(Result& r, const std::string& sid) {
    const std::string prefix = "HKU\\" + registry_text(sid);
    const std::size_t from = r.items.size();
    run(r, [&] {
        uninstall(r, HKEY_USERS, sid + "\\Software\\" + kUninstall, KEY_WOW64_64KEY,
                  prefix + "\\Software\\" + kUninstall, "user");
    });
    run(r, [&] {
        const std::string wow = sid + "\\Software\\WOW6432Node\\" + kUninstall;
        uninstall(r, HKEY_USERS, wow, KEY_WOW64_64KEY,
                  prefix + "\\Software\\WOW6432Node\\" + kUninstall, "user-wow64");
    });
    run(r, [&] {
        msi_products(r, HKEY_USERS, sid + "\\Software\\Microsoft\\Installer\\Products",
                     prefix + "\\Software\\Microsoft\\Installer\\Products", false);
    });
    run(r, [&] {
        vendor_keys(r, HKEY_USERS, sid + "\\Software", KEY_WOW64_64KEY, prefix + "\\Software");
    });
    for (std::size_t i = from; i < r.items.size(); ++i) r.items[i].extra["user_hive"] = prefix;
}

}  // namespace

Result software() {
    Result r;
    const std::string sw = "SOFTWARE";
    run(r, [&] {
        uninstall(r, HKEY_LOCAL_MACHINE, sw + "\\" + kUninstall, KEY_WOW64_64KEY,
                  "HKLM\\SOFTWARE\\" + std::string(kUninstall), "native");
    });
    run(r, [&] {
        // The 32-bit view of the same path: what 32-bit installers wrote (WOW6432Node).
        uninstall(r, HKEY_LOCAL_MACHINE, sw + "\\" + kUninstall, KEY_WOW64_32KEY,
                  "HKLM\\SOFTWARE\\WOW6432Node\\" + std::string(kUninstall), "wow64");
    });
    run(r, [&] {
        msi_products(r, HKEY_LOCAL_MACHINE, "SOFTWARE\\Classes\\Installer\\Products",
                     "HKLM\\SOFTWARE\\Classes\\Installer\\Products", true);
    });
    run(r, [&] { vendor_keys(r, HKEY_LOCAL_MACHINE, sw, KEY_WOW64_64KEY, "HKLM\\SOFTWARE"); });
    run(r, [&] {
        vendor_keys(r, HKEY_LOCAL_MACHINE, sw, KEY_WOW64_32KEY, "HKLM\\SOFTWARE\\WOW6432Node");
    });
    if (r.items.empty() && r.failures.empty())
        r.failures.push_back(
            "the live registry shows no Uninstall entry, Installer product or vendor key at all "
            "(not a plausible Windows installation)");
    return r;
}

Result services() {
    Result r;
    ScHandle scm(
        OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE));
    if (!scm.h) {
        r.failures.push_back(err("cannot open the Service Control Manager", GetLastError()));
        return r;
    }
    std::vector<std::uint8_t> buf(256u << 10);
    DWORD needed = 0, count = 0, resume = 0;
    std::size_t total = 0;
    for (;;) {
        const BOOL ok = EnumServicesStatusExW(
            scm.h, SC_ENUM_PROCESS_INFO, SERVICE_DRIVER | SERVICE_WIN32, SERVICE_STATE_ALL,
            buf.data(), static_cast<DWORD>(buf.size()), &needed, &count, &resume, nullptr);
        const DWORD e = ok ? ERROR_SUCCESS : GetLastError();
        if (!ok && e != ERROR_MORE_DATA) {
            r.failures.push_back(err("cannot enumerate services (EnumServicesStatusExW)", e));
            return r;
        }
        if (!ok && count == 0) {
            if (needed <= buf.size() || needed > (64u << 20)) {
                r.failures.push_back("cannot enumerate services: reply too large");
                return r;
            }
            buf.resize(needed);
            continue;
        }
        const auto* s = reinterpret_cast<const ENUM_SERVICE_STATUS_PROCESSW*>(buf.data());
        for (DWORD i = 0; i < count; ++i) {
            if (++total > kMaxServices) {
                r.failures.push_back("more than " + std::to_string(kMaxServices) + " services");
                return r;
            }
            const std::string name = text_of(s[i].lpServiceName);
            const std::string reg = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\" + name;
            InventoryItem item;
            item.ecosystem = "windows-service";
            item.name = name.empty() ? "(unnamed)" : name;
            item.source = "scm:" + name;
            item.extra["registry_key"] = reg;
            item.extra["display_name"] = text_of(s[i].lpDisplayName);
            item.extra["state"] = state_name(s[i].ServiceStatusProcess.dwCurrentState);
            item.extra["type"] = s[i].ServiceStatusProcess.dwServiceType;
            item.extra["type_name"] = service_type_name(s[i].ServiceStatusProcess.dwServiceType);
            if (s[i].ServiceStatusProcess.dwProcessId != 0)
                item.extra["pid"] = s[i].ServiceStatusProcess.dwProcessId;
            ScHandle svc(OpenServiceW(scm.h, s[i].lpServiceName, SERVICE_QUERY_CONFIG));
            DWORD cfg_needed = 0;
            std::vector<std::uint8_t> cfg;
            bool have = false;
            if (svc.h) {
                QueryServiceConfigW(svc.h, nullptr, 0, &cfg_needed);
                if (cfg_needed > 0 && cfg_needed <= (1u << 20)) {
                    cfg.resize(cfg_needed);
                    have = QueryServiceConfigW(svc.h,
                                               reinterpret_cast<QUERY_SERVICE_CONFIGW*>(cfg.data()),
                                               cfg_needed, &cfg_needed) != 0;
                }
            }
            if (!have) {
                // Its binary path is what file rules and the walk key on: a gap, not a skip.
                r.failures.push_back(
                    err("cannot read the configuration of service " + name, GetLastError()));
            } else {
                const auto* c = reinterpret_cast<const QUERY_SERVICE_CONFIGW*>(cfg.data());
                if (c->lpBinaryPathName && *c->lpBinaryPathName) {
                    const std::string image = text_of(c->lpBinaryPathName);
                    item.extra["image_path"] = image;
                    add_path(item, image);
                }
                item.extra["start"] = c->dwStartType;
                item.extra["start_name"] = start_name(c->dwStartType);
                if (c->lpLoadOrderGroup && *c->lpLoadOrderGroup)
                    item.extra["group"] = text_of(c->lpLoadOrderGroup);
                if (c->lpServiceStartName && *c->lpServiceStartName)
                    item.extra["account"] = text_of(c->lpServiceStartName);
            }
            r.items.push_back(std::move(item));
        }
        if (ok) break;
    }
    if (r.items.empty() && r.failures.empty())
        r.failures.push_back("the Service Control Manager lists no service at all");
    return r;
}

UserHives user_hives() {
    UserHives out;
    Result r;
    run(r, [&] {
        auto hku = open_key(HKEY_USERS, "", KEY_WOW64_64KEY, "HKU");
        if (!hku) throw IoError("HKEY_USERS cannot be opened");
        for (const auto& sid : hku->subkeys("HKU")) {
            if (!is_sid_text(sid)) continue;  // .DEFAULT is the same hive as S-1-5-18
            out.loaded.push_back(sid);
        }
    });
    // Profiles whose hive is not loaded (nobody logged on): their NTUSER.DAT, with regf.
    run(r, [&] {
        const std::string pl = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
        auto list = open_key(HKEY_LOCAL_MACHINE, pl, KEY_WOW64_64KEY, "HKLM\\" + pl);
        if (!list) return;
        const std::set<std::string> loaded(out.loaded.begin(), out.loaded.end());
        for (const auto& sid : list->subkeys("HKLM\\" + pl)) {
            if (loaded.count(sid)) continue;
            const std::string shown = "HKLM\\" + pl + "\\" + sid;
            auto key = open_key(list->get(), sid, KEY_WOW64_64KEY, shown);
            if (!key) continue;
            const std::string dir = key->text("ProfileImagePath", shown);
            const std::string rel = live_path_to_root(dir);
            if (rel.empty()) {
                if (!dir.empty() && dir.find('%') == std::string::npos)
                    r.failures.push_back("profile " + sid + " (" + dir +
                                         ") is not loaded and not on the scanned drive: its "
                                         "NTUSER.DAT was not read");
                continue;  // system profiles (%systemroot%\...) are loaded or have no programs
            }
            out.unloaded.push_back({sid, rel + "/NTUSER.DAT"});
        }
    });
    out.failures = std::move(r.failures);
    return out;
}

bool certificate_stores(const std::string& sid, const std::string& subpath, std::size_t max_stores,
                        std::size_t max_entries,
                        const std::function<void(const std::string& store, const std::string& key,
                                                 const std::optional<std::string>& blob)>& fn) {
    const HKEY parent = sid.empty() ? HKEY_LOCAL_MACHINE : HKEY_USERS;
    const std::string sub = sid.empty() ? "SOFTWARE\\" + subpath : sid + "\\" + subpath;
    const std::string shown = (sid.empty() ? "HKLM\\" : "HKU\\") + sub;
    auto base = open_key(parent, sub, KEY_WOW64_64KEY, shown);
    if (!base) return false;
    const auto stores = base->subkeys(shown);
    if (stores.size() > max_stores)
        throw IoError(shown + ": more than " + std::to_string(max_stores) + " stores");
    std::size_t count = 0;
    for (const auto& store : stores) {
        const std::string certs_shown = shown + "\\" + store + "\\Certificates";
        auto certs = open_key(base->get(), store + "\\Certificates", KEY_WOW64_64KEY, certs_shown);
        if (!certs) continue;
        for (const auto& name : certs->subkeys(certs_shown)) {
            if (++count > max_entries)
                throw IoError(shown + ": more than " + std::to_string(max_entries) +
                              " certificates");
            const std::string key_shown = certs_shown + "\\" + name;
            auto key = open_key(certs->get(), name, KEY_WOW64_64KEY, key_shown);
            if (!key) throw IoError(key_shown + ": removed while being read");
            fn(store, name, key->bytes("Blob", key_shown, kMaxCertificateBlob));
        }
    }
    return true;
}

Result users(const fs::Root& root) {
    Result r;
    UserHives hives = user_hives();
    for (auto& f : hives.failures) r.failures.push_back(std::move(f));
    for (const auto& sid : hives.loaded) user_hive(r, sid);
    run(r, [&] {
        host::CaseInsensitivePaths paths(root);
        for (const auto& [sid, ntuser] : hives.unloaded) {
            auto h = host::load_hive(root, paths, ntuser);
            if (!h.hive) {
                if (!h.error.empty())
                    r.failures.push_back(h.origin + " (profile " + sid +
                                         ", not loaded): " + h.error);
                continue;
            }
            hive_state(h, r.warnings, r.failures);
            const std::string prefix = "HKU\\" + registry_text(sid);
            const std::size_t from = r.items.size();
            run(r, [&] {
                read_uninstall(*h.hive, "Software\\" + std::string(kUninstall), prefix, h.origin,
                               "user", r.items, r.warnings);
                read_msi_products(*h.hive, "Software\\Microsoft\\Installer\\Products", prefix,
                                  h.origin, r.items, r.warnings);
                read_vendor_keys(*h.hive, "Software", prefix, h.origin, r.items, r.warnings);
            });
            for (std::size_t i = from; i < r.items.size(); ++i)
                r.items[i].extra["user_hive"] = h.origin;
        }
    });
    if (hives.loaded.empty() && r.failures.empty())
        text::warn(r.warnings, "no user hive is loaded under HKEY_USERS");
    return r;
}

void read_into(Collection& c, Result r) {
    c.found = true;
    for (auto& w : r.warnings) text::warn(c.warnings(), w);
    text::warn(c.warnings(),
               "live: read through the Win32 API (registry, Service Control Manager)");
    for (auto& f : r.failures) c.failures.push_back(std::move(f));
    for (auto& i : r.items) c.items.push_back(std::move(i));
}

}  // namespace audit::sources::windows_live
