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

// As read_input_file, but a file larger than max_bytes is an error, never a truncated read: it
// throws TooLarge(path + too_large), TooLarge being the caller's error type (UsageError,
// VerifyError) and too_large the rest of its message (": file is too large").
template <typename TooLarge>
std::string read_input_file_within(const std::string& path, std::size_t max_bytes,
                                   std::string_view what, std::string_view too_large) {
    std::string data = read_input_file(path, max_bytes, what);
    if (data.size() > max_bytes) throw TooLarge(path + std::string(too_large));
    return data;
}

}  // namespace audit
