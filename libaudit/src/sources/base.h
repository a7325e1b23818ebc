// What every source shares (private to libaudit/src/sources).
#pragma once

#include <string>
#include <string_view>

#include "audit/sources/source.h"

namespace audit::sources {

// A report with the source's name and ecosystem filled in.
inline SourceReport report_for(const Source& s) {
    SourceReport r;
    r.name = std::string(s.name());
    r.ecosystem = std::string(s.ecosystem());
    return r;
}

// A package database the caller found missing (read_file/list_dir gave nullopt) is absent only
// when every component of its path is cleanly missing. Throws IoError when a component exists
// but does not lead where it should: a symbolic link whose target is not inside the root, a
// file where a directory belongs, an entry that cannot be opened. last_is_dir: whether the
// database itself is a directory.
void require_absent(const fs::Root& root, std::string_view rel, bool last_is_dir);

}  // namespace audit::sources
