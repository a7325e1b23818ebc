// evidence/chain_check: one kit's hash chain, as audit-kit check and audit-attest both read it.
#include <catch_amalgamated.hpp>

#include "audit/evidence/chain_check.h"

namespace chain_check_test_cases {  // one namespace per test file: unity builds compile several as
                                    // one

namespace ev = audit::evidence;
using Head = ev::ChainCheck::Head;
using Kind = ev::ChainEvent::Kind;

namespace {

std::string st(std::uint64_t seq, char variant = 'a') {
    return std::string(1, variant) + std::to_string(seq);
}

// A v2 bundle at seq naming the statement of seq - 1 (variant 'a').
ev::ChainLink v2(std::uint64_t seq, char variant = 'a') {
    return {seq, st(seq, variant), {"file-" + st(seq, variant)}, 2, seq == 1 ? "" : st(seq - 1),
            ""};
}

ev::ChainHead head(std::uint64_t seq, const std::string& statement) {
    ev::ChainHead h;
    h.kit_id = "kit-1";
    h.sequence = seq;
    h.statement_sha256 = statement;
    return h;
}

}  // namespace

TEST_CASE("chain check: a whole chain closed by its head", "[chain]") {
    const auto c = ev::check_chain({v2(2), v2(1), v2(3)}, {head(3, st(3))});
    CHECK(c.newest == 3);
    CHECK(c.head == Head::closed);
    CHECK(c.events.empty());
}

TEST_CASE("chain check: gaps, a trailing gap up to the head, no head", "[chain]") {
    auto c = ev::check_chain({v2(1), v2(4), v2(5)}, {head(7, "x")});
    CHECK(c.head == Head::ahead);
    REQUIRE(c.events.size() == 2);
    CHECK(c.events[0].kind == Kind::gap);
    CHECK(c.events[0].from == 2);
    CHECK(c.events[0].to == 3);
    CHECK_FALSE(c.events[0].trailing);
    CHECK(c.events[1].kind == Kind::gap);
    CHECK(c.events[1].from == 6);
    CHECK(c.events[1].to == 7);
    CHECK(c.events[1].trailing);
    // The bundle after a gap is not checked against its missing predecessor.
    c = ev::check_chain({v2(1), v2(2)}, {});
    CHECK(c.head == Head::none);
    CHECK(c.events.empty());
    // A head without bundles: everything up to it is missing.
    c = ev::check_chain({}, {head(2, "x")});
    CHECK(c.newest == 0);
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].from == 1);
    CHECK(c.events[0].to == 2);
}

TEST_CASE("chain check: forks, copies, broken links, heads behind or elsewhere", "[chain]") {
    // Two copies of one statement (other file bytes) are one bundle, not a fork.
    auto copy = v2(2);
    copy.bundle_sha256 = {"file-recompressed"};
    auto c = ev::check_chain({v2(1), v2(2), copy, v2(3)}, {head(3, st(3))});
    CHECK(c.events.empty());
    CHECK(c.head == Head::closed);
    // Two different statements at one sequence: a fork; the next one is not link-checked.
    c = ev::check_chain({v2(1), v2(2), v2(2, 'b'), v2(3)}, {head(3, st(3))});
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].kind == Kind::fork);
    CHECK(c.events[0].from == 2);
    CHECK(c.events[0].count == 2);
    // A link to something else; a first bundle naming a predecessor.
    auto bad = v2(3);
    bad.previous_statement_sha256 = "elsewhere";
    auto first = v2(1);
    first.previous_bundle_sha256 = "file-x";
    c = ev::check_chain({first, v2(2), bad}, {head(2, st(2))});
    CHECK(c.head == Head::behind);
    REQUIRE(c.events.size() == 2);
    CHECK(c.events[0].kind == Kind::first_links);
    CHECK(c.events[1].kind == Kind::broken);
    CHECK(c.events[1].from == 3);
    // The head names another bundle than the one present; two heads disagree.
    CHECK(ev::check_chain({v2(1)}, {head(1, "other")}).head == Head::other_bundle);
    const auto two = ev::check_chain({v2(1)}, {head(1, st(1)), head(1, "other")});
    CHECK(two.head == Head::several);
    CHECK(two.head_statements == 2);
}

TEST_CASE("chain check: v1 bundles link by the file digest of any copy", "[chain]") {
    ev::ChainLink one{1, "s1", {"f1", "f1-copy"}, 1, "", ""};
    ev::ChainLink two{2, "s2", {"f2"}, 1, "", "f1-copy"};
    CHECK(ev::check_chain({one, two}, {head(2, "s2")}).events.empty());
    two.previous_bundle_sha256 = "";
    const auto c = ev::check_chain({one, two}, {head(2, "s2")});
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].kind == Kind::broken);
    // A v2 bundle must name its predecessor's statement: a file digest alone does not link it.
    ev::ChainLink v2_file_only{2, "s2", {"f2"}, 2, "", "f1"};
    CHECK(ev::check_chain({one, v2_file_only}, {}).events.size() == 1);
}

}  // namespace chain_check_test_cases
