// Kernel modules installed under lib/modules/<kernel>/ and usr/lib/modules/<kernel>/: the
// .modinfo section of each .ko, .ko.xz, .ko.zst and .ko.gz (bounded decompression).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class KmodSource final : public BasicSource {
  public:
    std::string_view name() const override { return "kmod"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// The key=value strings of an ELF object's .modinfo section, in order (ELF32/ELF64, either byte
// order; every offset checked). Throws UsageError when the bytes are not a well-formed ELF file
// or have no .modinfo section.
std::vector<std::pair<std::string, std::string>> parse_modinfo(std::string_view elf);

// A module file's bytes, decompressed by its magic (xz, zstd, gzip or plain), bounded.
std::string module_bytes(std::string_view file);

}  // namespace audit::sources
