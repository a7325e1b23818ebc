#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "audit/attest/attest.h"
#include "audit/attest/diff.h"
#include "audit/attest/ledger.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "fleet_support.h"
#include "support.h"

namespace ledger_test_cases {  // one namespace per test file: unity builds compile several as one

namespace fsys = std::filesystem;
using audit::attest::ImportResult;
using audit::attest::Ledger;
using nlohmann::json;

namespace {

using audit_test::TempDir;

using audit_test::trust_with;

// One small synthetic fleet shared by the tests.
struct Fleet : audit_test::SignedFleet {
    Fleet() : SignedFleet(options()) {}
    static audit::fixtures::FleetOptions options() {
        audit::fixtures::FleetOptions opt;
        opt.hosts = 40;
        opt.items = 6;
        opt.kits = 3;
        opt.seed = 7;
        opt.chain_heads = true;  // without its head every kit's chain is unclosed
        return opt;
    }
};

std::string file_digest(const fsys::path& p) {
    return audit::evidence::file_sha256(p.string());
}

std::map<std::string, std::string> statuses_from_ledger(Ledger& ledger,
                                                        const audit::trust::TrustRoot& trust) {
    auto verified = ledger.verify(trust, audit::trust::utc_now());
    const audit::attest::FleetFacts fleet = verified.facts({});
    std::map<std::string, std::string> out;
    ledger.for_each_host(verified, [&](std::vector<audit::attest::BundleSummary>&& host) {
        std::vector<const audit::attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        for (const auto& st : audit::attest::merge_host(list, fleet))
            out[st.host_key + " " + st.product] =
                std::string(to_string(st.status)) + " " + json(st.reasons).dump();
    });
    return out;
}

}  // namespace

TEST_CASE("the ledger recomputes what the in-memory merge computes", "[ledger]") {
    Fleet f;
    Ledger ledger((f.dir.path / "l.sqlite").string(), true);
    audit::attest::ImportOptions opt;
    opt.chain_heads = f.head_paths;
    auto outcomes = ledger.import(f.paths, f.trust, opt);
    REQUIRE(outcomes.size() >= f.paths.size());
    REQUIRE(!f.head_paths.empty());

    std::vector<audit::attest::BundleSummary> in_memory;
    for (const auto& p : f.paths) {
        try {
            in_memory.push_back(audit::attest::summarize(audit::evidence::read_bundle(p, f.trust)));
        } catch (const audit::VerifyError&) {
        }
    }
    std::map<std::string, std::string> expected;
    std::map<std::string, std::size_t> counts;
    std::vector<audit::evidence::ChainHead> heads;
    for (const auto& h : f.head_paths)
        heads.push_back(audit::evidence::read_chain_head(h, f.trust));
    for (const auto& st : audit::attest::merge(in_memory, heads, {})) {
        expected[st.host_key + " " + st.product] =
            std::string(to_string(st.status)) + " " + json(st.reasons).dump();
        counts[to_string(st.status)]++;
    }
    CHECK(statuses_from_ledger(ledger, f.trust) == expected);
    // And both agree with what the generator built each host to be.
    for (const auto& [status, n] : f.result.expected) CHECK(counts[status] == n);
    CHECK(ledger.stats().rejected == static_cast<std::int64_t>(f.result.rejected));
}

TEST_CASE("importing the same bundles twice changes nothing", "[ledger]") {
    Fleet f;
    const auto path = f.dir.path / "l.sqlite";
    {
        Ledger ledger(path.string(), true);
        ledger.import(f.paths, f.trust);
    }
    const std::string before = file_digest(path);
    Ledger ledger(path.string(), false);
    auto again = ledger.import(f.paths, f.trust);
    for (const auto& o : again)
        CHECK((o.result == ImportResult::duplicate || o.result == ImportResult::rejected));
    CHECK(file_digest(path) == before);
}

TEST_CASE("a bundle holding a kit sequence that other bytes hold is kept and flagged", "[ledger]") {
    Fleet f;
    Ledger ledger((f.dir.path / "l.sqlite").string(), true);
    auto outcomes = ledger.import(f.paths, f.trust);
    std::size_t conflicts = 0;
    for (const auto& o : outcomes)
        if (o.result == ImportResult::conflict) {
            ++conflicts;
            CHECK(o.detail.find("kit-fork sequence 2") != std::string::npos);
        }
    CHECK(conflicts == 1);
    auto c = ledger.verify(f.trust, audit::trust::utc_now()).conflicts;
    REQUIRE(c.size() == 1);
    CHECK(c[0]["kit"] == "kit-fork");
    // Both bundles of sequence 2 are evidence; the host is inconclusive with a chain_fork reason.
    auto statuses = statuses_from_ledger(ledger, f.trust);
    bool fork = false;
    for (const auto& [key, st] : statuses)
        if (st.find("chain_fork") != std::string::npos) fork = st.rfind("inconclusive", 0) == 0;
    CHECK(fork);
}

TEST_CASE("a bundle that fails verification is recorded as rejected, never as evidence",
          "[ledger]") {
    Fleet f;
    Ledger ledger((f.dir.path / "l.sqlite").string(), true);
    auto outcomes = ledger.import(f.paths, f.trust);
    std::size_t rejected = 0;
    for (const auto& o : outcomes)
        if (o.result == ImportResult::rejected) {
            ++rejected;
            CHECK(o.detail.find("collector") != std::string::npos);
        }
    CHECK(rejected == f.result.rejected);
    CHECK(ledger.rejected().size() == f.result.rejected);
    CHECK(ledger.stats().bundles == static_cast<std::int64_t>(f.paths.size() - f.result.rejected));
}

TEST_CASE("an import interrupted half way leaves the ledger as it was", "[ledger]") {
    Fleet f;
    const auto path = f.dir.path / "l.sqlite";
    std::vector<std::string> first(f.paths.begin(), f.paths.begin() + 5);
    {
        Ledger ledger(path.string(), true);
        ledger.import(first, f.trust);
    }
    const std::string before = file_digest(path);
    {
        Ledger ledger(path.string(), false);
        auto stop = [](std::size_t done, std::size_t) {
            if (done == 20) throw std::runtime_error("interrupted");
        };
        audit::attest::ImportOptions options;
        options.progress = stop;
        CHECK_THROWS_WITH(ledger.import(f.paths, f.trust, options), "interrupted");
    }
    CHECK(file_digest(path) == before);
    Ledger ledger(path.string(), false);
    CHECK(ledger.stats().bundles == 5 - static_cast<std::int64_t>(ledger.rejected().size()));
}

TEST_CASE("a file that is not a ledger is refused", "[ledger]") {
    TempDir dir;
    const auto text = dir.path / "notes.txt";
    std::ofstream(text) << "not a database, just some text that is long enough to look at\n";
    CHECK_THROWS_AS(Ledger(text.string(), false), audit::UsageError);
    const auto other = dir.path / "other.sqlite";
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.string().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK_THROWS_AS(Ledger(other.string(), true), audit::UsageError);
    CHECK_THROWS_AS(Ledger((dir.path / "missing.sqlite").string(), false), audit::UsageError);
}

TEST_CASE("diff of two scans of one host: the product's files missing, its package removed",
          "[ledger][diff]") {
    TempDir dir;
    auto key = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
    auto trust = trust_with(key);
    audit::fixtures::SyntheticScan s;
    s.hostname = "h1";
    s.machine_id = "0123456789abcdef0123456789abcdef";
    s.items = 5;
    s.present = true;
    s.finished = 1767225600;
    const std::string cert = audit::fixtures::certify(trust, key, key, "k");
    auto a = audit::fixtures::write_scan(s, dir.path.string(), "k", 1, "", key, cert, trust);
    s.present = false;
    s.residue = true;
    s.finished += 86400;
    auto b = audit::fixtures::write_scan(s, dir.path.string(), "k", 2, a.sha256, key, cert, trust);
    auto d = audit::attest::diff_bundles(audit::evidence::read_bundle(a.path, trust),
                                         audit::evidence::read_bundle(b.path, trust));
    CHECK(d.same_host());
    CHECK(d.matched.size() == 5);
    REQUIRE(d.missing.size() == 1);
    CHECK(d.missing[0].path == "/opt/kaspersky/kesl/bin/kesl");
    CHECK(d.added.empty());
    CHECK(d.moved.empty());
    REQUIRE(d.items_changed.size() == 1);  // installed -> config-files
    CHECK(d.items_changed[0].state_a == "installed");
    CHECK(d.items_changed[0].state_b == "config-files");
    CHECK(d.products_a == std::vector<std::string>{"kaspersky"});
    CHECK(d.products_b.empty());
    CHECK_FALSE(d.empty());
    auto same = audit::attest::diff_bundles(audit::evidence::read_bundle(a.path, trust),
                                            audit::evidence::read_bundle(a.path, trust));
    CHECK(same.empty());
}

TEST_CASE("the ledger trusts none of its own tables: edits are not verified or change nothing",
          "[ledger]") {
    Fleet f;
    const auto path = (f.dir.path / "l.sqlite").string();
    std::map<std::string, std::string> before;
    {
        Ledger ledger(path, true);
        ledger.import(f.paths, f.trust);
        before = statuses_from_ledger(ledger, f.trust);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    auto exec = [&](const char* sql) {
        REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    };
    exec(
        "DELETE FROM findings; DELETE FROM identities; UPDATE hosts SET hostname = 'x';"
        "UPDATE bundles SET host_key = 'hostname:intruder', kit_id = 'kit-x', sequence = 7, "
        "present = '[]'");
    {
        Ledger ledger(path, false);
        CHECK(statuses_from_ledger(ledger, f.trust) == before);
        CHECK(ledger.verify(f.trust, audit::trust::utc_now()).not_verified.empty());
    }
    // A stored findings.json edited: that bundle no longer verifies and is not used.
    exec(
        "UPDATE bundles SET findings_json = '[]' WHERE id = (SELECT min(id) FROM bundles WHERE "
        "findings_json <> '[]')");
    Ledger ledger(path, false);
    auto verified = ledger.verify(f.trust, audit::trust::utc_now());
    REQUIRE(verified.not_verified.size() == 1);
    CHECK(verified.not_verified[0].reason.find("findings.json") != std::string::npos);
    verified.for_each_bundle([&](const json& b) {
        CHECK(b["statement_sha256"] != verified.not_verified[0].statement_sha256);
    });
    sqlite3_close(db);
}

TEST_CASE("a collector revoked after the import: its bundles are not verified, none is used",
          "[ledger]") {
    Fleet f;
    Ledger ledger((f.dir.path / "l.sqlite").string(), true);
    ledger.import(f.paths, f.trust);
    auto revoked = f.trust;
    revoked.revoked.push_back(f.key.identity().keyid);
    auto verified = ledger.verify(revoked, audit::trust::utc_now());
    CHECK(verified.bundle_count() == 0);
    CHECK(verified.not_verified.size() == static_cast<std::size_t>(ledger.stats().bundles));
    std::size_t hosts = 0;
    ledger.for_each_host(verified, [&](std::vector<audit::attest::BundleSummary>&&) { ++hosts; });
    CHECK(hosts == 0);
}

TEST_CASE("the ledger draws the fleet-wide facts kit by kit: the same as from every bundle at once",
          "[ledger]") {
    Fleet f;
    // And two machines (two machine ids) with one DMI product UUID, in a kit of their own.
    const auto cert = audit::fixtures::certify(f.trust, f.key, f.key, "kit-twins");
    std::string previous, previous_statement;
    for (std::uint64_t i = 1; i <= 2; ++i) {
        audit::fixtures::SyntheticScan s;
        s.hostname = "twin-" + std::to_string(i);
        s.machine_id = std::string(31, '7') + std::to_string(i);
        s.dmi_product_uuid = "4C4C4544-0000-1000-8000-000000000001";
        s.finished = 1767600000 + static_cast<std::int64_t>(i) * 86400;
        s.items = 3;
        auto w = audit::fixtures::write_scan(s, (f.dir.path / "ev").string(), "kit-twins", i,
                                             previous, f.key, cert, f.trust, previous_statement);
        previous = w.sha256;
        previous_statement = w.statement_sha256;
        f.paths.push_back(w.path);
    }
    Ledger ledger((f.dir.path / "l.sqlite").string(), true);
    audit::attest::ImportOptions opt;
    opt.chain_heads = f.head_paths;
    ledger.import(f.paths, f.trust, opt);
    std::vector<audit::attest::BundleRef> refs;
    for (const auto& p : f.paths) {
        try {
            refs.push_back(audit::attest::ref_of(
                audit::attest::summarize(audit::evidence::read_bundle(p, f.trust))));
        } catch (const audit::VerifyError&) {
        }
    }
    std::vector<audit::evidence::ChainHead> heads;
    for (const auto& h : f.head_paths)
        heads.push_back(audit::evidence::read_chain_head(h, f.trust));
    const audit::attest::FleetFacts all(refs, heads, {});

    auto verified = ledger.verify(f.trust, audit::trust::utc_now());
    REQUIRE(verified.not_verified.empty());
    const audit::attest::FleetFacts drawn = verified.facts({});
    auto issues = [](const audit::attest::FleetFacts& facts) {
        std::vector<std::string> out;
        for (const auto& i : facts.chain_issues())
            out.push_back(i.kit + " " + std::to_string(i.from_sequence) + " " + i.reason);
        return out;
    };
    CHECK(issues(drawn) == issues(all));
    CHECK(!issues(all).empty());  // the fleet has a forked kit
    std::size_t hosts = 0, identity_conflicts = 0;
    ledger.for_each_host(verified, [&](std::vector<audit::attest::BundleSummary>&& host) {
        std::vector<const audit::attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        const auto reasons = drawn.host_reasons(list);
        CHECK(reasons == all.host_reasons(list));
        ++hosts;
        for (const auto& r : reasons) identity_conflicts += r.rfind("identity_conflict", 0) == 0;
    });
    CHECK(hosts > 0);
    CHECK(identity_conflicts > 0);  // and identifiers under two host keys
    CHECK(verified.conflicts.size() == f.result.conflicts);
}

namespace {

// Every table of a ledger as text, row by row in key order, with the import's own clock columns
// (imported_at, rejected_at, pinned_at) left out: all that may differ between two imports.
std::string ledger_dump(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", -1,
                       &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW)
        tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    std::string out;
    for (const auto& t : tables) {
        out += "## " + t + "\n";
        const std::string sql = "SELECT * FROM " + t + " ORDER BY 1, 2, 3";
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); ++c) {
                const std::string name = sqlite3_column_name(st, c);
                if (name == "imported_at" || name == "rejected_at" || name == "pinned_at") continue;
                const auto* p = static_cast<const char*>(sqlite3_column_blob(st, c));
                out +=
                    name + "=" +
                    std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c))) +
                    "\x1f";
            }
            out += "\n";
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

