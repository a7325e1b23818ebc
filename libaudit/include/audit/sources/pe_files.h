// PE files of a Windows root (Program Files, ProgramData, System32\drivers): one inventory item
// per executable with a version resource or an Authenticode signature, so a renamed binary is
// still found by its signer or its CompanyName/ProductName.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class PeFileSource final : public BasicSource {
  public:
    std::string_view name() const override { return "pe-files"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// A Windows root has Windows/System32/config (any letter case, as NTFS mounts keep it).
bool is_windows_root(const fs::Root& root);

// The root-relative path ("/Program Files/...") of rel with each component matched
// case-insensitively (ASCII), an exact match preferred; nullopt when a component is missing.
std::optional<std::string> find_case_insensitive(const fs::Root& root, std::string_view rel);

}  // namespace audit::sources
