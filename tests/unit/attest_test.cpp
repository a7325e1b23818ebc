#include <catch_amalgamated.hpp>

#include "audit/attest/attest.h"

using audit::attest::BundleSummary;
using audit::attest::Status;
using nlohmann::json;

namespace {

// A bundle summary as audit-scan would sign it, for one product "kaspersky".
BundleSummary bundle(const std::string& machine, const std::string& kit, std::uint64_t seq,
                     const std::string& prev, const std::string& finished, bool present,
                     bool sufficient = true, const std::string& manifest_version = "1.0") {
    BundleSummary b;
    b.sha256 = kit + "-" + std::to_string(seq) + "-" + machine + (present ? "-p" : "-c");
    b.bundle_id = "b-" + b.sha256;
    b.kit_id = kit;
    b.sequence = seq;
    b.previous_sha256 = prev;
    b.finished = finished;
    b.hostname = "host-" + machine;
    b.machine_id = machine;
    b.predicate = {
        {"host", {{"hostname", b.hostname}, {"ids", {{"machine_id", machine}}}}},
        {"manifests",
         json::array(
             {{{"id", "kaspersky"}, {"name", "Kaspersky"}, {"version", manifest_version}}})},
        {"coverage",
         {{"products",
           json::array({{{"product", "kaspersky"},
                         {"sufficient", sufficient},
                         {"gaps", sufficient ? json::array()
                                             : json::array({"source dpkg failed: x"})}}})}}},
        {"findings",
         {{"present", present ? json::array({"kaspersky"}) : json::array()},
          {"residue", json::array()}}}};
    return b;
}

audit::attest::HostProductStatus only(const std::vector<audit::attest::HostProductStatus>& v) {
    REQUIRE(v.size() == 1);
    return v.front();
}

}  // namespace

TEST_CASE("present then clean is removed, with both bundles as evidence", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", true);
    auto b = bundle("m1", "k", 2, a.sha256, "2026-02-01T00:00:00Z", false);
    auto r = audit::attest::merge({b, a}, {}, {});  // order of input does not matter
    const auto& st = only(r);
    CHECK(st.status == Status::removed);
    CHECK(st.reasons.empty());
    REQUIRE(st.evidence.size() == 2);
    CHECK(st.evidence[0].role == "finding");
    CHECK(st.evidence[1].role == "latest");
}

TEST_CASE("never found is absent; found last is present", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", false);
    CHECK(only(audit::attest::merge({a}, {}, {})).status == Status::absent);
    auto b = bundle("m1", "k", 2, a.sha256, "2026-02-01T00:00:00Z", true);
    CHECK(only(audit::attest::merge({a, b}, {}, {})).status == Status::present);
}

TEST_CASE("insufficient coverage is inconclusive, never absent", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", false, false);
    const auto& st = only(audit::attest::merge({a}, {}, {}));
    CHECK(st.status == Status::inconclusive);
    REQUIRE_FALSE(st.reasons.empty());
    CHECK(st.reasons[0].rfind("coverage_gap", 0) == 0);
}

TEST_CASE("a missing bundle in the kit chain makes removal inconclusive", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", true);
    auto c = bundle("m1", "k", 3, "some-other", "2026-03-01T00:00:00Z", false);
    const auto& st = only(audit::attest::merge({a, c}, {}, {}));
    CHECK(st.status == Status::inconclusive);
    bool gap = false;
    for (const auto& r : st.reasons) gap = gap || r.find("chain_gap") != std::string::npos;
    CHECK(gap);
}

TEST_CASE("a forked chain and a broken link are reported", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", true);
    auto b = bundle("m1", "k", 2, "not-a", "2026-02-01T00:00:00Z", false);
    auto st = only(audit::attest::merge({a, b}, {}, {}));
    CHECK(st.status == Status::inconclusive);
    CHECK(st.reasons.at(0).find("chain_broken") != std::string::npos);

    auto b2 = bundle("m2", "k", 2, a.sha256, "2026-02-02T00:00:00Z", false);
    auto b3 = bundle("m1", "k", 2, a.sha256, "2026-02-01T00:00:00Z", false);
    auto all = audit::attest::merge({a, b2, b3}, {}, {});
    for (const auto& s : all) {
        bool fork = false;
        for (const auto& r : s.reasons) fork = fork || r.find("chain_fork") != std::string::npos;
        CHECK(fork);
    }
}

TEST_CASE("host clocks that contradict the kit sequence are flagged", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-03-01T00:00:00Z", true);
    auto b = bundle("m1", "k", 2, a.sha256, "2026-01-01T00:00:00Z", false);
    const auto& st = only(audit::attest::merge({a, b}, {}, {}));
    CHECK(st.status != Status::removed);
    bool disorder = false;
    for (const auto& r : st.reasons) disorder = disorder || r.rfind("clock_disorder", 0) == 0;
    CHECK(disorder);
}

TEST_CASE("a downgraded manifest between the scans blocks removal", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", true, true, "2.10");
    auto b = bundle("m1", "k", 2, a.sha256, "2026-02-01T00:00:00Z", false, true, "2.9");
    const auto& st = only(audit::attest::merge({a, b}, {}, {}));
    CHECK(st.status == Status::inconclusive);
    CHECK(st.reasons.at(0).rfind("manifest_downgraded", 0) == 0);
}

TEST_CASE("one DMI UUID under two machine-ids is an identity conflict", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", false);
    auto b = bundle("m2", "k", 2, a.sha256, "2026-01-02T00:00:00Z", false);
    a.dmi_product_uuid = b.dmi_product_uuid = "4C4C4544-0042";
    auto r = audit::attest::merge({a, b}, {}, {});
    REQUIRE(r.size() == 2);
    for (const auto& s : r) CHECK(s.status == Status::inconclusive);
}

TEST_CASE("the same bundle given twice counts once", "[attest]") {
    auto a = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", false);
    CHECK(only(audit::attest::merge({a, a}, {}, {})).status == Status::absent);
}

TEST_CASE("a replayed older clean bundle presented last does not hide a later finding",
          "[attest]") {
    auto clean = bundle("m1", "k", 1, "", "2026-01-01T00:00:00Z", false);
    auto found = bundle("m1", "k", 2, clean.sha256, "2026-02-01T00:00:00Z", true);
    // Order comes from the signed sequence, not from the order the files are given in.
    CHECK(only(audit::attest::merge({clean, found, clean}, {}, {})).status == Status::present);
    CHECK(only(audit::attest::merge({found, clean}, {}, {})).status == Status::present);
}
