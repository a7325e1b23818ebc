// systemd units: unit files in the system unit directories (etc, run, usr/local/lib, usr/lib,
// lib), what they run (Exec* paths) and whether they are enabled, masked or only linked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class SystemdSource final : public BasicSource {
  public:
    std::string_view name() const override { return "systemd"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// What a unit file says (the subset the inventory needs).
struct UnitFile {
    std::string description;
    std::vector<std::string> exec;  // absolute program paths of ExecStart=, ExecStartPre=, ...
    std::vector<std::string> wanted_by, required_by, also, aliases;  // [Install]
};

// Parse a unit file (INI style, backslash continuations, # and ; comments). Throws UsageError
// on binary junk, overlong lines or lines that are neither sections, settings nor comments.
UnitFile parse_unit_file(std::string_view text, std::string_view origin);

}  // namespace audit::sources
