// A Windows system disk mounted read-only (detected from Windows/System32/config): the registry
// hives SOFTWARE, SYSTEM and each user's NTUSER.DAT, read with the regf parser. Three sources,
// one per hive kind, so that coverage says which hive ran, was absent or failed:
//   windows-software  SOFTWARE: Uninstall entries (native and WOW6432Node views), MSI products
//                     (Classes\Installer\Products), vendor keys (SOFTWARE\<vendor>[\<product>])
//   windows-system    SYSTEM: services and drivers of the current control set (Select\Current)
//   windows-users     Users/*/NTUSER.DAT: per-user Uninstall entries, MSI products, vendor keys
// Item ecosystems: "windows-uninstall", "msi", "windows-service", "windows-registry". Each item
// names its registry key in extra["registry_key"] ("HKLM\SOFTWARE\...", "HKU\<profile>\...").
// The mounted disk is taken as drive C: when registry paths are turned into root paths. Finding
// and loading the hives is host/windows_registry.h's (host identification reads them too).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/formats/regf.h"
#include "audit/sources/source.h"

namespace audit::sources {

class WindowsSoftwareSource final : public BasicSource {
  public:
    std::string_view name() const override { return "windows-software"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

class WindowsSystemSource final : public BasicSource {
  public:
    std::string_view name() const override { return "windows-system"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

class WindowsUserSource final : public BasicSource {
  public:
    std::string_view name() const override { return "windows-users"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// The pieces, over parsed hives (pure; exposed for tests). origin is the hive's root path,
// key_prefix the hive's mount point ("HKLM\\SOFTWARE", "HKU\\alice"). A damaged record throws
// regf::HiveError; the callers count it.
void read_uninstall(const regf::Hive& hive, std::string_view subpath, const std::string& key_prefix,
                    const std::string& origin, const std::string& view,
                    std::vector<InventoryItem>& out, std::vector<std::string>& warnings);
void read_msi_products(const regf::Hive& hive, std::string_view subpath,
                       const std::string& key_prefix, const std::string& origin,
                       std::vector<InventoryItem>& out, std::vector<std::string>& warnings);
// Services of the current control set; returns the control set's key name ("ControlSet001").
std::string read_services(const regf::Hive& system, const std::string& origin,
                          std::vector<InventoryItem>& out, std::vector<std::string>& warnings);
// Vendor keys: subpath\<vendor> and subpath\<vendor>\<product>, except Classes, Microsoft and
// WOW6432Node (those hold other vendors' data or are a view of their own).
void read_vendor_keys(const regf::Hive& hive, std::string_view subpath,
                      const std::string& key_prefix, const std::string& origin,
                      std::vector<InventoryItem>& out, std::vector<std::string>& warnings);

// A packed MSI product code (32 hex digits, the GUID's fields reversed) as "{XXXXXXXX-...}";
// "" when malformed.
std::string unpack_msi_guid(std::string_view packed);
// A Windows path from the registry (ImagePath, InstallLocation: quoted, with arguments,
// \SystemRoot\, %SystemRoot%, \??\C:\, System32\...) as a root path on the system drive
// ("/Windows/System32/drivers/klif.sys"); "" when it is elsewhere or not a path.
std::string windows_path_to_root(std::string_view path);
// On a live Windows root (audit-scan.exe on the running system) every fixed drive is walked:
// other_drives maps a path on drive X: other than system_drive ("C") to "/X:/..." (a root path
// whose first segment names the drive: core/drive_path.h), and the system drive's paths to "/...".
// Without other_drives (an offline disk, taken as drive C:) other drives give "".
std::string windows_path_to_root(std::string_view path, std::string_view system_drive,
                                 bool other_drives);

}  // namespace audit::sources
