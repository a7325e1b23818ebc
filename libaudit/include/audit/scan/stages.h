// The stages of one scan, in the order run_scan() calls them: collect -> plan walk -> walk/hash
// -> match -> coverage -> assemble -> write. Each is a function of what the ones before it
// produced, so each can be run and checked alone (tests/unit/scan_stages_test.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/evidence/kit_state.h"
#include "audit/evidence/predicate.h"
#include "audit/fs/file_evidence.h"
#include "audit/fs/root.h"
#include "audit/match/file_filter.h"
#include "audit/match/matcher.h"
#include "audit/scan/scan.h"

namespace audit::scan {

// A point in time of the scan, host clock.
struct ScanClock {
    std::string rfc3339;  // 2026-11-23T09:15:00Z
    std::string compact;  // 20261123T091500Z
    std::int64_t epoch = 0;
    static ScanClock now();
};

// Counts what the walk recorded and reports it through ScanOptions::progress, at phase changes
// and at most every interval from the workers.
class Meter {
  public:
    explicit Meter(const ScanOptions& opt);
    void phase(std::string name, std::string detail = "");
    void record(const fs::FileRecord& r);

  private:
    void emit();
    const std::function<void(const Progress&)>& progress_;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point start_, next_{};
    std::mutex m_;
    std::string phase_, detail_;
    std::atomic<std::uint64_t> files_{0}, bytes_{0};
};

// log.jsonl, one event a line.
using ScanLog = std::vector<nlohmann::json>;

// 1. collect: every source's items and report (the live source's as the tool collected it).
struct Collected {
    std::vector<InventoryItem> inventory;
    std::vector<sources::SourceReport> reports;
};
Collected collect(const fs::Root& root, const ScanOptions& opt, Meter& meter, ScanLog& log);

// 2. plan walk: the directories to walk (every one under "/" for the scope "all").
// windows_root: NTFS compares names without case, and so do path rules on it.
std::vector<std::string> plan_walk(const fs::Root& root, const ScanOptions& opt, bool windows_root);

// The manifests' rules, compiled once for the walk's filter and every match.
struct ScanRules {
    ScanRules(const std::vector<manifest::Manifest>& manifests, bool windows_root);
    match::CompiledRules rules;  // before filter, which uses its compiled path globs
    match::FileFilter filter;
};

// Entries the scan was refused (permission denied), counted from concurrent walk workers.
struct Denied {
    std::mutex m;
    std::uint64_t count = 0;
    std::vector<std::string> examples;  // the first few paths, sorted after the walk
    void add(const fs::FileRecord& r);
};

// 3. walk/hash: files.jsonl in the making; the records a file rule can match stay in memory.
struct Walked {
    std::vector<std::string> roots, failed_roots;
    // A live Windows scan: the fixed drives walked ("C:" first; coverage.json walk.drives).
    std::vector<std::string> drives;
    fs::DigestPolicy digests;  // what was computed (the policy and what hash rules need)
    std::unique_ptr<Denied> denied = std::make_unique<Denied>();
    std::unique_ptr<fs::FileEvidence> files;
};
Walked walk(const fs::Root& root, const ScanOptions& opt, std::vector<std::string> roots,
            const ScanRules& rules, const Collected& collected, Meter& meter);

// 4. match: the findings; the files of matched packages are hashed (and matched again) first.
std::vector<match::Finding> match(const ScanOptions& opt, const ScanRules& rules,
                                  const Collected& collected, Walked& walked, Meter& meter);

// 5. coverage: what the scan could examine, for the predicate and for coverage.json.
struct Coverage {
    evidence::CoverageSummary summary;  // predicate "coverage"
    nlohmann::json file;                // coverage.json
    AccessReport access;                // coverage.json "access"
};
Coverage coverage(const ScanOptions& opt, const host::HostIdentity& host,
                  const Collected& collected, const Walked& walked);

// What no scan examines (coverage.not_examined) and what the scan established about the root.
evidence::SystemCoverage system_coverage(const host::HostIdentity& h,
                                         const std::vector<sources::SourceReport>& reports);
// Which coverage a manifest's rules need, judged against what this scan could examine.
nlohmann::json product_coverage(const manifest::Manifest& m,
                                const std::vector<sources::SourceReport>& reports,
                                const std::vector<std::string>& failed_walk_roots);

// 6. assemble: the signed predicate and the content files held in memory (files.jsonl stays on
// disk). Drops process command lines no finding needs (collected.inventory changes).
struct Chain {
    std::string kit_id;
    std::uint64_t sequence = 0;  // of this bundle
    evidence::KitState state;    // before this bundle
};
struct Assembled {
    std::string bundle_id;
    evidence::Predicate predicate;
    std::map<std::string, std::string> content;  // name -> bytes
};
Assembled assemble(const ScanOptions& opt, const std::string& collector_keyid,
                   const trust::TrustRoot& trust, const Chain& chain,
                   const host::HostIdentity& host, const ScanClock& started,
                   const ScanClock& finished, Collected& collected,
                   const std::vector<match::Finding>& findings, const Coverage& cov,
                   const ScanLog& log);

// 7. write: reserve the sequence in the kit state, write the bundle, the chain head, the state.
struct Written {
    evidence::WrittenBundle bundle;
    std::string head_path, head_error;  // the chain head's path, or why it was not written ("")
};
Written write(const ScanOptions& opt, const crypto::SigningKey& collector,
              const evidence::KitStateLock& lock, evidence::KitState& state,
              const Assembled& assembled, const std::string& files_jsonl, const ScanClock& finished,
              Meter& meter);

}  // namespace audit::scan
