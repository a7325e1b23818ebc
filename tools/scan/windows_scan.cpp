// audit-scan.exe's Windows pieces (windows_scan.h); empty in every other build.
#ifdef _WIN32
#include "windows_scan.h"

#include <windows.h>

#include <string>

namespace audit::scan_tool {

namespace {

std::string utf8(const wchar_t* w, int n = -1) {
    const int len = WideCharToMultiByte(CP_UTF8, 0, w, n, nullptr, 0, nullptr, nullptr);
    std::string s(static_cast<std::size_t>(len > 0 ? len : 0), '\0');
    if (len > 0) WideCharToMultiByte(CP_UTF8, 0, w, n, s.data(), len, nullptr, nullptr);
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

// One privilege in this process's own token, when the token holds it.
bool enable_privilege(const wchar_t* name) {
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return false;
    TOKEN_PRIVILEGES tp{};
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    const bool ok = LookupPrivilegeValueW(nullptr, name, &tp.Privileges[0].Luid) &&
                    AdjustTokenPrivileges(token, FALSE, &tp, 0, nullptr, nullptr) &&
                    GetLastError() == ERROR_SUCCESS;  // ERROR_NOT_ALL_ASSIGNED: not held
    CloseHandle(token);
    return ok;
}

}  // namespace

WindowsPrivileges windows_enable_privileges() {
    WindowsPrivileges p;
    p.backup = enable_privilege(L"SeBackupPrivilege");
    p.debug = enable_privilege(L"SeDebugPrivilege");
    return p;
}

std::string windows_system_drive() {
    wchar_t dir[MAX_PATH + 1] = {};
    const UINT n = GetSystemWindowsDirectoryW(dir, MAX_PATH);
    if (n >= 2 && n <= MAX_PATH && dir[1] == L':') return utf8(dir, 2) + "\\";
    return "C:\\";
}

nlohmann::json windows_confinement(const std::string& root, const std::string& out_dir,
                                   const WindowsPrivileges& privileges) {
    (void)root;
    (void)out_dir;
    nlohmann::json j = {
        {"landlock", false},
        {"reason",
         "Windows has no Landlock or mount namespace: the scan is not confined by the system; "
         "every file and registry handle it opens on the audited host is read-only"},
        {"windows",
         {{"file_handles",
           "read-only (GENERIC_READ or FILE_READ_ATTRIBUTES), FILE_FLAG_BACKUP_SEMANTICS, "
           "FILE_FLAG_OPEN_REPARSE_POINT (reparse points recorded, never followed), sharing "
           "read|write|delete, sequential scan; remote-storage placeholders are not read"},
          {"registry_handles", "KEY_READ with KEY_WOW64_64KEY or KEY_WOW64_32KEY"},
          {"backup_privilege_enabled", privileges.backup},
          {"debug_privilege_enabled", privileges.debug}}}};
    // NTFS may update last-access times on read: recorded, never undone (undoing would write).
    DWORD value = 0, size = sizeof value, type = 0;
    HKEY key = nullptr;
    bool have = false;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SYSTEM\\CurrentControlSet\\Control\\FileSystem", 0,
                      KEY_READ | KEY_WOW64_64KEY, &key) == ERROR_SUCCESS) {
        have = RegQueryValueExW(key, L"NtfsDisableLastAccessUpdate", nullptr, &type,
                                reinterpret_cast<BYTE*>(&value), &size) == ERROR_SUCCESS &&
               type == REG_DWORD;
        RegCloseKey(key);
    }
    if (have)
        j["windows"]["ntfs_disable_last_access_update"] = value;
    else
        j["windows"]["ntfs_disable_last_access_update"] = nullptr;  // not set: unknown
    return j;
}

}  // namespace audit::scan_tool
#endif
