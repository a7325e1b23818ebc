// Product manifests (TOML, schema checks): parse_manifest.
#include "audit/manifest/manifest.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(manifest) {
    audit::fuzz::expect_typed_errors([&] { audit::manifest::parse_manifest(data, "fuzz.toml"); });
}
