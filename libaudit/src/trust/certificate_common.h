// What collector and site certificates share: the name rule, the checks of a validity window
// before issuing, a payload's time fields, and the signed envelope (private to src/trust).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::trust::certificate_common {

// 1-64 characters of A-Z a-z 0-9 - . (a kit id, a site name).
bool valid_name(std::string_view name);

// Throws UsageError unless [not_before, not_after] is a window of two RFC 3339 UTC times, the
// second later, inside the trust root's own lifetime.
void check_issue_window(const TrustRoot& trust, const std::string& not_before,
                        const std::string& not_after);

// The RFC 3339 UTC time at j[key]; throws VerifyError "<what>: "key" must be ..." otherwise.
const std::string& time_field(const nlohmann::json& j, const char* key, std::string_view what);

// The DSSE envelope of payload (type payload_type) signed by issuer, as certificate text.
std::string sign(const crypto::SigningKey& issuer, std::string_view payload_type,
                 const nlohmann::json& payload);

}  // namespace audit::trust::certificate_common
