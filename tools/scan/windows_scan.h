// audit-scan.exe only (the windows preset): what the scan tool asks of the running Windows.
#pragma once
#ifdef _WIN32

#include <string>

#include <nlohmann/json.hpp>

namespace audit::scan_tool {

// "C:\" (the drive of the Windows directory): the default --root, the live system.
std::string windows_system_drive();
// What stands for confinement on Windows (predicate sandbox): there is no Landlock and no
// mount namespace; what is recorded instead is how files are opened, whether SeBackupPrivilege
// could be enabled (this process's token only), and the volume's last-access-update setting
// (a read-only handle can still make NTFS update last-access times; nothing is restored).
nlohmann::json windows_confinement(const std::string& root, const std::string& out_dir);

}  // namespace audit::scan_tool

#endif
