// inventory.jsonl of a bundle: one JSON line per inventory item, as each bundle format writes it.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/inventory.h"

namespace audit::evidence {

// (ecosystem, name) of the items a finding names: their file lists are evidence and stay.
using MatchedItems = std::set<std::pair<std::string, std::string>>;

// Does bundle format v3 leave this item's file list out of inventory.jsonl? Yes for an item of an
// ecosystem whose paths are a package database's file list (catalog lists_package_files) that no
// finding names: the list is the package database's (on the host), and every file of it the scan
// examined is a files.jsonl record of its own.
bool omits_paths(const InventoryItem& item, const MatchedItems& matched);

// One line: item.to_json(), with "paths" replaced by "paths_count" (how many paths the database
// lists) when omits_paths. A reader finding "paths_count" without "paths" knows the list exists
// and was left out: it must not read that as "the package lists no files".
nlohmann::json inventory_line(const InventoryItem& item, const MatchedItems& matched);

// inventory.jsonl of bundle format v3 (kBundleFormat): every item, in the given order.
std::string inventory_jsonl(const std::vector<InventoryItem>& items, const MatchedItems& matched);

}  // namespace audit::evidence
