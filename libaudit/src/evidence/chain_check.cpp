#include "audit/evidence/chain_check.h"

#include <map>

namespace audit::evidence {

namespace {

// Does cur name prev (the only bundle at sequence - 1)?
bool names(const ChainLink& cur, const ChainLink& prev) {
    if (cur.format >= 2 || !cur.previous_statement_sha256.empty())
        return !cur.previous_statement_sha256.empty() &&
               cur.previous_statement_sha256 == prev.statement_sha256;
    return !cur.previous_bundle_sha256.empty() &&
           prev.bundle_sha256.count(cur.previous_bundle_sha256) > 0;
}

}  // namespace

ChainCheck check_chain(const std::vector<ChainLink>& links, const std::vector<ChainHead>& heads) {
    // sequence -> statement -> the bundle (copies merged: their file digests collected).
    std::map<std::uint64_t, std::map<std::string, ChainLink>> seqs;
    for (const auto& l : links) {
        auto [it, fresh] = seqs[l.sequence].emplace(l.statement_sha256, l);
        if (!fresh) it->second.bundle_sha256.insert(l.bundle_sha256.begin(), l.bundle_sha256.end());
    }
    ChainCheck out;
    out.newest = seqs.empty() ? 0 : seqs.rbegin()->first;
    std::set<std::string> head_statements;
    for (const auto& h : heads) {
        if (h.sequence > out.head_sequence) {
            out.head_sequence = h.sequence;
            head_statements.clear();
        }
        if (h.sequence == out.head_sequence) head_statements.insert(h.statement_sha256);
    }
    out.head_statements = head_statements.size();
    if (head_statements.empty())
        out.head = ChainCheck::Head::none;
    else if (head_statements.size() > 1)
        out.head = ChainCheck::Head::several;
    else if (out.head_sequence > out.newest)
        out.head = ChainCheck::Head::ahead;
    else if (out.head_sequence < out.newest)
        out.head = ChainCheck::Head::behind;
    else if (!seqs.rbegin()->second.count(*head_statements.begin()))
        out.head = ChainCheck::Head::other_bundle;
    else
        out.head = ChainCheck::Head::closed;

    std::uint64_t expect = 1;
    const std::map<std::string, ChainLink>* prev = nullptr;
    for (const auto& [seq, nodes] : seqs) {
        if (seq > expect) {
            out.events.push_back({ChainEvent::Kind::gap, expect, seq - 1, 0, "", false});
            prev = nullptr;
        }
        if (nodes.size() > 1)
            out.events.push_back({ChainEvent::Kind::fork, seq, seq, nodes.size(), "", false});
        for (const auto& [statement, link] : nodes) {
            if (seq == 1) {
                if (!link.previous_bundle_sha256.empty() || !link.previous_statement_sha256.empty())
                    out.events.push_back(
                        {ChainEvent::Kind::first_links, seq, seq, 0, statement, false});
                continue;
            }
            if (!prev || prev->size() != 1) continue;  // after a gap or a fork: said above
            if (!names(link, prev->begin()->second))
                out.events.push_back({ChainEvent::Kind::broken, seq, seq, 0, statement, false});
        }
        prev = &nodes;
        expect = seq + 1;
    }
    if (out.head_sequence >= expect)
        out.events.push_back(
            {ChainEvent::Kind::gap, expect, out.head_sequence, 0, "", /*trailing=*/true});
    return out;
}

}  // namespace audit::evidence
