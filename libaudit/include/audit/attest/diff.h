// What changed on a host between two verified bundles, in hashdeep's audit terms.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/evidence/bundle.h"

namespace audit::attest {

struct FileChange {
    std::string path;
    std::string from_path;  // moved: where the content was before
    std::string sha256_a, sha256_b;
};

struct ItemChange {
    std::string ecosystem, name, arch;
    std::string version_a, version_b, state_a, state_b;
};

struct BundleDiff {
    std::string host_a, host_b;  // host keys; different keys are reported, not refused
    // Files and symlinks (directories are left out: their contents speak for them).
    std::vector<std::string> matched;  // same path, same content
    std::vector<FileChange> moved;     // content of A found in B under another path only
    std::vector<FileChange> added;     // hashdeep "new": content not known in A
    std::vector<FileChange> missing;   // hashdeep "known file not found": gone, not moved away
    std::vector<FileChange> changed;   // same path, other content
    std::vector<ItemChange> items_added, items_removed, items_changed;
    std::vector<std::string> products_a, products_b;  // present per the signed findings summary

    bool same_host() const { return host_a == host_b; }
    bool empty() const;
    nlohmann::json to_json() const;
};

// Compares the files.jsonl and inventory.jsonl of two bundles read with their content kept.
// Throws VerifyError when a content file is malformed.
BundleDiff diff_bundles(const evidence::Bundle& a, const evidence::Bundle& b);

}  // namespace audit::attest
