// Alpine's apk-tools database: lib/apk/db/installed (the same "X:value" stanzas as APKINDEX).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class ApkSource final : public BasicSource {
  public:
    std::string_view name() const override { return "apk"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Parse the installed database (bounded). Stanzas without P:/V: are reported in warnings; text
// that yields no package but has content throws UsageError.
std::vector<InventoryItem> parse_apk_installed(std::string_view text, std::string_view origin,
                                               std::vector<std::string>& warnings);

}  // namespace audit::sources
