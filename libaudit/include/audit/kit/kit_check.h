// audit-kit check, the library part: a kit directory verified as the inspector's trusted machine
// sees it: the kit manifest (signatures, expiry, rollback), every file against it, and every
// entry of evidence/: bundles, chain heads, the scanner's state, each kit's hash chain
// (evidence/chain_check.h), the sequence state in keys/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/kit/kit_manifest.h"
#include "audit/trust/trust_root.h"

namespace audit::kit {

struct KitCheckOptions {
    KitVerifyOptions verify;                // an HSS/LMS seal to require, the time
    std::optional<std::string> state_path;  // the checker's kit state (rollback); nullopt: none
    bool own_trust = false;                 // trust is the kit's own trust root (noted)
};

struct KitCheckReport {
    // 0 verified, 1 a bundle was made by a kit that failed its self-check, 3 anything does not
    // verify.
    int code = 0;
    std::vector<std::string> problems, notes;
    // {"status", "problems", "notes", "tree", "modes_compared", "evidence", "heads",
    //  "unexpected", "chains"} and, when the kit manifest verified, "kit".
    nlohmann::json doc;
};

// Never throws for what does not verify (that is a problem in the report); throws IoError when
// the directory cannot be read.
KitCheckReport check_kit_dir(const std::string& dir, const trust::TrustRoot& trust,
                             const KitCheckOptions& options);

}  // namespace audit::kit
