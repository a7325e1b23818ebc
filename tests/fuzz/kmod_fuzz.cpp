// Kernel modules: bounded decompression by magic (xz, zstd, gzip), then the ELF .modinfo section.
#include "audit/sources/kmod.h"
#include "fuzz.h"

namespace kmod_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(kmod) {
    audit::fuzz::expect_typed_errors([&] {
        std::string bytes = audit::sources::module_bytes(data);
        audit::sources::parse_modinfo(bytes);
    });
}

}  // namespace kmod_fuzz_cases
