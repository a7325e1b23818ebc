// Reading a Windows system disk's registry hives from a mounted root: case-insensitive path
// lookup (NTFS keeps case but ignores it), hive loading with transaction logs, the current
// control set, and the identity facts the hives hold. Used by host identification and by the
// Windows sources (sources/windows.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/formats/regf.h"
#include "audit/fs/root.h"

namespace audit::host {

// Where a Windows root keeps its hives (root-relative).
inline constexpr std::string_view kWindowsConfigDir = "Windows/System32/config";

// Finds a root-relative path whose components match rel's case-insensitively (NTFS keeps case
// but ignores it; a mount shows the recorded case). An exact match is preferred. Directory
// listings are cached for the resolver's lifetime. Returns "/A/b/C" or nullopt.
class CaseInsensitivePaths {
  public:
    explicit CaseInsensitivePaths(const fs::Root& root) : root_(root) {}
    std::optional<std::string> find(std::string_view rel);

  private:
    const fs::Root& root_;
    std::map<std::string, std::optional<std::vector<std::string>>> listings_;
};

// A hive with its logs.
struct LoadedHive {
    std::optional<regf::Hive> hive;
    std::string origin;  // "/Windows/System32/config/SOFTWARE"
    std::string error;   // why it could not be opened
};
// The hive at rel (found case-insensitively) with its .LOG1/.LOG2 transaction logs; no hive and
// no error when it is missing, no hive and an error when it could not be read or parsed.
LoadedHive load_hive(const fs::Root& root, CaseInsensitivePaths& paths, const std::string& rel);

// Registry text ends up in reports: printable (no control characters, no DEL), bounded.
std::string registry_text(std::string_view s, std::size_t max = 1024);
// A string value of key as registry_text; "" when missing or not a string.
std::string string_value(const regf::Hive& hive, const regf::Key& key, std::string_view name);
// A number value of key; nullopt when missing or not a number.
std::optional<std::uint64_t> number_value(const regf::Hive& hive, const regf::Key& key,
                                          std::string_view name);

// The current control set ("ControlSet001") from SYSTEM's Select\Current; nullopt if unset.
std::optional<std::string> current_control_set(const regf::Hive& system);

// What the hives say about the host; empty fields where they say nothing.
struct WindowsIdentity {
    std::string machine_guid;   // SOFTWARE Microsoft\Cryptography\MachineGuid, lower case
    std::string computer_name;  // SYSTEM <current control set>\Control\ComputerName\ComputerName
    std::string product_name, display_version, build;  // SOFTWARE ...\Windows NT\CurrentVersion
    // The machine (account domain) SID "S-1-5-21-a-b-c": SAM SAM\Domains\Account value V (its
    // last 12 bytes are the three sub-authorities), else SECURITY Policy\PolAcDmS.
    std::string machine_sid;
};
// "S-1-5-21-a-b-c" from a SAM Domains\Account V value (its last 12 bytes); "" when too short.
std::string machine_sid_from_v(std::string_view v);
// A binary SID (revision 1) as text, "" when malformed.
std::string sid_to_string(std::string_view sid);
// nullopt when the root has no Windows/System32/config directory.
std::optional<WindowsIdentity> windows_identity(const fs::Root& root);

}  // namespace audit::host
