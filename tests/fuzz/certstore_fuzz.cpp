// Trust-store certificates: registry Blob properties, PEM blocks and the X.509 summary.
#include "audit/formats/certstore.h"
#include "fuzz.h"

namespace certstore_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                  // one

AUDIT_FUZZ_TARGET(certstore) {
    audit::fuzz::expect_typed_errors([&] {
        for (const auto& p : audit::certstore::blob_properties(data)) (void)p.data.size();
    });
    audit::fuzz::expect_typed_errors([&] {
        const auto c = audit::certstore::read_certificate(audit::certstore::blob_certificate(data));
        (void)(c.subject.size() + c.issuer_cn.size() + c.sha256.size());
    });
    audit::fuzz::expect_typed_errors([&] {
        const auto c = audit::certstore::read_certificate(data);
        (void)(c.subject_cn.size() + c.serial.size());
    });
    audit::fuzz::expect_typed_errors([&] {
        std::size_t malformed = 0;
        (void)audit::certstore::has_pem_certificate(data);
        for (const auto& der : audit::certstore::pem_certificates(data, 64, malformed))
            (void)audit::certstore::read_certificate(der).sha1.size();
    });
}

}  // namespace certstore_fuzz_cases
