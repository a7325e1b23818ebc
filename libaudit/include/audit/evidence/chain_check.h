// One kit's hash chain, checked once for every reader (audit-kit check, audit-attest): which
// sequences are missing, which hold two different bundles (a fork), which bundles do not name
// their predecessor, and whether a verified chain head closes the chain. Each caller words the
// result its own way (problems of a kit, reason codes of an attestation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "audit/evidence/chain_head.h"

namespace audit::evidence {

// One verified bundle of the chain (copies of one statement are merged by check_chain).
struct ChainLink {
    std::uint64_t sequence = 0;
    std::string statement_sha256;         // the bundle's identity
    std::set<std::string> bundle_sha256;  // file digests of its copies
    int format = 1;                       // evidence predicate v1, v2 or v3
    // The link to sequence - 1: v2 and v3 (or any bundle that carries it) by statement digest,
    // v1 by the previous bundle's file digest. Both "" for sequence 1.
    std::string previous_statement_sha256;
    std::string previous_bundle_sha256;
};

struct ChainEvent {
    enum class Kind {
        gap,          // sequences from..to missing
        fork,         // `count` different bundles with sequence `from`
        broken,       // the bundle at `from` (statement) does not name its predecessor
        first_links,  // a bundle with sequence 1 names a previous bundle
    };
    Kind kind = Kind::gap;
    std::uint64_t from = 0, to = 0;
    std::size_t count = 0;
    std::string statement_sha256;  // broken, first_links: which bundle
    bool trailing = false;         // gap: after the newest bundle, up to the chain head
};

struct ChainCheck {
    enum class Head {
        none,          // no verified head
        several,       // heads naming different bundles at the highest head sequence
        ahead,         // the head names a sequence above the newest bundle present
        behind,        // the head names a sequence below the newest bundle present
        other_bundle,  // the head names another bundle than the one present at its sequence
        closed,        // the head names the newest bundle
    };
    std::uint64_t newest = 0;         // highest sequence present (0: no bundle)
    std::uint64_t head_sequence = 0;  // of the head that counts: the highest
    std::size_t head_statements = 0;  // distinct statements among the heads at head_sequence
    Head head = Head::none;
    std::vector<ChainEvent> events;  // in sequence order; a trailing gap last
};

// links: one kit's bundles, any order. heads: that kit's verified chain heads (the highest
// counts). A bundle after a gap or a fork is not checked against its predecessor (the gap or the
// fork is the finding).
ChainCheck check_chain(const std::vector<ChainLink>& links, const std::vector<ChainHead>& heads);

}  // namespace audit::evidence
