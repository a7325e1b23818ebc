// The files.jsonl of a scan in bounded memory: the parallel walk's records are written as lines
// through an external sort (spilled under the output directory), and only the records a caller
// selects (those that may match a rule) stay in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/fs/parallel_walker.h"
#include "audit/fs/record_sorter.h"

namespace audit::fs {

class FileEvidence {
  public:
    using Keep = std::function<bool(const FileRecord&)>;  // called concurrently

    // Scratch files live in a fresh directory under work_parent (the scan's --out), removed
    // with this object.
    FileEvidence(const Root& root, const std::string& work_parent, WalkOptions options,
                 unsigned jobs, Keep keep);
    ~FileEvidence();

    // Walks each subtree; a subtree whose own directory could not be listed is added to
    // failed_roots.
    void walk(const std::vector<std::string>& subtrees, std::vector<std::string>& failed_roots);
    // Describes (and hashes) single paths; where a walk already recorded a path, its record wins.
    void inspect(const std::vector<std::string>& paths);

    const std::vector<FileRecord>& kept() const noexcept { return kept_; }
    const WalkStats& stats() const noexcept { return stats_; }
    unsigned jobs() const noexcept { return jobs_; }

    // Sorts everything into files.jsonl (by path, one line per path) and returns its path,
    // valid while this object lives. Call once.
    const std::string& finish();
    std::uint64_t lines() const noexcept { return lines_; }

  private:
    void run(const WalkTargets& targets, std::uint8_t rank, std::vector<std::string>* failed);

    const Root& root_;
    WalkOptions options_;
    unsigned jobs_;
    Keep keep_;
    ScratchDir scratch_;
    RecordSorter sorter_;
    std::mutex m_;
    std::vector<FileRecord> kept_;
    WalkStats stats_;
    std::string out_path_;
    std::uint64_t lines_ = 0;
    bool ran_ = false;
};

}  // namespace audit::fs
