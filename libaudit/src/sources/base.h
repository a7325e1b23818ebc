// What every source shares (private to libaudit/src/sources).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/host/windows_registry.h"
#include "audit/sources/source.h"

namespace audit::sources {

// A report with the source's name and ecosystem filled in from its catalog entry (and the
// ecosystems it covers, for a source whose entry says its report lists them).
SourceReport report_for(const Source& s);

// A package database the caller found missing (read_file/list_dir gave nullopt) is absent only
// when every component of its path is cleanly missing. Throws IoError when a component exists
// but does not lead where it should: a symbolic link whose target is not inside the root, a
// file where a directory belongs, an entry that cannot be opened. last_is_dir: whether the
// database itself is a directory.
void require_absent(const fs::Root& root, std::string_view rel, bool last_is_dir);

// The distribution's ID from the root's os-release, as package sources record it on their items
// (extra.distro, the purl namespace): lower-cased, then 1 to 32 of [a-z0-9._-]; fallback when
// the root has none or it is anything else.
std::string distro_id(const fs::Root& root, std::string_view fallback = {});

// A loaded hive's state: what recovery noted becomes warnings (a dirty hive recovered from its
// logs says so); a dirty hive its logs could not make consistent is a failure, since the
// inventory read from it is incomplete.
void hive_state(const host::LoadedHive& h, std::vector<std::string>& warnings,
                std::vector<std::string>& failures);

// Each user's NTUSER.DAT under the Windows root's Users folder (at most 10000 entries there, else
// IoError), loaded; fn(user, hive) for each loaded one. A hive that exists but cannot be loaded
// is a failure, never skipped. Returns how many users have an NTUSER.DAT.
std::size_t for_each_user_hive(
    const fs::Root& root, host::CaseInsensitivePaths& paths, std::vector<std::string>& failures,
    const std::function<void(const std::string& user, const host::LoadedHive& hive)>& fn);

// Files below dirs recognised by their first bytes, each read whole and handed to `parse` (an
// Error from parse: a malformed file, warned). For the sources that look inside executables
// (pe-files, macho-files); parse's errors should name the file. What could not be examined is a
// failure of the source, never a silent skip: a directory or file the walk could not read, a file
// that cannot be opened for its first bytes (one that vanished in between excepted), stopping at
// max_files or max_total_bytes, and a file over max_file_bytes when too_big_fails (else a warning).
// Warns one summary line ("N <kind> files parsed, ...").
struct MagicScan {
    std::string kind;  // "PE", "Mach-O": in messages
    std::size_t head_bytes = 4;
    bool (*magic)(std::string_view head) = nullptr;
    std::uint64_t min_size = 0;
    std::size_t max_files = 0;
    std::uint64_t max_file_bytes = 0, max_total_bytes = 0;
    bool too_big_fails = true;
};
void scan_by_magic(
    const fs::Root& root, const std::vector<std::string>& dirs, const MagicScan& m, Collection& c,
    const std::function<void(const std::string& path, const std::string& data)>& parse);

}  // namespace audit::sources
