// Snaps: var/lib/snapd/state.json (what snapd has installed: names, revisions, active) and the
// mounted snap/<name>/<revision>/meta/snap.yaml (version, summary), when mounted.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class SnapSource final : public BasicSource {
  public:
    std::string_view name() const override { return "snap"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// The top-level scalar keys of a snap.yaml: a bounded YAML subset (plain, 'single' and
// "double" quoted scalars; nested blocks, lists and block scalars are skipped). Throws
// UsageError on binary content, an overlong file, a malformed line or no "name".
std::map<std::string, std::string> parse_snap_yaml(std::string_view text, std::string_view origin);

// The snaps listed in snapd's state.json: one item per snap (name, revision, active, type,
// channel). Throws UsageError when it is not a snapd state document.
std::vector<InventoryItem> parse_snapd_state(std::string_view text, std::string_view origin);

}  // namespace audit::sources
