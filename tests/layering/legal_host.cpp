// Compiled with audit_host's include paths only (tests/layering): what host may include.
#include "audit/error.h"
#include "audit/formats/plist.h"
#include "audit/fs/root.h"
#include "audit/host/identity.h"

int layering_legal_host() {
    return 0;
}
