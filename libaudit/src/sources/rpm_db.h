// Shared by rpm's header reader and its three database readers (rpm_header, rpm_sqlite, rpm_ndb,
// rpm_bdb; private to libaudit/src/sources): byte-order reads and the one way they refuse input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/error.h"

namespace audit::sources::rpmdb {

// Unchecked reads: the caller has checked that [at, at + width) lies inside s.
inline std::uint32_t byte_at(std::string_view s, std::size_t at) {
    return static_cast<unsigned char>(s[at]);
}
inline std::uint16_t be16(std::string_view s, std::size_t at) {
    return static_cast<std::uint16_t>(byte_at(s, at) << 8 | byte_at(s, at + 1));
}
inline std::uint16_t le16(std::string_view s, std::size_t at) {
    return static_cast<std::uint16_t>(byte_at(s, at + 1) << 8 | byte_at(s, at));
}
inline std::uint32_t be32(std::string_view s, std::size_t at) {
    return byte_at(s, at) << 24 | byte_at(s, at + 1) << 16 | byte_at(s, at + 2) << 8 |
           byte_at(s, at + 3);
}
inline std::uint32_t le32(std::string_view s, std::size_t at) {
    return byte_at(s, at + 3) << 24 | byte_at(s, at + 2) << 16 | byte_at(s, at + 1) << 8 |
           byte_at(s, at);
}

// Damaged or unsupported input: UsageError("FORMAT: why"); rpm.cpp puts the file's path before
// it and the scan reports the database as failed.
[[noreturn]] inline void bad(std::string_view format, const std::string& why) {
    throw UsageError(std::string(format) + ": " + why);
}

}  // namespace audit::sources::rpmdb
