#include "audit/attest/diff.h"
#include "json_field.h"

#include <map>
#include <set>
#include <tuple>

#include "audit/attest/attest.h"
#include "audit/error.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxLines = 4'000'000;

template <typename Fn>
void for_each_line(const evidence::Bundle& b, const std::string& name, Fn&& fn) {
    auto it = b.files.find(name);
    if (it == b.files.end())
        throw VerifyError(b.path + ": " + name + " was not kept (too large to compare)");
    const std::string& text = it->second;
    std::size_t start = 0, line = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (++line > kMaxLines) throw VerifyError(b.path + ": " + name + " has too many lines");
        if (end > start) {
            json j = json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                 text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
            if (j.is_discarded() || !j.is_object())
                throw VerifyError(b.path + ": " + name + " line " + std::to_string(line) +
                                  " is not a JSON object");
            fn(j);
        }
        start = end + 1;
    }
}

struct FileKey {
    std::string sha256;   // "" when the file was not hashed
    std::string content;  // what equality means: the digest, a link target, or metadata
};

std::map<std::string, FileKey> files_of(const evidence::Bundle& b) {
    std::map<std::string, FileKey> out;
    for_each_line(b, "files.jsonl", [&](const json& j) {
        std::string type = str(j, "type");
        // Directories are not files to hashdeep; "missing" records are paths a package or unit
        // named that do not exist: nothing was there to compare.
        if (type == "dir" || type == "missing") return;
        FileKey k;
        k.sha256 = str(j, "sha256");
        if (!k.sha256.empty())
            k.content = "sha256:" + k.sha256;
        else if (type == "symlink")
            k.content = "link:" + str(j, "link");
        else
            k.content = "meta:" + type + ":" + j.value("size", json(0)).dump() + ":" +
                        j.value("mtime", json(0)).dump();
        out[str(j, "path")] = std::move(k);
    });
    return out;
}

using ItemKey = std::tuple<std::string, std::string, std::string>;  // ecosystem, name, arch

std::map<ItemKey, std::pair<std::string, std::string>> items_of(const evidence::Bundle& b) {
    std::map<ItemKey, std::pair<std::string, std::string>> out;
    for_each_line(b, "inventory.jsonl", [&](const json& j) {
        out[{str(j, "ecosystem"), str(j, "name"), str(j, "arch")}] = {str(j, "version"),
                                                                      str(j, "state")};
    });
    return out;
}

std::vector<std::string> present_of(const evidence::Bundle& b) {
    return b.evidence.findings.present;
}

json change_json(const FileChange& c) {
    json j = {{"path", c.path}};
    if (!c.from_path.empty()) j["from"] = c.from_path;
    if (!c.sha256_a.empty()) j["sha256_a"] = c.sha256_a;
    if (!c.sha256_b.empty()) j["sha256_b"] = c.sha256_b;
    return j;
}

json item_json(const ItemChange& c) {
    json j = {{"ecosystem", c.ecosystem}, {"name", c.name}, {"arch", c.arch}};
    if (!c.version_a.empty() || !c.state_a.empty())
        j["a"] = {{"version", c.version_a}, {"state", c.state_a}};
    if (!c.version_b.empty() || !c.state_b.empty())
        j["b"] = {{"version", c.version_b}, {"state", c.state_b}};
    return j;
}

std::string host_of(const evidence::Bundle& b) {
    const auto& host = b.evidence.host;
    return host_key(host.id("machine_id"), host.id("windows_machine_guid"),
                    host.id("dmi_product_uuid"), host.hostname);
}

}  // namespace

bool BundleDiff::empty() const {
    return moved.empty() && added.empty() && missing.empty() && changed.empty() &&
           items_added.empty() && items_removed.empty() && items_changed.empty() &&
           products_a == products_b;
}

