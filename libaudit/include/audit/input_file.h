// Reading the small files a user names on the command line (trust roots, keys, certificates,
// manifests, state files) without being fooled by what the path really is.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace audit {

// At most max_bytes + 1 bytes of the regular file at path (one more than allowed, so the caller
// can tell "too large" and name its own limit). Never blocks on a FIFO or a device and never
// reads a directory: those throw UsageError ("PATH: WHAT is a directory, not a file").
// A file that cannot be opened or read throws IoError ("cannot read WHAT PATH: reason").
std::string read_input_file(const std::string& path, std::size_t max_bytes, std::string_view what);

// As read_input_file, but nullopt when nothing exists at path.
std::optional<std::string> read_input_file_if_exists(const std::string& path, std::size_t max_bytes,
                                                     std::string_view what);

}  // namespace audit
