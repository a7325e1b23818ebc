// audit-scan.exe only (the windows preset): what the scan tool asks of the running Windows.
#pragma once
#ifdef _WIN32

#include <string>

#include <nlohmann/json.hpp>

namespace audit::scan_tool {

// "C:\" (the drive of the Windows directory): the default --root, the live system.
std::string windows_system_drive();
// Which of the scan's privileges this process's own token could enable, before anything is read:
// SeBackupPrivilege (backup semantics read a file whatever its ACL) and SeDebugPrivilege
// (Windows 11 24H2 and later give EnumDeviceDrivers' caller the drivers' load addresses only
// with it; without them no loaded driver can be named). Both are held by an elevated
// administrator and disabled by default; a token that does not hold one leaves it false.
struct WindowsPrivileges {
    bool backup = false;
    bool debug = false;
};
WindowsPrivileges windows_enable_privileges();
// What stands for confinement on Windows (predicate sandbox): there is no Landlock and no
// mount namespace; what is recorded instead is how files are opened, which privileges were
// enabled (this process's token only), and the volume's last-access-update setting (a
// read-only handle can still make NTFS update last-access times; nothing is restored).
nlohmann::json windows_confinement(const std::string& root, const std::string& out_dir,
                                   const WindowsPrivileges& privileges);

}  // namespace audit::scan_tool

#endif
