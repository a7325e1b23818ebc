// A trust root's next version (audit-keys rotate-root and revoke): role changes applied, signed by
// enough old and new root keys, checked as a successor, and published with every earlier version
// kept in root-history/ for verifiers that walk the chain.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::trust {

// --set ROLE=KEYS: the role's keys replaced (threshold 1).
struct RoleChange {
    std::string role;
    std::vector<crypto::PublicIdentity> keys;
};

// Applies the changes to next (UsageError for an unknown role, or no key for a role other than
// collector), sets the root role's threshold when given, and drops keys no role names any more
// (revoked ids stay listed).
void apply_role_changes(TrustRoot& next, const std::vector<RoleChange>& changes,
                        std::optional<int> root_threshold);

// Adds keyids (64 lowercase hex digits each, else UsageError) to next's revocation list.
void revoke_keys(TrustRoot& next, const std::vector<std::string>& keyids);

struct PublishedRoot {
    TrustRoot root;             // the new version, verified as the successor
    int previous_version = 0;   // the version it succeeds
    std::string previous_kept;  // where that version is kept (root-history/)
};

// Version N+1 of the root in trust_path (whose bytes are current_bytes): next with its version
// and an expiry validity_days from now, signed by signers, verified as the successor of N
// (VerifyError when too few old or new root keys signed), written to out (replacing trust_path
// when out is trust_path, else a new file). Versions 1..N stay beside out in root-history/.
PublishedRoot publish_next_root(const std::string& trust_path, const std::string& current_bytes,
                                TrustRoot next, int validity_days,
                                const std::vector<const crypto::SigningKey*>& signers,
                                const std::string& out);

}  // namespace audit::trust
