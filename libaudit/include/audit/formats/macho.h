// Mach-O code signatures read from bytes: the embedded signature's CodeDirectory identifier and
// Team ID (Apple's published layouts: mach-o/loader.h, mach-o/fat.h, cs_blobs.h). Bounded; every
// malformed input is refused with audit::UsageError. The CMS signer of the signature slot is not
// read (yet).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace audit::macho {

// One architecture slice of a (possibly universal) Mach-O file.
struct Slice {
    std::string cpu;         // "x86_64", "arm64", ... or "cputype:N"
    bool signed_ = false;    // an LC_CODE_SIGNATURE with an embedded-signature SuperBlob
    std::string identifier;  // the CodeDirectory's identifier ("com.kaspersky.kav")
    std::string team_id;     // the CodeDirectory's team id ("2Y8XE5CQ94"); "" when none
};

// True when the bytes start like a Mach-O or universal (fat) file.
bool looks_like_macho(std::string_view head);

// The slices of a Mach-O file. The Team ID comes from the CodeDirectory that the
// LC_CODE_SIGNATURE load command points at, and from nowhere else: the same string elsewhere in
// the file means nothing. Throws UsageError (what was malformed) on anything out of bounds.
std::vector<Slice> parse(std::string_view file);

}  // namespace audit::macho
