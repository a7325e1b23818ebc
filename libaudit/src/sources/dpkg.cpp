#include "audit/sources/dpkg.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>
#include <optional>
#include <set>

#include "audit/core/ascii.h"
#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxStatusBytes = 256u << 20;
constexpr std::size_t kMaxInfoBytes = 64u << 20;
constexpr std::size_t kMaxDpkgLine = 64 * 1024;
constexpr std::size_t kMaxFieldsPerStanza = 512;
constexpr std::size_t kMaxStanzas = 4u << 20;
constexpr std::size_t kMaxJournalFiles = 10000;
const char* const kAdmin = "var/lib/dpkg";

const std::set<std::string> kWants = {"unknown", "install", "hold", "deinstall", "purge"};
const std::set<std::string> kFlags = {"ok", "reinstreq"};
const std::set<std::string> kStates = {"not-installed",    "config-files",    "half-installed",
                                       "unpacked",         "half-configured", "triggers-awaited",
                                       "triggers-pending", "installed"};

// Warnings are bounded too: a file of junk must not become a gigabyte of warnings.
using text::warn;  // bounded (formats/text.h)

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
    return std::string(s.substr(b, e - b));
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

// dpkg's own rule (lib/dpkg/parsehelp.c), tolerating upper case as old databases may have it.
bool valid_package_name(std::string_view n) {
    if (n.empty() || n.size() > 256 || !std::isalnum(static_cast<unsigned char>(n[0])))
        return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
            return false;
    return true;
}

bool valid_arch(std::string_view a) {
    if (a.empty() || a.size() > 64) return false;
    for (char c : a)
        if (!std::islower(static_cast<unsigned char>(c)) &&
            !std::isdigit(static_cast<unsigned char>(c)) && c != '-')
            return false;
    return true;
}

bool printable_text(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 && c != '\t' && c != '\n') return false;
        if (u == 0x7f) return false;
    }
    return true;
}

