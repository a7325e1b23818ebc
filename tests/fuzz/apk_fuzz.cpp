// Alpine's lib/apk/db/installed.
#include "audit/sources/apk.h"
#include "fuzz.h"

namespace apk_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(apk) {
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        audit::sources::parse_apk_installed(data, "installed", warnings);
    });
}

}  // namespace apk_fuzz_cases
