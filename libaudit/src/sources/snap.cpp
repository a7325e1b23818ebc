#include "audit/sources/snap.h"

#include <algorithm>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxYamlBytes = 1u << 20;
constexpr std::size_t kMaxStateBytes = 128u << 20;
constexpr std::size_t kMaxSnapDepth = 128;
constexpr std::size_t kMaxSnaps = 10000;
const char* const kState = "/var/lib/snapd/state.json";

bool is_key(std::string_view k) {
    return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

std::string double_quoted(std::string_view v, const std::string& where) {
    std::string out;
    for (std::size_t i = 1; i < v.size(); ++i) {
        char c = v[i];
        if (c == '"') return out;
        if (c == '\\') {
            if (++i >= v.size()) break;
            switch (v[i]) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                default:
                    throw UsageError(where + ": unsupported escape \\" + std::string(1, v[i]));
            }
            continue;
        }
        out += c;
    }
    throw UsageError(where + ": unterminated double-quoted scalar");
}

std::string single_quoted(std::string_view v, const std::string& where) {
    std::string out;
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '\'') {
            if (i + 1 < v.size() && v[i + 1] == '\'') {
                out += '\'';
                ++i;
                continue;
            }
            return out;
        }
        out += v[i];
    }
    throw UsageError(where + ": unterminated single-quoted scalar");
}

std::string plain(std::string_view v) {
    auto hash = v.find(" #");
    return text::trim(hash == std::string_view::npos ? v : v.substr(0, hash));
}

}  // namespace

std::map<std::string, std::string> parse_snap_yaml(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxYamlBytes) throw UsageError(std::string(origin) + ": too large");
    std::map<std::string, std::string> out;
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        const std::string where = text::where(origin, n);
        if (!text::printable(line)) throw UsageError(where + ": control or binary bytes");
        if (line.empty() || line.front() == ' ' || line.front() == '\t' || line.front() == '#' ||
            line.front() == '-')
            return;  // nested content, list items, comments, "---"
        if (line == "...") return;
        auto colon = line.find(':');
        if (colon == std::string_view::npos || !is_key(line.substr(0, colon)))
            throw UsageError(where + ": not a \"key: value\" line");
        if (colon + 1 < line.size() && line[colon + 1] != ' ' && line[colon + 1] != '\t')
            throw UsageError(where + ": no space after ':'");
        const std::string key(line.substr(0, colon));
        const std::string rest = text::trim(line.substr(colon + 1));
        std::string value;
        if (rest.empty() || rest.front() == '|' || rest.front() == '>' || rest.front() == '[' ||
            rest.front() == '{' || rest.front() == '&' || rest.front() == '*' ||
            rest.front() == '!')
            return;  // a nested block, block scalar, flow collection, anchor or tag: not needed
        if (rest.front() == '"')
            value = double_quoted(rest, where);
        else if (rest.front() == '\'')
            value = single_quoted(rest, where);
        else
            value = plain(rest);
        if (out.count(key)) throw UsageError(where + ": duplicate key " + key);
        out[key] = value;
    });
    if (out["name"].empty()) throw UsageError(std::string(origin) + ": no name");
    return out;
}

