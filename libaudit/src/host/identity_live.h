// Windows only: the running Windows system's identity and the scanning account, read through the
// Win32 API (host/identity_live_win.cpp) when audit-scan.exe scans the drive it runs from.
#pragma once
#ifdef _WIN32

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/host/identity.h"

namespace audit::host {

// MachineGuid, ComputerName, machine SID, OS version and build, SMBIOS system UUID and serial
// (GetSystemFirmwareTable 'RSMB'; left empty when unavailable, with the reason in notes). Never
// invented: a field that cannot be read stays empty.
void identify_live_windows(HostIdentity& id, std::vector<std::string>& notes);
// The drives a live scan walks: the system drive first ("C:"), then every other fixed drive
// (GetLogicalDrives, GetDriveTypeW == DRIVE_FIXED) in letter order.
std::vector<std::string> windows_fixed_drives();
// Who scans: account name, elevation, whether SeBackupPrivilege is enabled (scan.user).
nlohmann::json windows_scan_user();

}  // namespace audit::host

#endif
