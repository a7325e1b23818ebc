// The loaded kernel drivers of a running Windows (EnumDeviceDrivers, GetDeviceDriverFileNameW,
// GetDeviceDriverBaseNameW; read by the live source on Windows, sources/live_win.cpp), turned into
// inventory items here. Portable, so that the mapping and the recording are unit-tested on Linux
// with injected lists: Wine 8 answers EnumDeviceDrivers with success and an empty list.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/inventory.h"

namespace audit::sources::windows_live {

// What the kernel reported for one loaded driver; an error names the call that failed for it.
struct LoadedDriver {
    std::string file;  // GetDeviceDriverFileNameW: "\SystemRoot\system32\drivers\klif.sys", ...
    std::string base;  // GetDeviceDriverBaseNameW: "klif.sys"
    std::string error;
};

struct DriverList {
    bool listed = false;  // EnumDeviceDrivers succeeded
    std::string error;    // why it did not
    std::vector<LoadedDriver> drivers;
    std::string wine;  // Wine's version when running under Wine (ntdll's wine_get_version)
};

// The file of a loaded driver as a Windows path: "\SystemRoot\X" and "System32\X" below the
// Windows directory, "\??\C:\X" and "\\?\C:\X" as "C:\X", "\X" on the Windows directory's drive,
// "C:\X" as is. "" when it names no file this way (a "\Device\..." path, a bare name).
std::string driver_file_path(std::string_view reported, std::string_view windows_dir);

// A file's digest as the live source records it: sha256 and size, or the error.
struct DriverFile {
    std::string sha256, error;
    std::uint64_t size = 0;
};

// Items (ecosystem "kmod", state "loaded", extra.windows_driver) for the list; failures for a
// list that could not be read, a driver whose name could not be read, and an empty list (no
// Windows kernel runs without drivers; under Wine an empty list is a warning naming Wine).
// hash: the file's digest, called once per resolved path.
void loaded_driver_items(const DriverList& list, std::string_view windows_dir,
                         const std::function<DriverFile(const std::string&)>& hash,
                         std::vector<InventoryItem>& items, std::vector<std::string>& warnings,
                         std::vector<std::string>& failures);

}  // namespace audit::sources::windows_live
