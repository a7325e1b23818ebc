// Bounded in-memory decompression of xz, zstd and gzip data (kernel modules, ...).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace audit::sources {

enum class Codec { none, xz, zstd, gzip };

// The codec named by the data's magic bytes (none when it has no known magic).
Codec sniff_codec(std::string_view data);

// Decompress all of data. Throws UsageError when the data is corrupt or truncated, or when
// the output would exceed max_out bytes (a decompression bomb never allocates more).
std::string decompress(std::string_view data, Codec codec, std::size_t max_out);

}  // namespace audit::sources
