// Text decoding shared by the binary-format parsers (private to libaudit/src/sources).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace audit::text {

// Appends one code point as UTF-8; surrogates and values past U+10FFFF become U+FFFD.
void append_utf8(std::string& out, std::uint32_t code_point);
// Invalid UTF-8 (overlong, surrogates, truncated) becomes U+FFFD: values end up in JSON
// evidence, which must be valid UTF-8.
std::string clean_utf8(std::string_view s);
// UTF-16 code units (2 bytes each, the given byte order) to UTF-8; unpaired surrogates become
// U+FFFD; stops at the first NUL when stop_at_nul. An odd trailing byte is ignored.
std::string utf16_to_utf8(std::string_view bytes, bool big_endian, bool stop_at_nul = false);
// ISO 8859-1 bytes to UTF-8.
std::string latin1_to_utf8(std::string_view bytes);

}  // namespace audit::text
