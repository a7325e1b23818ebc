// dpkg's status database (RFC 822 style stanzas).
#include "audit/sources/dpkg.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(dpkg_status) {
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        audit::sources::parse_dpkg_status(data, "status", warnings);
    });
}
