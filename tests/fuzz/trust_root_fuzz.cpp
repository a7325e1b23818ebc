// Trust root documents: envelope, payload schema (keys as SPKI PEM, roles, policy), signatures,
// a successor check against a fixed root (rotation), and the payload schema on its own.
#include "audit/trust/trust_root.h"
#include "authority.h"
#include "fuzz.h"

namespace trust_root_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                   // one

namespace {

void write_seeds() {
    const std::string doc = audit::fuzz::read_all(audit::fuzz::authority().dir + "/trust.json");
    audit::fuzz::write_seed("trust.json", doc);
    audit::fuzz::write_seed("payload.json", audit::crypto::Envelope::parse(doc).payload);
}

}  // namespace

AUDIT_FUZZ_SEEDS(trust_root, write_seeds)

AUDIT_FUZZ_TARGET(trust_root) {
    audit::fuzz::expect_typed_errors([&] {
        auto root = audit::trust::TrustRoot::verify_signed(data);
        root.check_expiry("2026-01-01T00:00:00Z");
        (void)root.to_payload_json().dump();
    });
    audit::fuzz::expect_typed_errors(
        [&] { audit::fuzz::authority().trust.verify_successor(data); });
    auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded())
        audit::fuzz::expect_typed_errors([&] {
            auto root = audit::trust::TrustRoot::from_payload_json(j);
            (void)root.to_payload_json().dump();
        });
}

}  // namespace trust_root_fuzz_cases
