// One rpm header blob (headerExport layout or an .rpm file's header).
#include "audit/sources/rpm.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(rpm_header) {
    audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(data); });
}
