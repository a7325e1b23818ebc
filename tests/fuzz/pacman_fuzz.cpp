// pacman's local database: the same bytes as a "desc" and as a "files" file.
#include "audit/sources/pacman.h"
#include "fuzz.h"

namespace pacman_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(pacman) {
    audit::InventoryItem item;
    audit::fuzz::expect_typed_errors(
        [&] { item = audit::sources::parse_pacman_desc(data, "desc"); });
    audit::fuzz::expect_typed_errors(
        [&] { audit::sources::parse_pacman_files(data, "files", item); });
}

}  // namespace pacman_fuzz_cases
