// valid_kit_id, apart from kit_state.cpp (whose writer process is POSIX-only) so that the
// portable readers (chain_head.cpp) link on Windows too.
#include <cctype>
#include <string>

#include "audit/evidence/kit_state.h"

namespace audit::evidence {

bool valid_kit_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return false;
    return id.front() != '.';
}

}  // namespace audit::evidence
