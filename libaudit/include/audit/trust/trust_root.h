// The trust root: a DSSE-signed document naming keys and the roles they may sign for.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/core/utc.h"
#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"

namespace audit::trust {

inline constexpr std::string_view kPayloadType = "application/vnd.audit-toolkit.trust-root+json";
inline constexpr const char* kRoles[] = {"root", "kit", "collector", "inspector", "manifest"};

struct RoleSpec {
    std::vector<std::string> keyids;
    int threshold = 1;
};

// Which signature algorithms count. A signer (one key, possibly hybrid) counts only when every
// component uses an allowed scheme and, together, its components cover every required scheme:
// the hybrid CNSA policy requires both ecdsa-p384-sha384 and ml-dsa-87.
struct Policy {
    std::vector<crypto::Scheme> allowed;
    std::vector<crypto::Scheme> required;

    static Policy for_profile(crypto::KeyProfile profile);
    // "" when identity may sign under this policy, else why not.
    std::string refusal(const crypto::PublicIdentity& identity) const;
    nlohmann::json to_json() const;
    static Policy from_json(const nlohmann::json& j);  // throws VerifyError
};

struct TrustRoot {
    // Names the authority across root versions (fixed at init, kept by every rotation), so that
    // the verifier's state can tell a rollback of this authority from another authority.
    std::string authority;
    int version = 1;
    std::string expires;                                 // RFC 3339 UTC, "2027-11-23T00:00:00Z"
    std::map<std::string, crypto::PublicIdentity> keys;  // by keyid
    std::map<std::string, RoleSpec> roles;
    std::vector<std::string> revoked;  // keyids (of keys or of key components)
    Policy policy;
    std::string sha256;  // of the trust.json bytes it was loaded from

    nlohmann::json to_payload_json() const;
    static TrustRoot from_payload_json(const nlohmann::json& j);  // throws VerifyError

    // Parse the envelope bytes, check the root role's threshold of signatures over it, and that it
    // has not expired (now = current UTC time unless given). Throws VerifyError / IoError.
    static TrustRoot load(const std::string& path);
    static TrustRoot verify(std::string_view envelope_json, std::optional<std::string> now = {});
    // As verify, but without the expiry check: for older versions in a rotation chain.
    static TrustRoot verify_signed(std::string_view envelope_json);
    // Verify next as the successor of this root: version + 1, same authority, signed by a
    // threshold of this version's root keys and by a threshold of its own. No expiry check.
    TrustRoot verify_successor(std::string_view next_envelope_json) const;
    // Throws VerifyError ("... expired on ...") when now (default: current UTC) is past expiry.
    void check_expiry(std::optional<std::string> now = {}) const;

    bool is_revoked(const crypto::PublicIdentity& identity) const;

    // Throws VerifyError (naming the role, the keyids and what is missing) unless at least
    // threshold distinct, non-revoked keys of the role signed env. Returns the signer keyids.
    std::vector<std::string> verify_role(const crypto::Envelope& env, std::string_view role) const;
};

// Current UTC time as RFC 3339 ("2026-11-23T09:00:00Z"), that time `seconds` from now, and the
// shape check "YYYY-MM-DDTHH:MM:SSZ": core/utc.h (these names kept for their callers).
using core::is_rfc3339_utc;
using core::utc_in;
using core::utc_now;

// The envelope of a new root version: `next` (version, keys and roles already set) signed by
// every key in signers (old root keys and new root keys). The caller checks the result with
// verify_successor before publishing it.
std::string sign_root(const TrustRoot& next, const std::vector<const crypto::SigningKey*>& signers);

// The demo authority of `audit-keys init`: one key per role (role.key in dir), trust.json signed
// by the root key, valid for validity_days, with the policy of the key profile; the collector key
// is not listed in the root but certified by the kit key for kit "kit-<keyid[:8]>" in
// dir/collector.cert.json. Refuses to overwrite existing files (UsageError).
void init_authority(const std::string& dir, crypto::KeyProfile profile,
                    const std::optional<std::string>& passphrase, int validity_days);

}  // namespace audit::trust
