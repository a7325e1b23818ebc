// rpm's ndb "Packages.db", then every header blob it yields.
#include "audit/sources/rpm.h"
#include "fuzz.h"

namespace rpm_ndb_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(rpm_ndb) {
    audit::fuzz::expect_typed_errors([&] {
        for (const auto& r : audit::sources::read_rpm_ndb(data))
            audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(r.blob); });
    });
}

}  // namespace rpm_ndb_fuzz_cases
