// rpm's Berkeley DB "Packages" hash file, then every header blob it yields.
#include "audit/sources/rpm.h"
#include "fuzz.h"

namespace rpm_bdb_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(rpm_bdb) {
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        for (const auto& r : audit::sources::read_rpm_bdb(data, warnings))
            audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(r.blob); });
    });
}

}  // namespace rpm_bdb_fuzz_cases
