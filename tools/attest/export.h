// audit-attest export: a verified bundle's file records as a sha256sum or hashdeep list.
#pragma once

namespace audit::tools {

// "audit-attest export --trust T --format sha256sum|hashdeep BUNDLE": argv[0] is "export".
int export_cmd(int argc, char** argv);

}  // namespace audit::tools
