#include "audit/sources/systemd.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxUnitBytes = 1u << 20;
constexpr std::size_t kMaxUnitLine = 64 * 1024;
constexpr std::size_t kMaxUnits = 100000;
constexpr std::size_t kMaxLinks = 200000;
constexpr std::size_t kMaxValues = 4096;

// Highest precedence first: a unit in etc overrides the same name in usr/lib.
constexpr std::array<std::string_view, 5> kUnitDirs = {
    "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system", "/lib/systemd/system"};
constexpr std::array<std::string_view, 4> kUnitTypes = {".service", ".socket", ".timer", ".path"};
constexpr std::array<std::string_view, 6> kExecKeys = {
    "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"};

bool is_unit_name(std::string_view n) {
    for (auto t : kUnitTypes)
        if (text::ends_with(n, t) && n.size() > t.size()) return true;
    return false;
}

std::vector<std::string> unit_words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size() && out.size() < kMaxValues) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

// "ExecStart=-@/usr/bin/foo argv0 --x": the prefixes -@:+! are flags, the first word the program.
std::string exec_program(std::string_view v) {
    auto w = unit_words(v);
    if (w.empty()) return {};
    std::string_view p = w.front();
    while (!p.empty() && (p.front() == '-' || p.front() == '@' || p.front() == ':' ||
                          p.front() == '+' || p.front() == '!'))
        p.remove_prefix(1);
    if (p.size() >= 2 && p.front() == '"' && p.back() == '"') p = p.substr(1, p.size() - 2);
    return std::string(p);
}

// For a template instance "foo@bar.service" the unit file is "foo@.service".
std::string template_of(const std::string& name) {
    auto at = name.find('@');
    auto dot = name.rfind('.');
    if (at == std::string::npos || dot == std::string::npos || dot < at) return {};
    return name.substr(0, at + 1) + name.substr(dot);
}

struct Unit {
    std::string name, path, dir;
    bool masked = false;
    std::string alias_of;              // a symlink unit naming another unit
    std::set<std::string> enabled_by;  // "multi-user.target.wants" directories that link it
};

}  // namespace

UnitFile parse_unit_file(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxUnitBytes) throw UsageError(std::string(origin) + ": too large");
    UnitFile u;
    std::string section, pending;
    std::size_t pending_line = 0;
    auto apply = [&](const std::string& line, std::size_t n) {
        const std::string l = text::trim(line);
        if (l.empty() || l.front() == '#' || l.front() == ';') return;
        if (l.front() == '[') {
            if (l.back() != ']')
                throw UsageError(text::where(origin, n) + ": unterminated section");
            section = l.substr(1, l.size() - 2);
            return;
        }
        auto eq = l.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError(text::where(origin, n) + ": not a \"Key=value\" line");
        const std::string key = text::trim(l.substr(0, eq));
        const std::string value = text::trim(l.substr(eq + 1));
        if (section == "Unit" && key == "Description") {
            u.description = value;
        } else if (section == "Service" || section == "Socket") {
            for (auto k : kExecKeys)
                if (key == k && u.exec.size() < kMaxValues)
                    if (auto p = exec_program(value); !p.empty() && p.front() == '/')
                        u.exec.push_back(fs::normalize(p));
        } else if (section == "Install") {
            auto add = [&](std::vector<std::string>& to) {
                if (value.empty()) to.clear();  // an empty assignment resets the list
                for (auto& w : unit_words(value))
                    if (to.size() < kMaxValues) to.push_back(w);
            };
            if (key == "WantedBy")
                add(u.wanted_by);
            else if (key == "RequiredBy")
                add(u.required_by);
            else if (key == "Also")
                add(u.also);
            else if (key == "Alias")
                add(u.aliases);
        }
    };
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        if (line.size() > kMaxUnitLine)
            throw UsageError(text::where(origin, n) + ": line longer than " +
                             std::to_string(kMaxUnitLine) + " bytes");
        if (!text::printable(line))
            throw UsageError(text::where(origin, n) + ": control or binary bytes");
        if (pending.empty()) pending_line = n;
        const std::string trimmed = text::trim(line);
        // Comments never continue; a trailing backslash joins the next line.
        if (pending.empty() && !trimmed.empty() && (trimmed[0] == '#' || trimmed[0] == ';')) return;
        if (!trimmed.empty() && trimmed.back() == '\\') {
            if (pending.size() + trimmed.size() > kMaxUnitLine * 4)
                throw UsageError(text::where(origin, n) + ": continued line too long");
            pending += trimmed.substr(0, trimmed.size() - 1) + " ";
            return;
        }
        apply(pending + std::string(line), pending_line);
        pending.clear();
    });
    if (!pending.empty()) apply(pending, pending_line);
    return u;
}

void SystemdSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::map<std::string, Unit> units;
    std::map<std::string, std::set<std::string>> wanted;  // unit name -> linking directories
    std::size_t links = 0;
    bool any = false;
    for (auto dir : kUnitDirs) {
        auto names = root.list_dir(dir);
        if (!names) continue;
        any = true;
        for (const auto& n : *names) {
            if (!text::safe_component(n)) continue;
            const std::string path = std::string(dir) + "/" + n;
            const bool deps = text::ends_with(n, ".wants") || text::ends_with(n, ".requires");
            if (deps) {
                auto entries = root.list_dir(path);
                if (!entries) continue;
                for (const auto& e : *entries) {
                    if (++links > kMaxLinks) throw UsageError(path + ": too many links");
                    if (!is_unit_name(e) || !text::safe_component(e)) continue;
                    // Links in etc (and run) are what "systemctl enable" made; the
                    // vendor's own .wants links in usr/lib make a unit static-enabled.
                    wanted[e].insert(path);
                }
                continue;
            }
            if (!is_unit_name(n) || units.count(n)) continue;
            if (units.size() >= kMaxUnits)
                throw UsageError("more than " + std::to_string(kMaxUnits) + " units");
            Unit u;
            u.name = n;
            u.path = path;
            u.dir = dir;
            if (auto target = root.read_link(path); target && !target->empty()) {
                if (*target == "/dev/null") {
                    u.masked = true;
                } else {
                    const auto base = target->substr(target->rfind('/') + 1);
                    if (base != n) u.alias_of = base;
                    u.path = target->front() == '/'
                                 ? fs::normalize(*target)
                                 : fs::normalize(std::string(dir) + "/" + *target);
                }
            }
            units.emplace(n, std::move(u));
        }
    }
    if (!any) return;
    c.found = true;

    std::vector<InventoryItem> items;
    for (auto& [name, u] : units) {
        InventoryItem item;
        item.ecosystem = "systemd";
        item.name = name;
        item.source = u.path;
        item.paths.push_back(u.path);
        item.state = "installed";
        std::string enablement = "disabled";
        if (u.masked) {
            enablement = "masked";
        } else {
            try {
                auto t = root.read_file(u.path, kMaxUnitBytes);
                if (!t) {
                    item.state = "link-only";  // an alias or enablement left pointing nowhere
                    if (u.path != u.dir + "/" + name) item.paths.push_back(u.dir + "/" + name);
                } else {
                    UnitFile f = parse_unit_file(*t, u.path);
                    if (!f.description.empty()) item.extra["description"] = f.description;
                    item.extra["exec"] = f.exec;
                    for (const auto& p : f.exec)
                        if (std::find(item.paths.begin(), item.paths.end(), p) == item.paths.end())
                            item.paths.push_back(p);
                    if (!f.wanted_by.empty()) item.extra["wanted_by"] = f.wanted_by;
                    if (!f.aliases.empty()) item.extra["aliases"] = f.aliases;
                    if (f.wanted_by.empty() && f.required_by.empty() && f.also.empty() &&
                        f.aliases.empty())
                        enablement = "static";
                }
            } catch (const Error& e) {
                text::warn(rep.warnings, e.what());
                item.extra["error"] = e.what();
            }
        }
        std::set<std::string> by = wanted[name];
        if (auto t = template_of(name); !t.empty())
            for (const auto& [n, dirs] : wanted)
                if (template_of(n) == name) by.insert(dirs.begin(), dirs.end());
        if (!by.empty() && !u.masked) {
            bool admin = false;
            for (const auto& d : by)
                admin = admin || text::starts_with(d, "/etc/") || text::starts_with(d, "/run/");
            // A template enabled only through instances (getty@tty1) is "indirect", as systemctl
            // says.
            const bool direct = wanted.count(name) && !wanted[name].empty();
            enablement = !admin ? "static" : direct ? "enabled" : "indirect";
            item.extra["enabled_by"] = std::vector<std::string>(by.begin(), by.end());
        }
        if (!u.alias_of.empty()) item.extra["alias_of"] = u.alias_of;
        item.extra["enablement"] = enablement;
        item.extra["unit_dir"] = u.dir;
        items.push_back(std::move(item));
    }
    // Enablement links whose unit file is gone: what a removal without "disable" leaves behind.
    for (const auto& [name, dirs] : wanted) {
        if (units.count(name) || units.count(template_of(name))) continue;
        InventoryItem item;
        item.ecosystem = "systemd";
        item.name = name;
        item.state = "link-only";
        for (const auto& d : dirs) item.paths.push_back(d + "/" + name);
        item.source = item.paths.front();
        item.extra["enabled_by"] = std::vector<std::string>(dirs.begin(), dirs.end());
        item.extra["enablement"] = "dangling";
        items.push_back(std::move(item));
    }
    c.items = std::move(items);
}

}  // namespace audit::sources