// What the report is made of, in the order it is handed on: the fleet-wide facts, each host's
// bundles and statuses (for_each_host order), and the bundle list.
std::string report_inputs(Ledger& ledger, const audit::trust::TrustRoot& trust) {
    const std::string now = "2030-01-01T00:00:00Z";
    auto verified = ledger.verify(trust, now);
    audit::attest::MergeOptions mo;
    mo.now = now;
    const audit::attest::FleetFacts fleet = verified.facts(mo);
    std::string out;
    for (const auto& i : fleet.chain_issues())
        out += "issue " + i.kit + " " + std::to_string(i.from_sequence) + " " + i.reason + "\n";
    out += "conflicts " + verified.conflicts.dump() + "\n";
    for (const auto& nv : verified.not_verified)
        out += "not verified " + nv.to_json().dump() + "\n";
    ledger.for_each_host(verified, [&](std::vector<audit::attest::BundleSummary>&& host) {
        std::vector<const audit::attest::BundleSummary*> list;
        out += "host";
        for (const auto& b : host) {
            list.push_back(&b);
            out += " " + b.path + ":" + b.statement_sha256;
        }
        out += "\n";
        for (const auto& st : audit::attest::merge_host(list, fleet))
            out += "  " + st.to_json().dump() + "\n";
    });
    verified.for_each_bundle([&](const json& b) {
        json c = b;
        c.erase("imported_at");
        out += "bundle " + c.dump() + "\n";
    });
    return out;
}