json BundleDiff::to_json() const {
    auto list = [](const std::vector<FileChange>& v) {
        json a = json::array();
        for (const auto& c : v) a.push_back(change_json(c));
        return a;
    };
    auto items = [](const std::vector<ItemChange>& v) {
        json a = json::array();
        for (const auto& c : v) a.push_back(item_json(c));
        return a;
    };
    return {{"host_a", host_a},
            {"host_b", host_b},
            {"same_host", same_host()},
            {"counts",
             {{"matched", matched.size()},
              {"moved", moved.size()},
              {"new", added.size()},
              {"missing", missing.size()},
              {"changed", changed.size()},
              {"items_added", items_added.size()},
              {"items_removed", items_removed.size()},
              {"items_changed", items_changed.size()}}},
            {"files",
             {{"moved", list(moved)},
              {"new", list(added)},
              {"missing", list(missing)},
              {"changed", list(changed)}}},
            {"inventory",
             {{"added", items(items_added)},
              {"removed", items(items_removed)},
              {"changed", items(items_changed)}}},
            {"products_present", {{"a", products_a}, {"b", products_b}}}};
}

BundleDiff diff_bundles(const evidence::Bundle& a, const evidence::Bundle& b) {
    BundleDiff d;
    d.host_a = host_of(a);
    d.host_b = host_of(b);
    d.products_a = present_of(a);
    d.products_b = present_of(b);

    const auto fa = files_of(a), fb = files_of(b);
    auto unchanged = [&](const std::string& path, const FileKey& ka) {
        auto it = fb.find(path);
        return it != fb.end() && it->second.content == ka.content;
    };
    std::map<std::string, std::string> a_by_digest;  // sha256 -> a path of A holding it
    for (const auto& [path, k] : fa) {
        if (k.sha256.empty()) continue;
        auto it = a_by_digest.find(k.sha256);
        // The origin of a move is preferably a path whose content B no longer has there.
        if (it == a_by_digest.end() ||
            (unchanged(it->second, fa.at(it->second)) && !unchanged(path, k)))
            a_by_digest[k.sha256] = path;
    }

    // hashdeep's order: same path and content, else content known under another path (moved,
    // even when the path itself also existed), else same path (changed), else new.
    for (const auto& [path, kb] : fb) {
        auto ia = fa.find(path);
        if (ia != fa.end() && ia->second.content == kb.content) {
            d.matched.push_back(path);
            continue;
        }
        auto known = kb.sha256.empty() ? a_by_digest.end() : a_by_digest.find(kb.sha256);
        if (known != a_by_digest.end())
            d.moved.push_back({path, known->second, kb.sha256, kb.sha256});
        else if (ia != fa.end())
            d.changed.push_back({path, "", ia->second.sha256, kb.sha256});
        else
            d.added.push_back({path, "", "", kb.sha256});
    }
    // As hashdeep counts "known files not found": a path of A that B has neither at the same
    // path (same or changed content) nor took as the origin of a move. Another copy of the
    // same content elsewhere does not vouch for it.
    std::set<std::string> origins;
    for (const auto& m : d.moved) origins.insert(m.from_path);
    for (const auto& [path, ka] : fa)
        if (!fb.count(path) && !origins.count(path)) d.missing.push_back({path, "", ka.sha256, ""});

    const auto ia = items_of(a), ib = items_of(b);
    for (const auto& [key, vb] : ib) {
        auto it = ia.find(key);
        ItemChange c{std::get<0>(key), std::get<1>(key), std::get<2>(key), "", vb.first, "",
                     vb.second};
        if (it == ia.end()) {
            d.items_added.push_back(c);
        } else if (it->second != vb) {
            c.version_a = it->second.first;
            c.state_a = it->second.second;
            d.items_changed.push_back(c);
        }
    }
    for (const auto& [key, va] : ia)
        if (!ib.count(key))
            d.items_removed.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                       va.first, "", va.second, ""});
    return d;
}

}  // namespace audit::attest
