// Arch Linux's pacman (libalpm) local database: var/lib/pacman/local/<name>-<ver>/desc, files.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class PacmanSource final : public BasicSource {
  public:
    std::string_view name() const override { return "pacman"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Parse a local database "desc" file ("%NAME%" headers, one value a line, blank line ends a
// block). Throws UsageError when it is not one (no %NAME%/%VERSION%, junk outside blocks).
InventoryItem parse_pacman_desc(std::string_view text, std::string_view origin);

// Add the %FILES% of a "files" file to item.paths (directories, ending in '/', are skipped).
// Throws UsageError on malformed input.
void parse_pacman_files(std::string_view text, std::string_view origin, InventoryItem& item);

}  // namespace audit::sources
