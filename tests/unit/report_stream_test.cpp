// The streamed fleet report (ReportStream, what `audit-attest report` writes from a ledger)
// writes the same files, byte for byte, as write_report with every result in memory.
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "audit/attest/attest.h"
#include "audit/attest/far.h"
#include "audit/attest/ledger.h"
#include "audit/attest/plan.h"
#include "audit/attest/report.h"
#include "audit/attest/report_stream.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "fleet_support.h"
#include "support.h"

namespace report_stream_test_cases {  // one namespace per test file: unity builds compile several
                                      // as one

namespace fsys = std::filesystem;
using nlohmann::json;
namespace attest = audit::attest;

namespace {

using audit_test::TempDir;

using audit_test::slurp;

// Every file under a (relative name -> bytes).
std::map<std::string, std::string> files_of(const fsys::path& a) {
    std::map<std::string, std::string> out;
    for (const auto& e : fsys::recursive_directory_iterator(a))
        if (e.is_regular_file()) out[fsys::relative(e.path(), a).string()] = slurp(e.path());
    return out;
}

void same_files(const fsys::path& a, const fsys::path& b) {
    const auto fa = files_of(a), fb = files_of(b);
    std::vector<std::string> na, nb;
    for (const auto& [n, _] : fa) na.push_back(n);
    for (const auto& [n, _] : fb) nb.push_back(n);
    REQUIRE(na == nb);
    for (const auto& [name, bytes] : fa) {
        INFO(name);
        CHECK(bytes == fb.at(name));
    }
}

attest::HostProductStatus status(std::size_t i) {
    attest::HostProductStatus st;
    st.host_key = "machine-id:" + std::to_string(100000 + i / 2);
    st.hostname = "host-" + std::to_string(i / 2) + (i % 97 == 0 ? "<b>&\"" : "");
    st.host_ids = {{"machine_id", std::to_string(100000 + i / 2)}};
    st.product = i % 2 ? "kaspersky" : "other";
    st.product_name = i % 2 ? "Kaspersky" : "Other, Inc.";
    const attest::Status statuses[] = {attest::Status::present, attest::Status::inconclusive,
                                       attest::Status::removed, attest::Status::absent,
                                       attest::Status::present};
    st.status = statuses[i % 5];
    if (st.status == attest::Status::inconclusive) {
        st.reasons = {"coverage_gap: source dpkg failed", "chain_unclosed: kit-1"};
        st.reason_codes = {"chain_unclosed", "coverage_gap"};
    }
    st.first_scan =
        "2026-01-" + std::string(i % 20 < 9 ? "0" : "") + std::to_string(i % 20 + 1) + "T00:00:00Z";
    st.latest_scan = "2026-03-01T00:00:00Z";
    if (st.status == attest::Status::present || st.status == attest::Status::removed) {
        st.first_found = st.first_scan;
        st.last_found = "2026-02-01T00:00:00Z";
        st.findings =
            json::array({{{"rule", "deb-packages"},
                          {"confidence", "definitive"},
                          {"family", "kesl"},
                          {"items", json::array({{{"name", "kesl"},
                                                  {"version", "11." + std::to_string(i % 3)},
                                                  {"path", "/opt/kaspersky/=x"}}})}}});
        st.family = "kesl";
    }
    if (st.status == attest::Status::removed) st.removed_at = st.clean_since = st.latest_scan;
    if (st.status == attest::Status::absent) st.clean_since = st.first_scan;
    if (i % 7 == 0)
        st.leads = json::array(
            {{{"rule", "name-lead"}, {"confidence", "weak"}, {"items", json::array()}}});
    if (i % 11 == 0)
        st.residue = json::array({{{"rule", "kesl-config"},
                                   {"residue", true},
                                   {"records", json::array({{{"file", {{"path", "/etc/x"}}}}})}}});
    st.evidence = {{"b" + std::to_string(i), std::string(64, 'a'), std::string(64, 'b'), "latest"}};
    return st;
}

}  // namespace

TEST_CASE("the streamed report writes the files write_report writes, byte for byte", "[report]") {
    // More results than one signing batch, more needing attention than the page shows in full,
    // more clean, leads and residue rows than its lists show: every bounded path is taken.
    TempDir dir;
    auto key = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
    std::vector<attest::HostProductStatus> statuses;
    for (std::size_t i = 0; i < 3500; ++i) statuses.push_back(status(i));
    attest::ReportOptions opt;
    opt.generated = "2026-03-02T00:00:00Z";
    opt.as_of = GENERATE(std::string(), std::string("2026-02-15T23:59:59Z"));
    opt.title = "Campaign <title>";
    attest::ReportContext context;
    context.trust_root = {{"version", 1}, {"sha256", "t"}};
    // A file name that is not UTF-8 (evidence strings are JSON, so UTF-8; file names need not
    // be): the page is UTF-8 and shows U+FFFD in both forms, as report.json does.
    context.rejected = json::array({{{"file", "caf\xe9 x"}, {"reason", "bad"}}});
    context.ledger = {{"bundles", 3}};
    json bundles = json::array();
    for (int d = 10; d < 20; ++d)
        bundles.push_back({{"file", "b" + std::to_string(d)},
                           {"finished", "2026-02-" + std::to_string(d) + "T00:00:00Z"}});
    attest::FarOptions far;
    far.generated = opt.generated;

    // In memory: every result and the whole context at once.
    attest::ReportContext all = context;
    all.bundles = bundles;
    attest::restrict_to_as_of(all, opt.as_of);
    all.removal_plan = attest::removal_plan(attest::Articles());
    all.far = attest::far_draft(attest::Articles(), far);
    opt.out_dir = (dir.path / "memory").string();
    auto a = attest::write_report(statuses, key, opt, all);

    // Streamed: host by host (two products each), the bundles from a visitor.
    opt.out_dir = (dir.path / "stream").string();
    attest::ReportStream stream(key, opt, far);
    for (std::size_t i = 0; i < statuses.size(); i += 2)
        stream.add_host({}, {statuses[i], statuses[i + 1]});
    auto b = stream.finish(context, [&](const std::function<void(const json&)>& fn) {
        for (const auto& e : bundles) fn(e);
    });
    CHECK(a.all_clear == b.all_clear);
    CHECK(stream.results() == statuses.size());
    same_files(dir.path / "memory", dir.path / "stream");
    for (const auto* form : {"memory", "stream"}) {
        const auto page = files_of(dir.path / form).at("report.html");
        CHECK(page.find("caf\xef\xbf\xbd x") != std::string::npos);
        CHECK(page.find('\xe9') == std::string::npos);
    }
    json head = a.report;
    head.erase("results");
    head.erase("bundles");
    CHECK(head == b.report);
}

TEST_CASE("a report from a ledger, streamed, is the in-memory report of the same evidence",
          "[report][ledger]") {
    audit::fixtures::FleetOptions fo;
    fo.hosts = 60;
    fo.items = 6;
    fo.kits = 3;
    fo.seed = 11;
    fo.chain_heads = true;
    const audit_test::SignedFleet fleet(fo);
    attest::Ledger ledger((fleet.dir.path / "l.sqlite").string(), true);
    attest::ImportOptions io;
    io.chain_heads = fleet.head_paths;
    ledger.import(fleet.paths, fleet.trust, io);

    const std::string now = "2026-06-01T00:00:00Z";
    auto verified = ledger.verify(fleet.trust, now);
    REQUIRE(verified.not_verified.empty());
    attest::MergeOptions mo;
    mo.now = now;
    const attest::FleetFacts facts = verified.facts(mo);
    attest::ReportOptions opt;
    opt.generated = now;
    attest::FarOptions far;
    far.generated = now;
    attest::ReportContext context;
    context.trust_root = {{"version", 1}};
    context.conflicts = verified.conflicts;

    // In memory, as the report did before it streamed.
    std::vector<attest::HostProductStatus> statuses;
    attest::Articles articles;
    ledger.for_each_host(verified, [&](std::vector<attest::BundleSummary>&& host) {
        std::vector<const attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        auto st = attest::merge_host(list, facts);
        articles.collect(list, st);
        std::move(st.begin(), st.end(), std::back_inserter(statuses));
    });
    REQUIRE(!articles.list().empty());
    attest::ReportContext all = context;
    verified.for_each_bundle([&](const json& b) { all.bundles.push_back(b); });
    REQUIRE(all.bundles.size() == verified.bundle_count());
    all.removal_plan = attest::removal_plan(articles);
    all.far = attest::far_draft(articles, far);
    opt.out_dir = (fleet.dir.path / "memory").string();
    attest::write_report(statuses, fleet.key, opt, all);

    opt.out_dir = (fleet.dir.path / "stream").string();
    attest::ReportStream stream(fleet.key, opt, far);
    ledger.for_each_host(verified, [&](std::vector<attest::BundleSummary>&& host) {
        std::vector<const attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        stream.add_host(list, attest::merge_host(list, facts));
    });
    stream.finish(
        context, [&](const std::function<void(const json&)>& fn) { verified.for_each_bundle(fn); });
    same_files(fleet.dir.path / "memory", fleet.dir.path / "stream");
}

}  // namespace report_stream_test_cases
