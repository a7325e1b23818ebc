// Windows only: the running system read through the Win32 API (sources/windows_live_win.cpp),
// when audit-scan.exe scans the system drive of the Windows it runs on (Root::is_live()). The
// three Windows sources (windows.h) then read the live registry and the Service Control Manager
// instead of hive files (which the running kernel holds open), with the same item shapes:
//   windows-software  HKLM\SOFTWARE Uninstall (64-bit view, and the 32-bit view reported as
//                     HKLM\SOFTWARE\WOW6432Node\...), Classes\Installer\Products with their
//                     InstallProperties, vendor keys of both views
//   windows-system    every service and driver the SCM knows (EnumServicesStatusExW,
//                     QueryServiceConfigW): state, start type, binary path
//   windows-users     every hive loaded under HKEY_USERS (Uninstall of both key paths, Installer
//                     Products, vendor keys); a profile of ProfileList whose hive is not loaded
//                     is read from its NTUSER.DAT with the regf parser
// Every key is opened with KEY_READ (and a view flag) only. Anything that exists but cannot be
// read is a failure (the source is then `failed`, coverage insufficient), never skipped.
#pragma once
#ifdef _WIN32

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/fs/root.h"
#include "audit/inventory.h"
#include "audit/sources/source.h"

namespace audit::sources::windows_live {

struct Result {
    std::vector<InventoryItem> items;
    std::vector<std::string> warnings, failures;
};
Result software();
Result services();
Result users(const fs::Root& root);
// A live Result into the source's Collection (found; its items, failures and warnings).
void read_into(Collection& c, Result r);

// The user hives of the running system: the SIDs loaded under HKEY_USERS, and the profiles of
// ProfileList whose hive is not loaded, with their NTUSER.DAT relative to the live root (read
// with the regf parser). What cannot be read (HKEY_USERS, ProfileList, a profile off the
// scanned drive) is in failures. Used by windows-users and by trust-store.
struct UserHives {
    struct Unloaded {
        std::string sid, ntuser;
    };
    std::vector<std::string> loaded;
    std::vector<Unloaded> unloaded;
    std::vector<std::string> failures;
};
UserHives user_hives();

// The certificate stores below HKLM\SOFTWARE\<subpath> (sid "") or HKU\<sid>\<subpath>, 64-bit
// view (the trust-store source on a live root, where the running kernel holds the hive files
// open): fn(store, key, Blob) for every <store>\Certificates\<key>, Blob nullopt when the key has
// none. False when subpath does not exist. Throws Error when a key that exists cannot be read, a
// Blob is over 1 MiB, or there are more than max_stores stores or max_entries entries.
bool certificate_stores(const std::string& sid, const std::string& subpath, std::size_t max_stores,
                        std::size_t max_entries,
                        const std::function<void(const std::string& store, const std::string& key,
                                                 const std::optional<std::string>& blob)>& fn);

}  // namespace audit::sources::windows_live

#endif
