#include "audit/sources/flatpak.h"

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxKeyfileBytes = 1u << 20;
constexpr std::size_t kMaxXmlBytes = 4u << 20;
constexpr std::size_t kMaxRefs = 20000;
const char* const kBase = "/var/lib/flatpak";

}  // namespace

std::map<std::string, std::string> parse_keyfile(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxKeyfileBytes) throw UsageError(std::string(origin) + ": too large");
    std::map<std::string, std::string> out;
    std::string section;
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        const std::string where = text::where(origin, n);
        if (!text::printable(line)) throw UsageError(where + ": control or binary bytes");
        const std::string l = text::trim(line);
        if (l.empty() || l.front() == '#') return;
        if (l.front() == '[') {
            if (l.back() != ']' || l.size() < 3) throw UsageError(where + ": malformed group");
            section = l.substr(1, l.size() - 2);
            return;
        }
        auto eq = l.find('=');
        if (eq == std::string::npos || eq == 0 || section.empty())
            throw UsageError(where + ": not a \"key=value\" line in a group");
        out.emplace(section + "/" + text::trim(l.substr(0, eq)), text::trim(l.substr(eq + 1)));
    });
    return out;
}

std::string appstream_release_version(std::string_view xml) {
    const auto rel = xml.find("<release ");
    if (rel == std::string_view::npos) return {};
    const auto end = xml.find('>', rel);
    if (end == std::string_view::npos) return {};
    const std::string_view tag = xml.substr(rel, end - rel);
    for (std::string_view key : {" version=\"", " version='"}) {
        auto v = tag.find(key);
        if (v == std::string_view::npos) continue;
        const char q = key.back();
        const auto start = v + key.size();
        const auto close = tag.find(q, start);
        if (close == std::string_view::npos) return {};
        std::string out(tag.substr(start, close - start));
        return text::printable(out) && out.size() <= 256 ? out : std::string();
    }
    return {};
}

namespace {

void add_ref(const fs::Root& root, const std::string& kind, const std::string& id,
             const std::string& arch, const std::string& branch, std::vector<InventoryItem>& items,
             SourceReport& rep) {
    const std::string dir = std::string(kBase) + "/" + kind + "/" + id + "/" + arch + "/" + branch;
    auto commit = root.read_link(dir + "/active");
    if (!commit) return;  // a ref being deployed, or only old deployments left
    InventoryItem item;
    item.ecosystem = "flatpak";
    item.name = id;
    item.arch = arch;
    item.state = "installed";
    item.source = dir + "/active/metadata";
    item.paths.push_back(dir + "/active");
    item.extra["kind"] = kind == "app" ? "app" : "runtime";
    item.extra["branch"] = branch;
    item.extra["commit"] = *commit;
    try {
        auto meta = root.read_file(dir + "/active/metadata", kMaxKeyfileBytes);
        if (!meta) throw UsageError(dir + "/active/metadata: missing");
        auto k = parse_keyfile(*meta, item.source);
        const std::string group = kind == "app" ? "Application" : "Runtime";
        auto named = k.find(group + "/name");
        if (named == k.end()) throw UsageError(item.source + ": no [" + group + "] name");
        if (named->second != id)
            text::warn(rep.warnings, item.source + ": name differs from the ref");
        for (const char* f : {"runtime", "sdk", "command"})
            if (auto it = k.find(group + "/" + f); it != k.end()) item.extra[f] = it->second;
        // The AppStream data the app ships names its releases, newest first.
        for (const std::string& x : {dir + "/active/files/share/metainfo/" + id + ".metainfo.xml",
                                     dir + "/active/files/share/appdata/" + id + ".appdata.xml"}) {
            auto xml = root.read_file(x, kMaxXmlBytes);
            if (!xml) continue;
            item.version = appstream_release_version(*xml);
            if (!item.version.empty()) break;
        }
        if (item.version.empty()) item.version = branch;
    } catch (const Error& e) {
        text::warn(rep.warnings, e.what());
        item.extra["malformed"] = true;
    }
    items.push_back(std::move(item));
}

}  // namespace

void FlatpakSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    bool any = false;
    for (const std::string kind : {"app", "runtime"}) {
        auto ids = root.list_dir(std::string(kBase) + "/" + kind);
        if (!ids) continue;
        any = true;
        for (const auto& id : *ids) {
            if (!text::safe_component(id)) continue;
            auto arches = root.list_dir(std::string(kBase) + "/" + kind + "/" + id);
            if (!arches) continue;
            for (const auto& arch : *arches) {
                if (!text::safe_component(arch) || arch == "current") continue;
                auto branches =
                    root.list_dir(std::string(kBase) + "/" + kind + "/" + id + "/" + arch);
                if (!branches) continue;
                for (const auto& b : *branches) {
                    if (!text::safe_component(b)) continue;
                    if (items.size() >= kMaxRefs) throw UsageError("too many flatpak refs");
                    add_ref(root, kind, id, arch, b, items, rep);
                }
            }
        }
    }
    if (!any && root.list_dir(kBase)) any = true;  // installation without apps yet
    c.found = any;
    c.items = std::move(items);
}

}  // namespace audit::sources