struct WorkersEnv {
    explicit WorkersEnv(const char* n) { ::setenv("AUDIT_WORKERS", n, 1); }
    ~WorkersEnv() { ::unsetenv("AUDIT_WORKERS"); }
};

}  // namespace

TEST_CASE("import and report inputs are the same with one worker as with two or three",
          "[ledger]") {
    // More bundles than one batch (256) of verify and for_each_host, hosts across batches.
    audit::fixtures::FleetOptions opt;
    opt.hosts = 220;
    opt.items = 4;
    opt.kits = 5;
    opt.seed = 11;
    opt.chain_heads = true;
    const audit_test::SignedFleet fleet(opt);
    REQUIRE(fleet.paths.size() > 300);

    std::map<std::string, std::pair<std::string, std::string>> runs;
    for (const char* workers : {"1", "2", "3"}) {
        WorkersEnv env(workers);
        const std::string path =
            (fleet.dir.path / (std::string("l") + workers + ".sqlite")).string();
        {
            Ledger ledger(path, true);
            audit::attest::ImportOptions io;
            io.chain_heads = fleet.head_paths;
            ledger.import(fleet.paths, fleet.trust, io);
        }
        Ledger ledger(path, false);
        runs[workers] = {ledger_dump(path), report_inputs(ledger, fleet.trust)};
    }
    CHECK(runs["1"].second.find("host ") != std::string::npos);
    CHECK(runs["2"].first == runs["1"].first);
    CHECK(runs["3"].first == runs["1"].first);
    CHECK(runs["2"].second == runs["1"].second);
    CHECK(runs["3"].second == runs["1"].second);
}

}  // namespace ledger_test_cases
