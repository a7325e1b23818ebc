// Flatpak system installation: var/lib/flatpak/{app,runtime}/<id>/<arch>/<branch>/active, its
// metadata key file, the deployed commit (the "active" link) and the AppStream release version.
// The binary "deploy" GVariant is not parsed; per-user installations are not examined.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class FlatpakSource final : public BasicSource {
  public:
    std::string_view name() const override { return "flatpak"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// A GLib key file as "Section/key" -> value (comments and blank lines skipped; locale-suffixed
// keys kept as written). Throws UsageError on binary content or lines outside the syntax.
std::map<std::string, std::string> parse_keyfile(std::string_view text, std::string_view origin);

// The version of the first <release version="..."> of an AppStream metainfo document (bounded
// text scan, not a full XML parser); empty when there is none.
std::string appstream_release_version(std::string_view xml);

}  // namespace audit::sources
