#include "audit/sources/windows_live_drivers.h"

#include <algorithm>
#include <map>

#include "audit/core/ascii.h"
#include "audit/sources/windows.h"
#include "formats/text.h"

namespace audit::sources::windows_live {

namespace {

bool drivers_starts_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           core::ascii_lower(s.substr(0, prefix.size())) == core::ascii_lower(prefix);
}

bool drivers_is_drive(std::string_view s) {
    return s.size() >= 3 && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
           s[1] == ':' && s[2] == '\\';
}

}  // namespace

std::string driver_file_path(std::string_view r, std::string_view windows_dir) {
    std::string dir(windows_dir);
    while (!dir.empty() && dir.back() == '\\') dir.pop_back();
    if (drivers_starts_ci(r, "\\SystemRoot\\"))
        return dir + std::string(r.substr(11));  // keeps its "\"
    if (drivers_starts_ci(r, "System32\\")) return dir + "\\" + std::string(r);
    if (drivers_starts_ci(r, "\\??\\") || drivers_starts_ci(r, "\\\\?\\")) {
        r.remove_prefix(4);
        return drivers_is_drive(r) ? std::string(r) : std::string();
    }
    if (drivers_is_drive(r)) return std::string(r);
    // "\Windows\...": on the system drive. "\Device\...", "\\server\...": not a drive path.
    if (r.size() > 1 && r[0] == '\\' && r[1] != '\\' && !drivers_starts_ci(r, "\\Device\\") &&
        drivers_is_drive(dir))
        return dir.substr(0, 2) + std::string(r);
    return {};
}

void loaded_driver_items(const DriverList& list, std::string_view windows_dir,
                         const std::function<DriverFile(const std::string&)>& hash,
                         std::vector<InventoryItem>& items, std::vector<std::string>& warnings,
                         std::vector<std::string>& failures) {
    if (!list.listed) {
        failures.push_back("cannot list the loaded drivers (EnumDeviceDrivers): " + list.error);
        return;
    }
    if (list.drivers.empty()) {
        if (list.wine.empty())
            failures.push_back(
                "EnumDeviceDrivers listed no loaded driver: a Windows kernel always has some, so "
                "the list is not believed (loaded drivers not examined)");
        else
            text::warn(warnings, "wine: Wine " + list.wine +
                                     " lists no loaded driver (EnumDeviceDrivers: it runs no "
                                     "kernel drivers); loaded drivers not examined");
        return;
    }
    std::map<std::string, DriverFile> hashed;  // one digest per file
    std::size_t unresolved = 0;
    for (const auto& d : list.drivers) {
        if (d.base.empty()) {
            failures.push_back("a loaded driver's name cannot be read" +
                               (d.error.empty() ? std::string() : ": " + d.error) +
                               (d.file.empty() ? std::string() : " (file " + d.file + ")"));
            continue;
        }
        InventoryItem item;
        item.ecosystem = "kmod";
        const auto dot = d.base.rfind('.');
        item.name = dot != std::string::npos && dot > 0 ? d.base.substr(0, dot) : d.base;
        item.state = "loaded";
        item.source = "loaded-driver:" + d.base;
        item.extra["live"] = true;
        item.extra["windows_driver"] = true;
        item.extra["base_name"] = d.base;
        if (!d.file.empty()) item.extra["reported_path"] = d.file;
        const std::string path = driver_file_path(d.file, windows_dir);
        if (path.empty()) {
            ++unresolved;
            item.extra["error"] = d.file.empty() ? "file name not readable: " + d.error
                                                 : "file path not resolved: " + d.file;
        } else {
            item.extra["image_path"] = path;
            auto it = hashed.find(path);
            if (it == hashed.end()) it = hashed.emplace(path, hash(path)).first;
            if (!it->second.sha256.empty()) {
                item.extra["sha256"] = it->second.sha256;
                item.extra["size"] = it->second.size;
            } else {
                item.extra["error"] = it->second.error;
            }
            // Every fixed drive is walked on a live root: a driver on D: is "/D:/...".
            if (auto rel = windows_path_to_root(path, windows_dir.substr(0, 1), true); !rel.empty())
                item.paths.push_back(rel);
        }
        items.push_back(std::move(item));
    }
    if (unresolved)
        text::warn(warnings, std::to_string(unresolved) +
                                 " loaded driver file(s) without a drive path (named, not hashed)");
}

}  // namespace audit::sources::windows_live
