// dpkg's status database (RFC 822 style stanzas).
#include "audit/sources/dpkg.h"
#include "fuzz.h"

namespace dpkg_status_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                    // one

AUDIT_FUZZ_TARGET(dpkg_status) {
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        audit::sources::parse_dpkg_status(data, "status", warnings);
    });
}

}  // namespace dpkg_status_fuzz_cases
