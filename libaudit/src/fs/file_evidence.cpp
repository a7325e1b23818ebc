#include "audit/fs/file_evidence.h"

#include <algorithm>

namespace audit::fs {

namespace {

// Lines are ordered by path; for one path, a walk's record (rank 0) wins over an inspection's.
constexpr std::uint8_t kWalkRank = 0;
constexpr std::uint8_t kInspectRank = 1;

}  // namespace

FileEvidence::FileEvidence(const Root& root, const std::string& work_parent, WalkOptions options,
                           unsigned jobs, Keep keep)
    : root_(root),
      options_(std::move(options)),
      jobs_(jobs == 0 ? default_jobs() : jobs),
      keep_(std::move(keep)),
      scratch_(work_parent, ".scan-work"),
      sorter_(scratch_.path()) {}

FileEvidence::~FileEvidence() = default;

void FileEvidence::walk(const std::vector<std::string>& subtrees,
                        std::vector<std::string>& failed_roots) {
    WalkTargets t;
    for (const auto& s : subtrees) t.subtrees.push_back(normalize(s));
    run(t, kWalkRank, &failed_roots);
}

void FileEvidence::inspect(const std::vector<std::string>& paths) {
    WalkTargets t;
    t.paths = paths;
    run(t, kInspectRank, nullptr);
}

void FileEvidence::run(const WalkTargets& targets, std::uint8_t rank,
                       std::vector<std::string>* failed) {
    auto sink = [&](FileRecord&& r) {
        thread_local std::string line;
        line.clear();
        r.append_json(line);
        sorter_.add(r.path, rank, line);
        const bool failed_root = failed != nullptr && r.type == "dir" && !r.error.empty() &&
                                 std::find(targets.subtrees.begin(), targets.subtrees.end(),
                                           r.path) != targets.subtrees.end();
        const bool keep = keep_ && keep_(r);
        if (!keep && !failed_root) return;
        std::lock_guard lk(m_);
        if (failed_root) failed->push_back(r.path);
        if (keep) kept_.push_back(std::move(r));
    };
    const std::size_t before = kept_.size();
    const WalkStats s = walk_parallel(root_, targets, options_, jobs_, sink);
    stats_.files += s.files;
    stats_.dirs += s.dirs;
    stats_.bytes_hashed += s.bytes_hashed;
    stats_.errors += s.errors;
    stats_.skipped_special += s.skipped_special;
    stats_.skipped_other_fs += s.skipped_other_fs;
    // The I/O path each run took (the walk, then the inspection of listed paths), for coverage.
    if (!ran_)
        stats_.io = s.io;
    else if (stats_.io != s.io)
        stats_.io += "; then " + s.io;
    ran_ = true;
    // Workers finish in any order: keep what the matcher sees in path order.
    std::sort(kept_.begin() + static_cast<long>(before), kept_.end(),
              [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
    if (failed) std::sort(failed->begin(), failed->end());
}

const std::string& FileEvidence::finish() {
    out_path_ = scratch_.path() + "/files.jsonl";
    lines_ = sorter_.finish(out_path_);
    return out_path_;
}

}  // namespace audit::fs
