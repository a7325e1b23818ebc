// Which file records the manifests' file rules can match, decided one record at a time, so that a
// scan keeps only those in memory for match() and streams the rest to the bundle.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "audit/fs/digest.h"
#include "audit/fs/walker.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"

namespace audit::match {

class FileFilter {
  public:
    // The rules' own compiled path globs (no second compilation); path rules compare without
    // letter case when the rules were compiled so (a Windows root).
    explicit FileFilter(const CompiledRules& rules);
    // Compiles the manifests' rules for this filter alone (throws on a malformed pattern).
    explicit FileFilter(const std::vector<manifest::Manifest>& manifests,
                        bool case_insensitive_paths = false)
        : FileFilter(CompiledRules(manifests, MatchOptions{case_insensitive_paths})) {}

    // True for every record a path, service, module or file-hash rule could match (a superset of
    // what match() matches); false for records no rule can reach. Thread-safe.
    bool may_match(const fs::FileRecord& record) const;

    // The file digests the hash rules compare (sha256 and/or sha384), so a scan computes them
    // whatever its digest policy.
    const fs::DigestPolicy& digests_needed() const noexcept { return needed_; }
    bool has_hash_rules() const noexcept { return !digests_.empty(); }

  private:
    std::shared_ptr<const std::vector<const Glob*>> globs_;  // the path rules' globs
    bool case_insensitive_ = false;
    std::vector<std::string> prefixes_;  // service and module rules' directories
    std::unordered_set<std::string> digests_;
    fs::DigestPolicy needed_;
};

}  // namespace audit::match
