// The small text formats of the other Linux sources: snap.yaml and snapd's state.json, flatpak
// key files and AppStream data, Python core metadata, npm package.json, systemd units and SysV
// init scripts. Every parser sees every input.
#include "audit/sources/flatpak.h"
#include "audit/sources/npm.h"
#include "audit/sources/python.h"
#include "audit/sources/snap.h"
#include "audit/sources/systemd.h"
#include "audit/sources/sysv.h"
#include "fuzz.h"

namespace text_sources_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                     // one

AUDIT_FUZZ_TARGET(text_sources) {
    using namespace audit::sources;
    using audit::fuzz::expect_typed_errors;
    expect_typed_errors([&] { parse_snap_yaml(data, "snap.yaml"); });
    expect_typed_errors([&] { parse_snapd_state(data, "state.json"); });
    expect_typed_errors([&] { parse_keyfile(data, "metadata"); });
    expect_typed_errors([&] { appstream_release_version(data); });
    expect_typed_errors([&] { parse_python_metadata(data, "METADATA"); });
    expect_typed_errors([&] { parse_package_json(data, "package.json"); });
    expect_typed_errors([&] { parse_unit_file(data, "x.service"); });
    expect_typed_errors([&] { parse_init_script(data, "init.d/x"); });
}

}  // namespace text_sources_fuzz_cases
