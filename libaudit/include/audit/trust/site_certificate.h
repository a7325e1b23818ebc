// Site certificates: the trust root's root role delegates the signing of site summaries to one
// site inspector key, for one named site, within a validity window (as the kit role certifies
// a collector key per kit). A site summary carries its site's certificate.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::trust {

inline constexpr std::string_view kSiteCertificatePayloadType =
    "application/vnd.audit-toolkit.site-certificate+json";

struct SiteCertificate {
    std::string authority;  // the trust root's authority
    std::string site;       // 1-64 characters of A-Z a-z 0-9 - .
    crypto::PublicIdentity inspector;
    std::string not_before, not_after;  // RFC 3339 UTC
    std::string issued;
    std::vector<std::string> issuers;  // filled in by verification (root keys)

    nlohmann::json to_payload_json() const;
    static SiteCertificate from_payload_json(const nlohmann::json& j);  // throws VerifyError
};

// Whether a site name is acceptable (1-64 characters of A-Z a-z 0-9 - .).
bool valid_site_name(std::string_view site);

// A signed site certificate (DSSE envelope JSON text) by one root key. Throws UsageError when the
// issuer is not a root key, the site name or window is malformed, the window outlives the trust
// root or the policy refuses the site key.
std::string issue_site_certificate(const TrustRoot& trust, const crypto::SigningKey& issuer,
                                   const crypto::PublicIdentity& inspector, const std::string& site,
                                   const std::string& not_before, const std::string& not_after);

// Verify a site certificate against trust: a threshold of the root role signed it (none
// revoked), for this authority; the site key is allowed by the policy and not revoked. The
// window is not checked here (the caller knows the time the key signed). Throws VerifyError.
SiteCertificate verify_site_certificate(const TrustRoot& trust, std::string_view envelope_json);

}  // namespace audit::trust
