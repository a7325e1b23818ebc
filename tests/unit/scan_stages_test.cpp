// run_scan's stages run one at a time, in process, on a small Debian root with one Kaspersky
// package: each stage's output is checked before the next consumes it.
#include <catch_amalgamated.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/manifest/manifest.h"
#include "audit/scan/stages.h"
#include "support.h"
#include "test_authority.h"

namespace scan_stages_test_cases {  // one namespace per test file: unity builds compile several as
                                    // one

namespace scan = audit::scan;
using nlohmann::json;

namespace {

void make_root(const audit_test::stdfs::path& root) {
    audit_test::write(root / "etc/os-release",
                      "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");
    audit_test::write(root / "etc/hostname", "stage-host\n");
    audit_test::write(root / "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    audit_test::write(root / "var/lib/dpkg/status",
                      "Package: kesl\nStatus: install ok installed\nVersion: 11.2.0\n"
                      "Architecture: amd64\n\nPackage: bash\nStatus: install ok installed\n"
                      "Version: 5.2\nArchitecture: amd64\n");
    audit_test::write(root / "var/lib/dpkg/info/kesl.list",
                      "/usr/share/doc/kesl\n/usr/share/doc/kesl/README\n");
    audit_test::write(root / "usr/share/doc/kesl/README", "readme");
    audit_test::write(root / "opt/kaspersky/kesl/bin/kesl", "binary");
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_CASE("scan stages: collect, plan, walk, match, coverage, assemble, write") {
    audit::testing::TestAuthority auth;
    audit_test::TempDir root_dir, out;
    make_root(root_dir.path);
    scan::ScanOptions opt;
    opt.root = root_dir.str();
    opt.out_dir = out.str();
    opt.manifests = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) +
                                                    "/manifests/kaspersky.toml");
    opt.collector_certificate = auth.certificate;
    opt.jobs = 1;
    std::vector<std::string> phases;
    opt.progress = [&](const scan::Progress& p) { phases.push_back(p.phase); };
    audit::fs::Root root(opt.root);
    scan::Meter meter(opt);
    scan::ScanLog log;

    // 1. collect
    scan::Collected collected = scan::collect(root, opt, meter, log);
    REQUIRE_FALSE(collected.reports.empty());
    CHECK(log.size() == collected.reports.size());
    const auto kesl = std::find_if(collected.inventory.begin(), collected.inventory.end(),
                                   [](const audit::InventoryItem& i) { return i.name == "kesl"; });
    REQUIRE(kesl != collected.inventory.end());
    const std::size_t kesl_index = static_cast<std::size_t>(kesl - collected.inventory.begin());

    // 2. plan walk: the manifest's directories, not the whole root.
    const auto roots = scan::plan_walk(root, opt, false);
    CHECK(std::any_of(roots.begin(), roots.end(), [](const std::string& r) {
        return r != "/" && std::string("/opt/kaspersky/kesl").rfind(r, 0) == 0;
    }));
    CHECK_FALSE(has(roots, "/"));
    auto all = opt;
    all.scope = scan::HashScope::all;
    CHECK(scan::plan_walk(root, all, false) == std::vector<std::string>{"/"});

    // 3. walk: the product's file is kept for the matcher.
    const scan::ScanRules rules(opt.manifests, false);
    scan::Walked walked = scan::walk(root, opt, roots, rules, collected, meter);
    auto kept = [&](const std::string& path) {
        const auto& k = walked.files->kept();
        return std::any_of(k.begin(), k.end(), [&](const auto& r) { return r.path == path; });
    };
    CHECK(kept("/opt/kaspersky/kesl/bin/kesl"));
    CHECK(walked.failed_roots.empty());

    // 4. match: the package finding points at its inventory item; its files were hashed (into
    // files.jsonl: no rule needs them in memory).
    const auto findings = scan::match(opt, rules, collected, walked, meter);
    const auto deb = std::find_if(findings.begin(), findings.end(),
                                  [](const auto& f) { return f.rule == "deb-packages"; });
    REQUIRE(deb != findings.end());
    CHECK(deb->items == std::vector<std::size_t>{kesl_index});
    CHECK(deb->to_json().dump().find("\"items\"") == std::string::npos);  // format unchanged
    // The same findings as a match compiling its rules for the one call.
    const auto again = audit::match::match(opt.manifests, collected.inventory, walked.files->kept(),
                                           audit::match::MatchOptions{});
    REQUIRE(again.size() == findings.size());
    for (std::size_t i = 0; i < again.size(); ++i)
        CHECK(again[i].to_json() == findings[i].to_json());

    const std::string& files_jsonl = walked.files->finish();
    const std::string lines = audit_test::slurp(files_jsonl);
    CHECK(lines.find("\"/usr/share/doc/kesl/README\"") != std::string::npos);
    CHECK(lines.find("\"/usr/share/doc/bash") == std::string::npos);

    // 5. coverage
    const auto host = audit::host::identify(root);
    const scan::Coverage cov = scan::coverage(opt, host, collected, walked);
    REQUIRE(cov.summary.system);
    CHECK(cov.summary.system->os == "linux");
    CHECK(cov.summary.source_status("dpkg") == "ran");
    REQUIRE(cov.summary.product("kaspersky"));
    CHECK(cov.summary.product("kaspersky")->is_sufficient());
    CHECK(cov.file["walk"].contains("stats"));
    CHECK(cov.file["products"] == cov.summary.to_json()["products"]);

    // 6. assemble
    const auto started = scan::ScanClock::now();
    const scan::Chain chain{auth.kit_id, 1, {}};
    const scan::Assembled assembled =
        scan::assemble(opt, auth.collector.identity().keyid, auth.trust, chain, host, started,
                       started, collected, findings, cov, log);
    CHECK(assembled.predicate.findings.finds("kaspersky"));
    CHECK(assembled.predicate.kit.sequence == 1);
    CHECK(assembled.content.size() == 6);
    CHECK(assembled.bundle_id.find("_" + auth.kit_id + "-1") != std::string::npos);

    // 7. write: the bundle verifies and carries the assembled predicate.
    audit::evidence::KitStateLock lock(opt.out_dir, auth.kit_id);
    audit::evidence::KitState state = lock.load();
    const scan::Written written =
        scan::write(opt, auth.collector, lock, state, assembled, files_jsonl, started, meter);
    CHECK(written.head_error.empty());
    CHECK_FALSE(written.head_path.empty());
    CHECK(state.last_sequence == 1);
    const auto bundle = audit::evidence::read_bundle(written.bundle.path, auth.trust);
    CHECK(bundle.predicate() == assembled.predicate.to_json());
    CHECK(bundle.statement_sha256 == written.bundle.statement_sha256);

    CHECK(phases.front() == "sources");
    CHECK(phases.back() == "write");
}

}  // namespace scan_stages_test_cases
