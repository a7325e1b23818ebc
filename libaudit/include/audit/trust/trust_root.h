// The trust root: a DSSE-signed document naming keys and the roles they may sign for.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"

namespace audit::trust {

inline constexpr std::string_view kPayloadType = "application/vnd.audit-toolkit.trust-root+json";
inline constexpr const char* kRoles[] = {"root", "kit", "collector", "inspector", "manifest"};

struct RoleSpec {
    std::vector<std::string> keyids;
    int threshold = 1;
};

struct TrustRoot {
    int version = 1;
    std::string expires;                                 // RFC 3339 UTC, "2027-11-23T00:00:00Z"
    std::map<std::string, crypto::PublicIdentity> keys;  // by keyid
    std::map<std::string, RoleSpec> roles;
    std::vector<std::string> revoked;  // keyids
    std::string sha256;                // of the trust.json bytes it was loaded from

    nlohmann::json to_payload_json() const;
    static TrustRoot from_payload_json(const nlohmann::json& j);  // throws VerifyError

    // Parse the envelope bytes, check the root role's threshold of signatures over it, and that it
    // has not expired (now = current UTC time unless given). Throws VerifyError / IoError.
    static TrustRoot load(const std::string& path);
    static TrustRoot verify(std::string_view envelope_json, std::optional<std::string> now = {});

    // Throws VerifyError (naming the role, the keyids and what is missing) unless at least
    // threshold distinct, non-revoked keys of the role signed env. Returns the signer keyids.
    std::vector<std::string> verify_role(const crypto::Envelope& env, std::string_view role) const;
};

// Current UTC time as RFC 3339 ("2026-11-23T09:00:00Z").
std::string utc_now();

// The demo authority of `audit-keys init`: one key per role (role.key in dir), trust.json signed
// by the root key, valid for validity_days. Refuses to overwrite existing files (UsageError).
void init_authority(const std::string& dir, crypto::KeyProfile profile,
                    const std::optional<std::string>& passphrase, int validity_days);

}  // namespace audit::trust
