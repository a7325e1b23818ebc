// A complete in-memory authority for unit tests: trust root, role keys, and a collector key
// certified for one kit, so bundles can be written and read the way the tools do.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/trust/certificate.h"
#include "audit/trust/trust_root.h"

namespace audit::testing {

struct TestAuthority {
    crypto::SigningKey root, kit, inspector, manifest, collector;
    trust::TrustRoot trust;
    std::string kit_id = "kit-test";
    std::string certificate;  // envelope JSON certifying collector for kit_id

    explicit TestAuthority(crypto::KeyProfile profile = crypto::KeyProfile::ecdsa)
        : root(crypto::SigningKey::generate(profile)),
          kit(crypto::SigningKey::generate(profile)),
          inspector(crypto::SigningKey::generate(profile)),
          manifest(crypto::SigningKey::generate(profile)),
          collector(crypto::SigningKey::generate(profile)) {
        trust.authority = "authority-test";
        trust.version = 1;
        trust.expires = "2999-01-01T00:00:00Z";
        trust.policy = trust::Policy::for_profile(profile);
        const std::pair<const char*, const crypto::SigningKey*> roles[] = {
            {"root", &root}, {"kit", &kit}, {"inspector", &inspector}, {"manifest", &manifest}};
        for (const auto& [role, key] : roles) {
            trust.keys.emplace(key->identity().keyid, key->identity());
            trust.roles[role] = {{key->identity().keyid}, 1};
        }
        trust.roles["collector"] = {{}, 1};
        certificate = certify(collector, kit_id);
    }

    // A certificate for key and kit, issued by the kit key (or by issuer).
    std::string certify(const crypto::SigningKey& key, const std::string& for_kit,
                        const std::string& not_before = "2000-01-01T00:00:00Z",
                        const std::string& not_after = "2998-01-01T00:00:00Z",
                        const crypto::SigningKey* issuer = nullptr) const {
        return trust::issue_certificate(trust, issuer ? *issuer : kit, key.identity(), for_kit,
                                        not_before, not_after);
    }

    // The predicate fields the reader checks (kit, scan window, collector certificate) plus extra.
    nlohmann::json predicate(nlohmann::json extra = nlohmann::json::object(),
                             const std::string* cert = nullptr) const {
        nlohmann::json p = std::move(extra);
        // Whatever the test does not set gets a well-formed default (read_bundle checks types).
        if (!p.contains("bundle_id")) p["bundle_id"] = "test-bundle";
        if (!p.contains("kit")) p["kit"] = {{"id", kit_id}, {"sequence", 1}};
        if (p["kit"].is_object() && !p["kit"].contains("previous_bundle_sha256"))
            p["kit"]["previous_bundle_sha256"] = nullptr;
        if (p["kit"].is_object() && !p["kit"].contains("previous_statement_sha256"))
            p["kit"]["previous_statement_sha256"] = nullptr;
        if (!p.contains("host"))
            p["host"] = {{"hostname", "test-host"}, {"ids", {{"machine_id", "0123456789abcdef"}}}};
        if (!p.contains("scan"))
            p["scan"] = {{"started", "2026-01-01T00:00:00Z"}, {"finished", "2026-01-01T00:01:00Z"}};
        if (!p.contains("findings"))
            p["findings"] = {{"present", nlohmann::json::array()},
                             {"residue", nlohmann::json::array()},
                             {"leads", nlohmann::json::array()}};
        p["collector"] = {{"keyid", collector.identity().keyid},
                          {"certificate", nlohmann::json::parse(cert ? *cert : certificate)}};
        return p;
    }
};

}  // namespace audit::testing
