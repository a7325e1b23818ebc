// The running Windows system's identity through the Win32 API (host/identity_live.h).
#include "host/identity_live.h"

#include <windows.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <cwctype>

#include "audit/core/win_path.h"
#include "audit/host/windows_registry.h"

namespace audit::host {

namespace {

std::string reg_text(HKEY root, const wchar_t* sub, const wchar_t* name) {
    HKEY key = nullptr;
    if (RegOpenKeyExW(root, sub, 0, KEY_READ | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS) return {};
    wchar_t buf[1024] = {};
    DWORD size = sizeof buf - sizeof(wchar_t), type = 0;
    const LONG rc =
        RegQueryValueExW(key, name, nullptr, &type, reinterpret_cast<BYTE*>(buf), &size);
    RegCloseKey(key);
    if (rc != ERROR_SUCCESS || (type != REG_SZ && type != REG_EXPAND_SZ)) return {};
    return registry_text(core::utf8_of(std::wstring(buf, size / sizeof(wchar_t)).c_str()));
}

// SMBIOS type 1 (System Information) from the raw table GetSystemFirmwareTable('RSMB') gives:
// its UUID (SMBIOS 2.6+ byte order) and serial number string. Bounded walk of the structures.
bool smbios_system(std::string& uuid, std::string& serial, std::string& why) {
    const DWORD rsmb = 'R' << 24 | 'S' << 16 | 'M' << 8 | 'B';
    const UINT n = GetSystemFirmwareTable(rsmb, 0, nullptr, 0);
    if (n == 0) {
        why = "GetSystemFirmwareTable('RSMB'): " + core::win_error_text(GetLastError());
        return false;
    }
    if (n > (16u << 20)) {
        why = "SMBIOS table larger than 16 MiB";
        return false;
    }
    std::vector<std::uint8_t> buf(n);
    if (GetSystemFirmwareTable(rsmb, 0, buf.data(), n) != n) {
        why = "GetSystemFirmwareTable('RSMB') changed size";
        return false;
    }
    // RawSMBIOSData: 4 bytes version info, DWORD length, then the table.
    if (n < 8) {
        why = "SMBIOS data too short";
        return false;
    }
    std::uint32_t len = 0;
    std::memcpy(&len, buf.data() + 4, 4);
    const std::size_t end = std::min<std::size_t>(n, 8ull + len);
    std::size_t p = 8;
    while (p + 4 <= end) {
        const std::uint8_t type = buf[p], hlen = buf[p + 1];
        if (hlen < 4 || p + hlen > end) break;
        // The strings after the formatted area, each NUL-terminated, the set ending in a double
        // NUL.
        std::vector<std::string> strings;
        std::size_t q = p + hlen;
        while (q < end) {
            std::size_t z = q;
            while (z < end && buf[z] != 0) ++z;
            if (z == q) {
                ++q;
                break;
            }
            strings.emplace_back(reinterpret_cast<const char*>(buf.data() + q), z - q);
            q = z + 1;
            if (q < end && buf[q] == 0) {
                ++q;
                break;
            }
        }
        if (type == 1 && hlen >= 0x19) {
            const std::uint8_t* u = buf.data() + p + 8;
            bool all_ff = true, all_00 = true;
            for (int i = 0; i < 16; ++i)
                all_ff = all_ff && u[i] == 0xff, all_00 = all_00 && u[i] == 0;
            if (!all_ff && !all_00) {
                char t[40];
                std::snprintf(
                    t, sizeof t,
                    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3],
                    u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12],
                    u[13], u[14], u[15]);
                uuid = t;
            }
            const std::uint8_t si = buf[p + 7];
            if (si > 0 && si <= strings.size()) serial = registry_text(strings[si - 1], 128);
            return true;
        }
        if (type == 127) break;
        p = q;
    }
    why = "no SMBIOS type 1 (System Information) structure";
    return false;
}

}  // namespace

std::vector<std::string> windows_fixed_drives() {
    wchar_t windir[MAX_PATH + 1] = {};
    const UINT wn = GetSystemWindowsDirectoryW(windir, MAX_PATH);
    const wchar_t system_letter = (wn >= 2 && windir[1] == L':') ? towupper(windir[0]) : L'C';
    std::vector<std::string> out{std::string(1, static_cast<char>(system_letter)) + ":"};
    const DWORD drives = GetLogicalDrives();
    for (int i = 0; i < 26; ++i) {
        if (!(drives & (1u << i))) continue;
        const wchar_t letter = static_cast<wchar_t>(L'A' + i);
        if (letter == system_letter) continue;
        const wchar_t root[] = {letter, L':', L'\\', L'\0'};
        if (GetDriveTypeW(root) != DRIVE_FIXED) continue;
        out.push_back(std::string(1, static_cast<char>('A' + i)) + ":");
    }
    return out;
}

