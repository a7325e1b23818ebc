#include "audit/sources/npm.h"

#include <array>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxJsonBytes = 8u << 20;
constexpr std::size_t kMaxNpmDepth = 64;
constexpr std::size_t kMaxNpmPackages = 100000;
constexpr std::array<std::string_view, 2> kRoots = {"usr/lib/node_modules",
                                                    "usr/local/lib/node_modules"};

std::string string_field(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    std::string v = it->get<std::string>();
    return text::printable(v) && v.size() <= 4096 ? v : std::string();
}

// "author": "Name <mail> (url)" or {"name": ..., "email": ...}.
std::string person(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return {};
    if (it->is_string()) return string_field(j, key);
    if (it->is_object()) return string_field(*it, "name");
    return {};
}

}  // namespace

InventoryItem parse_package_json(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxJsonBytes) throw UsageError(std::string(origin) + ": too large");
    if (!text::json_depth_ok(t, kMaxNpmDepth))
        throw UsageError(std::string(origin) + ": nested deeper than " +
                         std::to_string(kMaxNpmDepth));
    nlohmann::json j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_discarded()) throw UsageError(std::string(origin) + ": not valid JSON");
    if (!j.is_object()) throw UsageError(std::string(origin) + ": not a JSON object");
    InventoryItem item;
    item.ecosystem = "npm";
    item.name = string_field(j, "name");
    if (item.name.empty()) throw UsageError(std::string(origin) + ": no \"name\"");
    item.version = string_field(j, "version");
    item.publisher = person(j, "author");
    item.state = "installed";
    item.source = std::string(origin);
    for (const char* k : {"description", "license", "homepage"})
        if (auto v = string_field(j, k); !v.empty()) item.extra[k] = v;
    return item;
}

namespace {

void add_package(const fs::Root& root, const std::string& dir, const std::string& expected,
                 std::vector<InventoryItem>& items, SourceReport& rep) {
    if (items.size() >= kMaxNpmPackages) throw UsageError(dir + ": too many packages");
    const std::string pj = dir + "/package.json";
    InventoryItem item;
    try {
        auto t = root.read_file(pj, kMaxJsonBytes);
        if (!t) return;  // not a package (e.g. ".bin")
        item = parse_package_json(*t, pj);
        if (item.name != expected)
            text::warn(rep.warnings,
                       pj + ": name \"" + item.name + "\" differs from its directory");
    } catch (const Error& e) {
        text::warn(rep.warnings, std::string(e.what()) + " (kept from the directory name)");
        item = InventoryItem{};
        item.ecosystem = "npm";
        item.name = expected;
        item.state = "unknown";
        item.source = pj;
        item.extra["malformed"] = true;
    }
    // npm install -g of a directory leaves a symlink: record where it points.
    if (auto target = root.read_link(dir)) item.extra["link"] = *target;
    item.paths.push_back(dir);
    items.push_back(std::move(item));
}

}  // namespace

void NpmSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    bool any = false;
    for (auto r : kRoots) {
        const std::string top = "/" + std::string(r);
        auto names = root.list_dir(top);
        if (!names) continue;
        any = true;
        for (const auto& n : *names) {
            if (!text::safe_component(n) || n.front() == '.') continue;
            if (n.front() == '@') {
                auto scoped = root.list_dir(top + "/" + n);
                if (!scoped) continue;
                for (const auto& s : *scoped)
                    if (text::safe_component(s) && s.front() != '.')
                        add_package(root, top + "/" + n + "/" + s, n + "/" + s, items, rep);
                continue;
            }
            add_package(root, top + "/" + n, n, items, rep);
        }
    }
    c.found = any;
    c.items = std::move(items);
}

}  // namespace audit::sources
