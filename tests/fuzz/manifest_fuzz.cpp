// Product manifests (TOML, schema checks): parse_manifest.
#include "audit/manifest/manifest.h"
#include "fuzz.h"

namespace manifest_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(manifest) {
    audit::fuzz::expect_typed_errors([&] { audit::manifest::parse_manifest(data, "fuzz.toml"); });
}

}  // namespace manifest_fuzz_cases
