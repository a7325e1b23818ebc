// Hexadecimal text and the SHA-2 digests the toolkit names files and statements by: the one place
// that spells them. Lowercase everywhere, as the evidence formats require.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace audit::core {

// Lowercase hex of bytes.
std::string hex_encode(std::string_view bytes);
// The bytes of hex text (either case, even length); nullopt when it is not hex.
std::optional<std::string> hex_decode(std::string_view text);
// Only 0-9 a-f (lowercase), and exactly length characters unless length is npos.
bool is_lower_hex(std::string_view s, std::size_t length = std::string_view::npos);
// Only 0-9 a-f A-F (an empty string is hex).
bool is_hex(std::string_view s);

// Lowercase hex SHA-256 / SHA-384 of bytes.
std::string sha256_hex(std::string_view bytes);
std::string sha384_hex(std::string_view bytes);

}  // namespace audit::core
