// Global npm packages: usr/lib/node_modules/<name>/package.json and usr/local/lib/node_modules
// (scoped packages as @scope/<name>); their own dependencies are not listed.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class NpmSource final : public BasicSource {
  public:
    std::string_view name() const override { return "npm"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Parse a package.json (bounded size and nesting). Throws UsageError when it is not a JSON
// object with a string "name".
InventoryItem parse_package_json(std::string_view text, std::string_view origin);

}  // namespace audit::sources
