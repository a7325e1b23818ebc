// One rpm header blob (headerExport layout or an .rpm file's header).
#include "audit/sources/rpm.h"
#include "fuzz.h"

namespace rpm_header_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                   // one

AUDIT_FUZZ_TARGET(rpm_header) {
    audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(data); });
}

}  // namespace rpm_header_fuzz_cases