std::vector<InventoryItem> parse_snapd_state(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxStateBytes) throw UsageError(std::string(origin) + ": too large");
    if (!text::json_depth_ok(t, kMaxSnapDepth))
        throw UsageError(std::string(origin) + ": nested too deeply");
    nlohmann::json j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw UsageError(std::string(origin) + ": not valid JSON");
    auto data = j.find("data");
    if (data == j.end() || !data->is_object())
        throw UsageError(std::string(origin) + ": no \"data\" object (not a snapd state file)");
    std::vector<InventoryItem> items;
    auto snaps = data->find("snaps");
    if (snaps == data->end()) return items;  // snapd seeded nothing yet
    if (!snaps->is_object())
        throw UsageError(std::string(origin) + ": data.snaps is not an object");
    if (snaps->size() > kMaxSnaps) throw UsageError(std::string(origin) + ": too many snaps");
    for (const auto& [name, s] : snaps->items()) {
        if (!s.is_object() || !text::safe_component(name))
            throw UsageError(std::string(origin) + ": malformed entry for snap \"" + name + "\"");
        InventoryItem item;
        item.ecosystem = "snap";
        item.name = name;
        item.source = std::string(origin) + "#data.snaps." + name;
        auto str = [&](const nlohmann::json& o, const char* k) {
            auto it = o.find(k);
            if (it == o.end()) return std::string();
            if (it->is_string()) return it->get<std::string>();
            if (it->is_number_integer()) return std::to_string(it->get<long long>());
            return std::string();
        };
        const std::string current = str(s, "current");
        if (!current.empty()) item.extra["revision"] = current;
        if (auto v = str(s, "type"); !v.empty()) item.extra["type"] = v;
        auto ch = str(s, "tracking-channel");
        if (ch.empty()) ch = str(s, "channel");
        if (!ch.empty()) item.extra["channel"] = ch;
        // Not value(): it throws a JSON type error, not UsageError, when the host wrote a string.
        const auto a = s.find("active");
        const bool active = a != s.end() && a->is_boolean() && a->get<bool>();
        item.extra["active"] = active;
        // Sequence entries carry the snap-id (and, in some versions, title/summary).
        if (auto seq = s.find("sequence"); seq != s.end() && seq->is_array())
            for (const auto& si : *seq)
                if (si.is_object() && str(si, "revision") == current) {
                    if (auto id = str(si, "snap-id"); !id.empty()) item.extra["snap_id"] = id;
                    if (auto sm = str(si, "summary"); !sm.empty()) item.extra["summary"] = sm;
                }
        // A snap whose current revision is inactive is installed but disabled ("snap disable").
        item.state = "installed";
        items.push_back(std::move(item));
    }
    return items;
}

void SnapSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    bool any = false;
    if (auto t = root.read_file(kState, kMaxStateBytes)) {
        any = true;
        items = parse_snapd_state(*t, kState);
    } else if (root.list_dir("/var/lib/snapd")) {
        any = true;
        text::warn(rep.warnings, "/var/lib/snapd exists but has no state.json");
    }
    // Mounted snaps (a live system, or a disk whose squashfs images are mounted as well).
    if (auto names = root.list_dir("/snap")) {
        any = true;
        for (const auto& n : *names) {
            if (!text::safe_component(n) || n == "bin" || n == "README") continue;
            const std::string dir = "/snap/" + n;
            std::string rev;
            if (auto cur = root.read_link(dir + "/current")) rev = *cur;
            auto it = std::find_if(items.begin(), items.end(),
                                   [&](const InventoryItem& i) { return i.name == n; });
            if (rev.empty() && it != items.end()) rev = it->extra.value("revision", "");
            if (rev.empty() || !text::safe_component(rev)) continue;
            const std::string yaml = dir + "/" + rev + "/meta/snap.yaml";
            std::map<std::string, std::string> y;
            try {
                auto t = root.read_file(yaml, kMaxYamlBytes);
                if (!t) continue;  // not mounted
                y = parse_snap_yaml(*t, yaml);
            } catch (const Error& e) {
                text::warn(rep.warnings, e.what());
                continue;
            }
            if (it == items.end()) {
                InventoryItem item;
                item.ecosystem = "snap";
                item.name = n;
                item.state = "installed";
                item.source = yaml;
                item.extra["revision"] = rev;
                items.push_back(std::move(item));
                it = items.end() - 1;
            }
            if (y["name"] != n) text::warn(rep.warnings, yaml + ": name differs from " + dir);
            it->version = y["version"];
            if (!y["summary"].empty()) it->extra["summary"] = y["summary"];
            if (!y["publisher"].empty()) it->publisher = y["publisher"];
            if (!y["type"].empty() && !it->extra.contains("type")) it->extra["type"] = y["type"];
            it->paths.push_back(dir + "/" + rev);
            it->extra["snap_yaml"] = yaml;
        }
    }
    c.found = any;
    c.items = std::move(items);
}

}  // namespace audit::sources