bool is_md5(std::string_view s) {
    if (s.size() != 32) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

std::string line_ref(std::string_view origin, std::size_t line) {
    return std::string(origin) + ":" + std::to_string(line);
}

struct Stanza {
    std::size_t line = 0;
    std::map<std::string, std::string> fields;  // lower-case name -> value (continuations "\n")
    bool bad = false;                           // a problem already warned about
};

// "path md5 [obsolete] [remove-on-upgrade]" lines; paths may hold spaces, so split from the right.
nlohmann::json parse_conffiles(const std::string& value, const std::string& where,
                               std::vector<std::string>& warnings) {
    nlohmann::json out = nlohmann::json::array();
    std::size_t pos = 0;
    while (pos <= value.size()) {
        std::size_t nl = value.find('\n', pos);
        if (nl == std::string::npos) nl = value.size();
        std::vector<std::string> w = words(std::string_view(value).substr(pos, nl - pos));
        pos = nl + 1;
        if (w.empty()) continue;
        bool obsolete = false, remove_on_upgrade = false;
        while (w.size() > 2 && (w.back() == "obsolete" || w.back() == "remove-on-upgrade")) {
            (w.back() == "obsolete" ? obsolete : remove_on_upgrade) = true;
            w.pop_back();
        }
        if (w.size() < 2 || w.front().empty() || w.front()[0] != '/') {
            warn(warnings, where + ": malformed Conffiles line");
            continue;
        }
        std::string path = w.front();
        for (std::size_t i = 1; i + 1 < w.size(); ++i) path += " " + w[i];
        nlohmann::json e = {{"path", fs::normalize(path)}, {"md5", core::ascii_lower(w.back())}};
        if (obsolete) e["obsolete"] = true;
        if (remove_on_upgrade) e["remove_on_upgrade"] = true;
        out.push_back(std::move(e));
    }
    return out;
}

std::optional<InventoryItem> to_item(const Stanza& s, std::string_view origin,
                                     std::vector<std::string>& warnings) {
    const std::string where = line_ref(origin, s.line);
    auto get = [&](const char* k) -> std::string {
        auto it = s.fields.find(k);
        return it == s.fields.end() ? std::string() : it->second;
    };
    const std::string name = trim(get("package"));
    if (name.empty()) {
        warn(warnings, where + ": stanza without a Package field skipped");
        return std::nullopt;
    }
    if (!valid_package_name(name)) {
        warn(warnings, where + ": stanza with an invalid Package name skipped");
        return std::nullopt;
    }
    InventoryItem item;
    item.ecosystem = "deb";
    item.name = name;
    item.source = where;
    item.version = trim(get("version"));
    if (!printable_text(item.version) || item.version.find('\n') != std::string::npos) {
        warn(warnings, where + ": " + name + ": unprintable Version");
        item.version.clear();
    }
    item.arch = trim(get("architecture"));
    if (!item.arch.empty() && !valid_arch(item.arch)) {
        warn(warnings, where + ": " + name + ": invalid Architecture");
        item.arch.clear();
    }
    item.publisher = trim(get("maintainer"));
    if (!printable_text(item.publisher)) item.publisher.clear();

    // Status "want flag state". A garbled status keeps the item (state "unknown", which counts as
    // installed): a broken record of a product must not read as its absence.
    std::vector<std::string> st = words(get("status"));
    if (st.size() == 3 && kWants.count(st[0]) && kFlags.count(st[1]) && kStates.count(st[2])) {
        item.state = st[2];
        item.extra["want"] = st[0];
        item.extra["flag"] = st[1];
    } else {
        item.state = "unknown";
        warn(warnings, where + ": " + name + ": " +
                           (s.fields.count("status") ? "malformed Status" : "no Status field") +
                           ", state recorded as unknown");
    }
    if (auto src = trim(get("source")); !src.empty() && printable_text(src))
        item.extra["source_package"] = src;
    if (s.fields.count("conffiles"))
        item.extra["conffiles"] = parse_conffiles(get("conffiles"), where, warnings);
    if (s.bad) item.extra["malformed"] = true;
    return item;
}

// Lines of an info file, CR tolerated (formats/text.h).
using text::for_each_line;

// info/<pkg>:<arch>.<ext> (multi-arch "same") or info/<pkg>.<ext>.
std::optional<std::string> read_info(const fs::Root& root, const InventoryItem& item,
                                     const char* ext, std::string& shown) {
    std::vector<std::string> names;
    if (!item.arch.empty()) names.push_back(item.name + ":" + item.arch + "." + ext);
    names.push_back(item.name + "." + ext);
    for (const auto& n : names) {
        shown = "/" + std::string(kAdmin) + "/info/" + n;
        auto text = root.read_file(shown, kMaxInfoBytes);
        if (text) return text;
    }
    return std::nullopt;
}

// Package states in which dpkg keeps a file list.
bool has_files(const std::string& state) {
    return state != "config-files" && state != "not-installed";
}

void add_info(const fs::Root& root, InventoryItem& item, std::vector<std::string>& warnings) {
    std::string shown;
    try {
        auto list = read_info(root, item, "list", shown);
        if (!list) {
            if (has_files(item.state)) warn(warnings, item.name + ": no file list in info/");
        } else {
            std::set<std::string> seen;
            std::size_t bad = 0;
            for_each_line(*list, [&](std::string_view line, std::size_t) {
                if (line.empty()) return;
                if (line.front() != '/' || !printable_text(line)) {
                    ++bad;
                    return;
                }
                std::string p = fs::normalize(line);
                if (p != "/" && seen.insert(p).second) item.paths.push_back(std::move(p));
            });
            if (bad) warn(warnings, shown + ": " + std::to_string(bad) + " malformed lines");
        }
    } catch (const Error& e) {
        warn(warnings, item.name + ": file list unreadable: " + e.what());
    }
    try {
        auto sums = read_info(root, item, "md5sums", shown);
        if (sums) {
            std::size_t bad = 0;
            for_each_line(*sums, [&](std::string_view line, std::size_t) {
                if (line.empty()) return;
                // "<32 hex>  <path without leading slash>"
                if (line.size() < 35 || !is_md5(line.substr(0, 32)) || line[32] != ' ' ||
                    !printable_text(line)) {
                    ++bad;
                    return;
                }
                std::string_view rest = line.substr(33);
                while (!rest.empty() && (rest.front() == ' ' || rest.front() == '*'))
                    rest.remove_prefix(1);
                if (rest.empty()) {
                    ++bad;
                    return;
                }
                item.md5sums[fs::normalize(rest)] = core::ascii_lower(line.substr(0, 32));
            });
            if (bad) warn(warnings, shown + ": " + std::to_string(bad) + " malformed lines");
        }
    } catch (const Error& e) {
        warn(warnings, item.name + ": md5sums unreadable: " + e.what());
    }
}

bool all_digits(const std::string& s) {
    return !s.empty() && s.size() <= 10 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::vector<InventoryItem> parse_dpkg_status(std::string_view text, std::string_view origin,
                                             std::vector<std::string>& warnings) {
    if (text.size() > kMaxStatusBytes)
        throw UsageError(std::string(origin) + ": larger than " + std::to_string(kMaxStatusBytes) +
                         " bytes");
    std::vector<InventoryItem> items;
    std::size_t stanzas = 0, junk = 0;
    bool any_content = false;
    Stanza cur;
    std::string last_field;
    bool in_stanza = false;

    auto finish = [&] {
        if (!in_stanza) return;
        if (++stanzas > kMaxStanzas)
            throw UsageError(std::string(origin) + ": more than " + std::to_string(kMaxStanzas) +
                             " stanzas");
        if (auto item = to_item(cur, origin, warnings)) items.push_back(std::move(*item));
        cur = Stanza{};
        last_field.clear();
        in_stanza = false;
    };

    std::size_t pos = 0, lineno = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty()) {
            finish();
            continue;
        }
        any_content = true;
        if (!in_stanza) {
            in_stanza = true;
            cur.line = lineno;
        }
        const std::string where = line_ref(origin, lineno);
        if (line.size() > kMaxDpkgLine) {
            warn(warnings,
                 where + ": line longer than " + std::to_string(kMaxDpkgLine) + " bytes ignored");
            cur.bad = true;
            last_field.clear();
            continue;
        }
        if (!printable_text(line)) {
            warn(warnings, where + ": control or binary bytes, line ignored");
            cur.bad = true;
            ++junk;
            last_field.clear();
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (last_field.empty()) {
                if (!cur.bad) warn(warnings, where + ": continuation line without a field");
                cur.bad = true;
                continue;
            }
            std::string& v = cur.fields[last_field];
            if (v.size() + line.size() > kMaxDpkgLine * 16) {
                warn(warnings, where + ": field " + last_field + " too long, truncated");
                cur.bad = true;
                last_field.clear();
                continue;
            }
            v += "\n";
            v += trim(line);
            continue;
        }
        std::size_t colon = line.find(':');
        std::string_view fname = colon == std::string_view::npos ? line : line.substr(0, colon);
        if (colon == std::string_view::npos || colon == 0 ||
            fname.find_first_of(" \t") != std::string_view::npos) {
            warn(warnings, where + ": not a field line, ignored");
            cur.bad = true;
            ++junk;
            last_field.clear();
            continue;
        }
        if (cur.fields.size() >= kMaxFieldsPerStanza) {
            warn(warnings, where + ": too many fields in one stanza, rest ignored");
            cur.bad = true;
            last_field.clear();
            continue;
        }
        std::string key = core::ascii_lower(fname);
        if (cur.fields.count(key)) {
            warn(warnings, where + ": duplicate field " + std::string(fname));
            cur.bad = true;
        }
        cur.fields[key] = trim(line.substr(colon + 1));
        last_field = key;
    }
    finish();
    // Text that yields no package at all, only junk, is not a status database.
    if (any_content && items.empty() && (junk > 0 || stanzas > 0))
        throw UsageError(std::string(origin) + ": not a dpkg status file (no valid stanza in " +
                         std::to_string(stanzas) + ")");
    return items;
}

