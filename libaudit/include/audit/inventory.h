// The software inventory: what sources produce and the matcher consumes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace audit {

// One installed (or partly installed) software item; one line of inventory.jsonl.
struct InventoryItem {
    std::string ecosystem;  // "deb", "rpm", ...
    std::string name;
    std::string version;
    std::string arch;
    std::string publisher;  // vendor / maintainer
    // Package state as the package manager records it, e.g. dpkg "installed", "config-files",
    // "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending",
    // "not-installed". Kept verbatim so residue is distinguishable from installed software.
    std::string state;
    std::vector<std::string> paths;  // files the package database lists (root-relative "/...")
    std::map<std::string, std::string> md5sums;  // path -> md5 hex, where the database has them
    std::string source;  // where the record came from, "/var/lib/dpkg/status:120"
    nlohmann::json extra = nlohmann::json::object();  // ecosystem-specific fields

    // Installed in the sense that matters for presence: the product's files are (meant to be) there.
    bool installed() const;
    std::string purl() const;  // "pkg:deb/debian/kesl@11.1.0-1234?arch=amd64" style
    nlohmann::json to_json() const;
};

}  // namespace audit
