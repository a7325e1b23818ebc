// Collector certificates: the kit (or root) role delegates bundle signing to one collector key,
// for one kit id, within a validity window. Every bundle carries its collector's certificate.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::trust {

inline constexpr std::string_view kCertificatePayloadType =
    "application/vnd.audit-toolkit.collector-certificate+json";

struct CollectorCertificate {
    std::string authority;  // the trust root's authority
    std::string kit_id;
    crypto::PublicIdentity collector;
    std::string not_before, not_after;  // RFC 3339 UTC
    std::string issued;
    // Filled in by verification: who signed it and under which role ("kit" or "root").
    std::vector<std::string> issuers;
    std::string issuer_role;

    nlohmann::json to_payload_json() const;
    static CollectorCertificate from_payload_json(const nlohmann::json& j);  // throws VerifyError
};

// A signed certificate (DSSE envelope JSON text). The issuer must be a key of the kit or root role
// of trust; the window must lie inside the trust root's validity. Throws UsageError otherwise.
std::string issue_certificate(const TrustRoot& trust, const crypto::SigningKey& issuer,
                              const crypto::PublicIdentity& collector, const std::string& kit_id,
                              const std::string& not_before, const std::string& not_after);

// Verify a certificate envelope against trust: a threshold of the kit role (or of the root role)
// signed it, none of them revoked, for this authority; the collector key is allowed by the policy,
// not revoked and, when the collector role lists keys, one of them. Throws VerifyError.
CollectorCertificate verify_certificate(const TrustRoot& trust, std::string_view envelope_json);

// verify_certificate with a memory, for the many bundles of a kit that carry the same
// certificate. A result is reused only for the same input: the exact certificate text and a trust
// root equal in every field verify_certificate reads (the SHA-256 of its canonical payload:
// authority, keys, roles, revocations, policy, version, expiry). verify_certificate reads no clock,
// so nothing else changes its answer. A refusal is remembered as that refusal (the same
// VerifyError), never as a good result; other errors are not remembered. Thread-safe; bounded
// (forgets everything when full).
class CertificateCache {
  public:
    explicit CertificateCache(std::size_t max_entries = 256) : max_entries_(max_entries) {}
    CollectorCertificate verify(const TrustRoot& trust, const std::string& envelope_json);
    // How many times this cache ran verify_certificate (a test hook; each call checks the chain).
    std::uint64_t verifications() const { return verifications_; }

  private:
    struct Entry {
        CollectorCertificate certificate;
        std::string refusal;  // not empty: verify_certificate refused with this message
    };
    std::size_t max_entries_;
    std::mutex m_;
    std::map<std::pair<std::string, std::string>, Entry> known_;  // (trust digest, text)
    std::atomic<std::uint64_t> verifications_{0};
};

// The process's cache, used by the bundle reader (evidence::read_bundle).
CertificateCache& bundle_certificate_cache();

// The collector certificate a bundle predicate carries (predicate.collector.certificate), as
// text for verify_certificate. Throws VerifyError when there is none.
std::string bundle_certificate_text(const nlohmann::json& predicate);
// The per-statement half of verify_bundle_signer, given the verified certificate: the envelope is
// signed by every component of the certified key, the predicate's kit id is the certificate's and
// the scan lies inside its window. Throws VerifyError.
void check_bundle_signer(const CollectorCertificate& cert, const crypto::Envelope& env,
                         const nlohmann::json& predicate);

// The signer check of an evidence bundle: predicate.collector.certificate verifies, the statement
// envelope is signed by every component of the certified key, the predicate's kit id is the
// certificate's, and the scan lies inside the certificate's window. Returns the collector keyid.
std::vector<std::string> verify_bundle_signer(const TrustRoot& trust, const crypto::Envelope& env,
                                              const nlohmann::json& predicate);

}  // namespace audit::trust
