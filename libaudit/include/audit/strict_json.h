// One strict JSON reader for every signed document (DSSE envelopes, statements, trust roots,
// certificates, kit manifests, chain heads): a duplicate key in any object is refused, because
// parsers disagree on which of two values wins ("last" here, "first" in others) and a signature
// must mean one thing to every reader. Nesting is bounded, so the parse is bounded too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace audit {

inline constexpr int kMaxSignedJsonDepth = 64;

// Parses text as one JSON value (RFC 8259, UTF-8; nothing but whitespace after it). Throws
// VerifyError "WHAT: ..." when the text is not JSON, nests deeper than max_depth, or an object
// holds one key twice (compared after unescaping, so "a" and "\u0061" are the same key).
nlohmann::json parse_json_strict(std::string_view text, std::string_view what,
                                 int max_depth = kMaxSignedJsonDepth);

}  // namespace audit
