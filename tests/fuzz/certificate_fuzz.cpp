// Collector certificates (the envelope embedded in every bundle) against a fixed trust root, and
// the certificate payload's schema on its own (the envelope's signature hides it from mutation).
#include "audit/trust/certificate.h"
#include "authority.h"
#include "fuzz.h"

namespace certificate_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                    // one

namespace {

void write_seeds() {
    const auto& cert = audit::fuzz::authority().certificate;
    audit::fuzz::write_seed("collector.cert.json", cert);
    audit::fuzz::write_seed("payload.json", audit::crypto::Envelope::parse(cert).payload);
}

}  // namespace

AUDIT_FUZZ_SEEDS(certificate, write_seeds)

AUDIT_FUZZ_TARGET(certificate) {
    const auto& a = audit::fuzz::authority();
    audit::fuzz::expect_typed_errors([&] {
        auto c = audit::trust::verify_certificate(a.trust, data);
        (void)c.to_payload_json().dump();
    });
    auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded())
        audit::fuzz::expect_typed_errors(
            [&] { audit::trust::CollectorCertificate::from_payload_json(j); });
}

}  // namespace certificate_fuzz_cases
