#include "audit/sources/sysv.h"

#include <array>
#include <cctype>
#include <set>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxScriptBytes = 4u << 20;
constexpr std::size_t kMaxScripts = 20000;
constexpr std::size_t kMaxSysvHeaderLines = 200;
constexpr std::array<std::string_view, 2> kInitDirs = {"/etc/init.d", "/etc/rc.d/init.d"};
// rc directories: Debian's /etc/rcN.d and Red Hat's /etc/rc.d/rcN.d.
constexpr std::array<std::string_view, 2> kRcParents = {"/etc", "/etc/rc.d"};
constexpr std::string_view kLevels = "0123456S";

// Files in init.d that are not services.
bool is_script_name(std::string_view n) {
    if (n == "README" || n == "skeleton" || n == "functions" || n == ".depend.boot" ||
        n == ".depend.start" || n == ".depend.stop" || n.front() == '.')
        return false;
    for (auto s : {".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmsave", ".rpmnew", ".orig", "~"})
        if (text::ends_with(n, s)) return false;
    return true;
}

}  // namespace

std::map<std::string, std::string> parse_init_script(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxScriptBytes) throw UsageError(std::string(origin) + ": too large");
    if (t.find('\0') != std::string_view::npos)
        throw UsageError(std::string(origin) + ": binary content, not a script");
    std::map<std::string, std::string> out;
    bool in_block = false;
    std::size_t block_lines = 0;
    std::string last;
    text::for_each_line(t, [&](std::string_view line, std::size_t) {
        const std::string l = text::trim(line);
        if (l == "### BEGIN INIT INFO") {
            in_block = true;
            return;
        }
        if (l == "### END INIT INFO") {
            in_block = false;
            return;
        }
        if (in_block && ++block_lines <= kMaxSysvHeaderLines && text::starts_with(l, "#")) {
            std::string body = l.substr(1);
            // "#  continuation" (a tab or two spaces) extends the previous field.
            if (!last.empty() && (text::starts_with(body, "\t") || text::starts_with(body, "  "))) {
                if (out[last].size() < 4096) out[last] += " " + text::trim(body);
                return;
            }
            body = text::trim(body);
            auto colon = body.find(':');
            if (colon == std::string::npos || colon == 0) return;
            last = text::lower(text::trim(body.substr(0, colon)));
            if (!out.count(last)) out[last] = text::trim(body.substr(colon + 1));
            return;
        }
        // Debian's skeleton style: DAEMON=/usr/sbin/foo
        if (!in_block && text::starts_with(l, "DAEMON=") && !out.count("daemon")) {
            std::string v = l.substr(7);
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
                v = v.substr(1, v.size() - 2);
            if (!v.empty() && v.front() == '/' && v.find_first_of(" $`;") == std::string::npos &&
                text::printable(v))
                out["daemon"] = fs::normalize(v);
        }
    });
    return out;
}

void SysvSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    std::set<std::string> seen;
    bool any = false;
    // Which runlevels start (S??) or stop (K??) each script.
    std::map<std::string, std::set<std::string>> starts;
    for (auto parent : kRcParents)
        for (char level : kLevels) {
            const std::string rc = std::string(parent) + "/rc" + level + ".d";
            auto names = root.list_dir(rc);
            if (!names) continue;
            for (const auto& n : *names)
                if (n.size() > 3 && n[0] == 'S' && std::isdigit(static_cast<unsigned char>(n[1])) &&
                    std::isdigit(static_cast<unsigned char>(n[2])))
                    starts[n.substr(3)].insert(std::string(1, level));
        }
    for (auto dir : kInitDirs) {
        // /etc/init.d is a symlink to rc.d/init.d on Red Hat systems: names are read once.
        auto names = root.list_dir(dir);
        if (!names) continue;
        any = true;
        for (const auto& n : *names) {
            if (!text::safe_component(n) || !is_script_name(n) || !seen.insert(n).second) continue;
            if (items.size() >= kMaxScripts)
                throw UsageError(std::string(dir) + ": too many scripts");
            const std::string path = std::string(dir) + "/" + n;
            if (!root.open(path, false)) continue;  // a directory, FIFO or dangling link
            InventoryItem item;
            item.ecosystem = "sysv";
            item.name = n;
            item.state = "installed";
            item.source = path;
            item.paths.push_back(path);
            try {
                auto t = root.read_file(path, kMaxScriptBytes);
                auto f = t ? parse_init_script(*t, path) : std::map<std::string, std::string>{};
                for (const char* k : {"provides", "short-description", "default-start"})
                    if (auto it = f.find(k); it != f.end()) item.extra[k] = it->second;
                if (auto it = f.find("daemon"); it != f.end()) {
                    item.extra["exec"] = std::vector<std::string>{it->second};
                    item.paths.push_back(it->second);
                }
            } catch (const Error& e) {
                text::warn(rep.warnings, e.what());
                item.extra["error"] = e.what();
            }
            auto it = starts.find(n);
            item.extra["enablement"] = it == starts.end() ? "disabled" : "enabled";
            if (it != starts.end())
                item.extra["runlevels"] =
                    std::vector<std::string>(it->second.begin(), it->second.end());
            items.push_back(std::move(item));
        }
    }
    c.found = any;
    c.items = std::move(items);
}

}  // namespace audit::sources
