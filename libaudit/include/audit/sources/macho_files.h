// Mach-O executables of a macOS root (Applications, Library/Application Support, extensions,
// privileged helpers): one inventory item per code-signed file, with the CodeDirectory's
// identifier and Team ID, so a renamed app is still found by the developer that signed it.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

// Ecosystem "macho": name = file name, extra.team_ids / extra.identifiers from the embedded code
// signature of every slice (formats/macho.h). A file with no signature is not an item.
class MachoFileSource final : public BasicSource {
  public:
    std::string_view name() const override { return "macho-files"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

}  // namespace audit::sources
