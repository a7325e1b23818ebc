// Debian's dpkg database: var/lib/dpkg/status, info/<pkg>.list and info/<pkg>.md5sums.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class DpkgSource final : public BasicSource {
  public:
    std::string_view name() const override { return "dpkg"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Parse the bytes of a dpkg status file (bounded; exposed for tests and fuzzing). Malformed
// stanzas are reported in warnings; a file that is not a status file at all throws UsageError.
std::vector<InventoryItem> parse_dpkg_status(std::string_view text, std::string_view origin,
                                             std::vector<std::string>& warnings);

}  // namespace audit::sources
