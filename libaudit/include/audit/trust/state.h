// The verifier's memory of trust roots (TUF's "trusted root"): per authority, the highest root
// version it has accepted. A root older than that is a rollback; a newer one is accepted only
// through a chain of successors, each signed by a threshold of its predecessor's root keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/trust/trust_root.h"

namespace audit::trust {

// Default state file of the inspector's tools: $AUDIT_STATE_DIR/trust-state.json, else
// $XDG_STATE_HOME/audit-toolkit/trust-state.json, else ~/.local/state/audit-toolkit/....
std::string default_state_path();

struct TrustedLoad {
    TrustRoot root;
    std::vector<std::string> notes;  // "first use: ...", "updated from version 1 to 3"
};

// Load the trust root at trust_path and reconcile it with the state file (none: no state):
//  - first sight of its authority: accepted and pinned (trust on first use; compare the
//    fingerprints of `audit-keys show`);
//  - older than the pinned version: refused (rollback); same version, other bytes: refused;
//  - newer: accepted only when every version in between verifies as a successor; versions in
//    between are read from root-history/<N>.trust.json beside trust_path;
//  - expired: refused (freeze), whatever the state.
// The state file is updated atomically when a newer version is accepted. Throws VerifyError,
// IoError (state unreadable or unwritable).
TrustedLoad load_trusted(const std::string& trust_path,
                         const std::optional<std::string>& state_path,
                         std::optional<std::string> now = {});

// A trust-root document checked against a root already trusted (trusted_envelope: the bytes that
// root was accepted from): the same authority; not older (rollback); at the same version the same
// bytes (a fork otherwise); a newer version only when every version in between verifies as a
// successor (read from root-history/<N>.trust.json beside path). bytes are the document read
// from path. No expiry check. Returns the verified document; throws VerifyError naming path.
TrustRoot verify_against_trusted(const std::string& trusted_envelope, const std::string& path,
                                 std::string_view bytes);

// Where rotate-root keeps the versions a verifier may need to walk the chain.
std::string history_path(const std::string& trust_path, int version);

}  // namespace audit::trust
