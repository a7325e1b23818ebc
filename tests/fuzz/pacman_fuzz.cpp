// pacman's local database: the same bytes as a "desc" and as a "files" file.
#include "audit/sources/pacman.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(pacman) {
    audit::InventoryItem item;
    audit::fuzz::expect_typed_errors(
        [&] { item = audit::sources::parse_pacman_desc(data, "desc"); });
    audit::fuzz::expect_typed_errors(
        [&] { audit::sources::parse_pacman_files(data, "files", item); });
}
