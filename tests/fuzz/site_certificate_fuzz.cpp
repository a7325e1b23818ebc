// Site certificates (the envelope every site summary carries, from another site) against a
// fixed trust root, and the certificate payload's schema on its own (the envelope's signature
// hides it from mutation).
#include "audit/trust/site_certificate.h"
#include "authority.h"
#include "fuzz.h"

namespace site_certificate_fuzz_cases {  // one namespace per test file: unity builds compile
                                         // several as one

namespace {

void write_seeds() {
    const auto& a = audit::fuzz::authority();
    const auto root = audit::crypto::SigningKey::load(a.dir + "/root.key", std::nullopt);
    const std::string cert = audit::trust::issue_site_certificate(
        a.trust, root, a.collector.identity(), "site-a", "2026-01-01T00:00:00Z", a.trust.expires);
    audit::fuzz::write_seed("site.cert.json", cert);
    audit::fuzz::write_seed("site-payload.json", audit::crypto::Envelope::parse(cert).payload);
}

}  // namespace

AUDIT_FUZZ_SEEDS(site_certificate, write_seeds)

AUDIT_FUZZ_TARGET(site_certificate) {
    const auto& a = audit::fuzz::authority();
    audit::fuzz::expect_typed_errors([&] {
        auto c = audit::trust::verify_site_certificate(a.trust, data);
        (void)c.to_payload_json().dump();
    });
    auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded())
        audit::fuzz::expect_typed_errors(
            [&] { audit::trust::SiteCertificate::from_payload_json(j); });
}

}  // namespace site_certificate_fuzz_cases
