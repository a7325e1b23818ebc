// Mach-O code signatures (thin and universal files, SuperBlob, CodeDirectory team id).
#include "audit/formats/macho.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(macho) {
    audit::fuzz::expect_typed_errors([&] {
        (void)audit::macho::looks_like_macho(data);
        for (const auto& s : audit::macho::parse(data))
            (void)(s.identifier.size() + s.team_id.size());
    });
}
