// Must NOT compile (tests/layering): fs sits below the scan.
#include "audit/scan/scan.h"

int layering_upward_fs_scan() {
    return 0;
}
