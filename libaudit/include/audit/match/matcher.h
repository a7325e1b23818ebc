// Match inventory and file records against compiled manifest rules.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/core/glob.h"
#include "audit/fs/walker.h"
#include "audit/inventory.h"
#include "audit/manifest/manifest.h"

namespace audit::match {

struct Finding {
    std::string product;  // manifest id
    std::string product_name;
    std::string rule;  // rule id
    // The rule's product line (manifest::Rule::family), "unspecified" when the rule names none.
    std::string family;
    manifest::Confidence confidence;
    manifest::RuleKind kind;
    // Residue: what matched is left-over configuration (a deb in "config-files" state, ...),
    // reported with the product but not proof that the product is installed.
    bool residue = false;
    // Why the finding is residue when its rule alone does not say so ("" = nothing to add);
    // emitted as "reason".
    std::string reason;
    // The records that matched: {"inventory": {ecosystem,name,version,state,source}} or
    // {"file": {path, type, sha256}}.
    std::vector<nlohmann::json> records;
    // The inventory items the inventory records name: indices into the inventory match() was
    // given, sorted and unique. Not part of to_json() (findings.json keeps the records).
    std::vector<std::size_t> items;

    // A product is present when a definitive or strong, non-residue finding exists.
    bool proves_presence() const;
    nlohmann::json to_json() const;
};

// Globs and registry key text (core/glob.h), named here as the matcher's.
using core::Glob;
using core::glob_match;
using core::registry_glob_text;
using core::registry_key_text;

// Directories the walker must cover so that the path/service/module rules can be evaluated:
// the literal prefix of each glob, deduplicated and minimal (no entry below another).
std::vector<std::string> walk_roots(const std::vector<manifest::Manifest>& manifests);

// Entry names of a directory of the root; nullopt when it does not exist or is not a directory.
// Throws when it exists but cannot be listed.
using ListDir = std::function<std::optional<std::vector<std::string>>(const std::string& dir)>;

// walk_roots() planned on a real root, so that "/Program Files*/Kaspersky Lab/**" walks
// "/Program Files/Kaspersky Lab" and "/Program Files (x86)/Kaspersky Lab", never the whole disk
// although its literal prefix is "/": a wildcard in a glob's first level is looked up by listing
// "/". A wildcard deeper down walks the directory above it, as walk_roots() does, so the roots
// do not depend on whether the product is still there (evidence compares them across scans).
// case_insensitive (a Windows root, where NTFS compares names without case): literal levels are
// looked up without case too and spelled as on the disk; one that is not there keeps the
// glob's spelling. A level that matches nothing ends that glob with a root that does not exist
// (its path as written, which the walker finds empty). A directory that cannot be listed, or a
// level matching more than 256 entries, is walked whole instead.
std::vector<std::string> plan_walk_roots(const std::vector<manifest::Manifest>& manifests,
                                         const ListDir& list_dir, bool case_insensitive);

struct MatchOptions {
    // Path rules compare without letter case (a Windows root).
    bool case_insensitive_paths = false;
};

// The manifests' rules compiled once (globs, digests), for any number of match() calls. Keeps a
// reference to manifests, which must outlive it. Throws UsageError on a malformed pattern
// (naming the manifest file, rule and pattern).
class CompiledRules {
  public:
    explicit CompiledRules(const std::vector<manifest::Manifest>& manifests,
                           const MatchOptions& options = {});
    const std::vector<manifest::Manifest>& manifests() const noexcept { return *manifests_; }
    bool case_insensitive_paths() const noexcept { return case_insensitive_paths_; }
    // The compiled globs of every path rule, in manifest and rule order; the pointer keeps them
    // alive (the walk's FileFilter uses them instead of compiling the patterns again).
    std::shared_ptr<const std::vector<const Glob*>> path_globs() const;

  private:
    friend std::vector<Finding> match(const CompiledRules&, const std::vector<InventoryItem>&,
                                      const std::vector<fs::FileRecord>&);
    struct Compiled;  // matcher.cpp
    const std::vector<manifest::Manifest>* manifests_;
    bool case_insensitive_paths_ = false;
    std::shared_ptr<const Compiled> compiled_;
};

// All findings, in a deterministic order (product, rule, record).
std::vector<Finding> match(const CompiledRules& rules, const std::vector<InventoryItem>& inventory,
                           const std::vector<fs::FileRecord>& files);
// The same, compiling the rules for this one call.
std::vector<Finding> match(const std::vector<manifest::Manifest>& manifests,
                           const std::vector<InventoryItem>& inventory,
                           const std::vector<fs::FileRecord>& files,
                           const MatchOptions& options = {});

}  // namespace audit::match