void identify_live_windows(HostIdentity& id, std::vector<std::string>& notes) {
    // Every fixed drive is walked (windows_fixed_drives): none is a gap of the whole host.
    id.os_family = "windows";
    id.os_id = "windows";
    id.os_evidence = "live: Win32 API (registry, RtlGetVersion)";
    const wchar_t* crypt = L"SOFTWARE\\Microsoft\\Cryptography";
    std::string guid = reg_text(HKEY_LOCAL_MACHINE, crypt, L"MachineGuid");
    for (auto& c : guid) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (guid.size() == 36) id.windows_machine_guid = guid;
    wchar_t name[256];
    DWORD len = 256;
    if (GetComputerNameExW(ComputerNamePhysicalDnsHostname, name, &len))
        id.hostname = registry_text(core::utf8_of(std::wstring(name, len)), 253);
    len = 256;
    if (GetComputerNameExW(ComputerNameDnsDomain, name, &len))
        id.windows_domain = registry_text(core::utf8_of(std::wstring(name, len)), 253);
    else
        notes.push_back("DNS domain: GetComputerNameExW: " + core::win_error_text(GetLastError()));
    // The machine SID: the account domain of this computer's name.
    len = 256;
    if (GetComputerNameW(name, &len)) {
        id.windows_computer_name = registry_text(core::utf8_of(std::wstring(name, len)), 253);
        BYTE sid[SECURITY_MAX_SID_SIZE];
        DWORD sid_size = sizeof sid, dom_size = 256;
        wchar_t dom[256];
        SID_NAME_USE use{};
        if (LookupAccountNameW(nullptr, name, sid, &sid_size, dom, &dom_size, &use) &&
            (use == SidTypeDomain || use == SidTypeComputer)) {
            wchar_t* text = nullptr;
            typedef BOOL(WINAPI * ToString)(PSID, LPWSTR*);
            auto fn = reinterpret_cast<ToString>(reinterpret_cast<void*>(
                GetProcAddress(GetModuleHandleW(L"advapi32.dll"), "ConvertSidToStringSidW")));
            if (fn && fn(sid, &text)) {
                const std::string s = core::utf8_of(text);
                LocalFree(text);
                if (s.rfind("S-1-5-21-", 0) == 0 && s.size() <= 128) id.windows_machine_sid = s;
            }
        } else {
            notes.push_back("machine SID: LookupAccountNameW: " +
                            core::win_error_text(GetLastError()));
        }
    }
    // The version the kernel reports (GetVersionEx lies to unmanifested programs).
    struct Version {
        ULONG size, major, minor, build, platform;
        WCHAR csd[128];
    } v{};
    v.size = sizeof v;
    typedef LONG(WINAPI * GetVersionFn)(Version*);
    auto rtl = reinterpret_cast<GetVersionFn>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlGetVersion")));
    const wchar_t* cv = L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
    std::string build = reg_text(HKEY_LOCAL_MACHINE, cv, L"CurrentBuildNumber");
    if (rtl && rtl(&v) == 0) build = std::to_string(v.build);
    const std::string product = reg_text(HKEY_LOCAL_MACHINE, cv, L"ProductName");
    const std::string display = reg_text(HKEY_LOCAL_MACHINE, cv, L"DisplayVersion");
    id.os_version_id = build.substr(0, 32);
    std::string detail = display.substr(0, 32);
    if (rtl && v.major)
        detail +=
            (detail.empty() ? "" : ", ") + std::to_string(v.major) + "." + std::to_string(v.minor);
    if (!build.empty()) detail += (detail.empty() ? "build " : ", build ") + build.substr(0, 32);
    id.os_pretty_name = (product.empty() ? "Windows" : product) +
                        (detail.empty() ? std::string() : " (" + detail + ")");
    std::string uuid, serial, why;
    if (smbios_system(uuid, serial, why)) {
        if (!uuid.empty()) id.dmi_product_uuid = uuid;
        const std::string low = [&] {
            std::string l = serial;
            for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return l;
        }();
        if (!serial.empty() && low.find("to be filled") == std::string::npos &&
            low != "default string" && low != "system serial number" && low != "none")
            id.dmi_product_serial = serial;
        if (uuid.empty())
            notes.push_back("SMBIOS system UUID unavailable (not set by the firmware)");
    } else {
        notes.push_back("SMBIOS unavailable: " + why);
    }
}

nlohmann::json windows_scan_user() {
    nlohmann::json j = nlohmann::json::object();
    wchar_t name[256];
    DWORD len = 256;
    if (GetUserNameW(name, &len)) j["name"] = core::utf8_of(name);
    HANDLE token = nullptr;
    bool elevated = false, backup = false;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        TOKEN_ELEVATION e{};
        DWORD got = 0;
        if (GetTokenInformation(token, TokenElevation, &e, sizeof e, &got))
            elevated = e.TokenIsElevated != 0;
        LUID luid{};
        PRIVILEGE_SET set{};
        if (LookupPrivilegeValueW(nullptr, L"SeBackupPrivilege", &luid)) {
            set.PrivilegeCount = 1;
            set.Control = PRIVILEGE_SET_ALL_NECESSARY;
            set.Privilege[0].Luid = luid;
            BOOL has = FALSE;
            if (PrivilegeCheck(token, &set, &has)) backup = has != 0;
        }
        CloseHandle(token);
    }
    j["elevated"] = elevated;
    j["backup_privilege_enabled"] = backup;
    // Backup semantics read every file regardless of its ACL only with SeBackupPrivilege enabled.
    j["reads_everything"] = elevated && backup;
    return j;
}

}  // namespace audit::host
