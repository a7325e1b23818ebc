// Python distributions: *.dist-info/METADATA and *.egg-info/PKG-INFO (or an .egg-info file) in
// the site directories of usr/lib, usr/lib64 and usr/local/lib.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class PythonSource final : public BasicSource {
  public:
    std::string_view name() const override { return "python"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Parse the header of a core-metadata file (METADATA / PKG-INFO, RFC 822 style; the body after
// the first blank line is the description and ignored). Throws UsageError without Name/Version
// or on binary junk.
InventoryItem parse_python_metadata(std::string_view text, std::string_view origin);

}  // namespace audit::sources
