// PE files: headers, sections, the VERSIONINFO resource and the Authenticode signature
// (PKCS#7 SignedData in the certificate table, the file digest it signs).
#include "audit/formats/pe.h"
#include "fuzz.h"

namespace pe_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(pe) {
    (void)audit::pe::looks_like_pe(data.substr(0, 4096));
    audit::fuzz::expect_typed_errors([&] {
        auto pe = audit::pe::parse_pe(data, "fuzz.exe");
        (void)pe.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    });
}

}  // namespace pe_fuzz_cases
