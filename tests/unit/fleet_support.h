// A signed synthetic fleet on disk (tests/fixtures/synthetic_fleet.h) for the ledger and report
// tests: one Ed25519 key (fast to sign in a debug build) in every role, the bundles and each
// kit's chain head written under DIR/ev.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/crypto/keys.h"
#include "audit/evidence/chain_head.h"
#include "audit/trust/trust_root.h"
#include "support.h"
#include "synthetic_fleet.h"

namespace audit_test {

// A trust root in which `key` holds every role.
inline audit::trust::TrustRoot trust_with(const audit::crypto::SigningKey& key) {
    audit::trust::TrustRoot t;
    t.version = 1;
    t.expires = "2999-01-01T00:00:00Z";
    t.authority = "authority-test";
    t.sha256 = "test-trust-root";
    t.policy = audit::trust::Policy::for_profile(audit::crypto::KeyProfile::ed25519);
    t.keys.emplace(key.identity().keyid, key.identity());
    for (const char* role : audit::trust::kRoles) t.roles[role] = {{key.identity().keyid}, 1};
    return t;
}

struct SignedFleet {
    TempDir dir;  // the fleet in dir/ev; the test's other files beside it
    audit::crypto::SigningKey key =
        audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
    audit::trust::TrustRoot trust = trust_with(key);
    audit::fixtures::FleetResult result;
    std::vector<std::string> paths;       // the bundles, as written
    std::vector<std::string> head_paths;  // the chain heads (with options.chain_heads), sorted

    explicit SignedFleet(const audit::fixtures::FleetOptions& options) {
        const std::filesystem::path ev = dir.path / "ev";
        std::filesystem::create_directory(ev);
        result = audit::fixtures::write_fleet(options, ev.string(), key, key, trust);
        for (const auto& b : result.bundles) paths.push_back(b.path);
        for (const auto& e : std::filesystem::directory_iterator(ev))
            if (e.path().filename().string().ends_with(audit::evidence::kChainHeadSuffix))
                head_paths.push_back(e.path().string());
        std::sort(head_paths.begin(), head_paths.end());
    }
};

}  // namespace audit_test