void DpkgSource::read(const fs::Root& root, Collection& c) const {
    std::vector<std::string>& warnings = c.warnings();
    const std::string status_path = "/" + std::string(kAdmin) + "/status";
    std::vector<InventoryItem> items;
    auto text = root.read_file(status_path, kMaxStatusBytes);
    if (!text) {
        require_absent(root, status_path, false);
        if (root.list_dir(kAdmin))
            warn(warnings, "/" + std::string(kAdmin) + " exists but has no status file");
        return;
    }
    items = parse_dpkg_status(*text, status_path, warnings);

    // An interrupted dpkg leaves newer stanzas in its journal (updates/NNNN), which dpkg
    // itself applies on its next run; without them the status file is out of date.
    const std::string updates = "/" + std::string(kAdmin) + "/updates";
    if (auto names = root.list_dir(updates)) {
        std::vector<std::string> journal;
        for (const auto& n : *names)
            if (all_digits(n)) journal.push_back(n);
        if (journal.size() > kMaxJournalFiles)
            throw UsageError(updates + ": more than " + std::to_string(kMaxJournalFiles) +
                             " journal files");
        std::sort(journal.begin(), journal.end(),
                  [](const auto& a, const auto& b) { return std::stoul(a) < std::stoul(b); });
        for (const auto& n : journal) {
            const std::string p = updates + "/" + n;
            auto t = root.read_file(p, kMaxStatusBytes);
            if (!t) continue;
            std::vector<InventoryItem> newer = parse_dpkg_status(*t, p, warnings);
            for (auto& item : newer) {
                auto same = [&](const InventoryItem& i) {
                    return i.name == item.name && i.arch == item.arch;
                };
                auto it = std::find_if(items.begin(), items.end(), same);
                if (it != items.end())
                    *it = std::move(item);
                else
                    items.push_back(std::move(item));
            }
        }
        if (!journal.empty())
            warn(warnings, "applied " + std::to_string(journal.size()) +
                               " pending dpkg journal file(s) from " + updates);
    }

    const std::string distro = distro_id(root);
    for (auto& item : items) {
        if (!distro.empty()) item.extra["distro"] = distro;
        add_info(root, item, warnings);
    }
    c.found = true;
    c.items = std::move(items);
}

}  // namespace audit::sources
