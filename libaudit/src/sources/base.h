// What every source shares (private to libaudit/src/sources).
#pragma once

#include <cstddef>
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

}  // namespace audit::sources
