// Must NOT compile (tests/layering): host sits below the sources.
#include "audit/sources/dpkg.h"

int layering_upward_host_sources() {
    return 0;
}
