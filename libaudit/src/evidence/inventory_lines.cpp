#include "audit/evidence/inventory_lines.h"

#include "audit/catalog.h"

namespace audit::evidence {

bool omits_paths(const InventoryItem& item, const MatchedItems& matched) {
    const catalog::Ecosystem* eco = catalog::find_ecosystem(item.ecosystem);
    return eco && eco->lists_package_files && !matched.count({item.ecosystem, item.name});
}

nlohmann::json inventory_line(const InventoryItem& item, const MatchedItems& matched) {
    nlohmann::json j = item.to_json();
    if (omits_paths(item, matched)) {
        j.erase("paths");
        j["paths_count"] = item.paths.size();
    }
    return j;
}

std::string inventory_jsonl(const std::vector<InventoryItem>& items, const MatchedItems& matched) {
    std::string out;
    for (const auto& item : items) {
        out += inventory_line(item, matched)
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += '\n';
    }
    return out;
}

}  // namespace audit::evidence
