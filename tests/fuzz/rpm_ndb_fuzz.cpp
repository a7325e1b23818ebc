// rpm's ndb "Packages.db", then every header blob it yields.
#include "audit/sources/rpm.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(rpm_ndb) {
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        for (const auto& r : audit::sources::read_rpm_ndb(data, warnings))
            audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(r.blob); });
    });
}
