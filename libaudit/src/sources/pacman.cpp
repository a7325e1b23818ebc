#include "audit/sources/pacman.h"

#include <map>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxDescBytes = 4u << 20;
constexpr std::size_t kMaxFilesBytes = 64u << 20;
constexpr std::size_t kMaxPacmanPackages = 200000;
constexpr std::size_t kMaxValuesPerKey = 1u << 20;
constexpr std::size_t kMaxPacmanLine = 64 * 1024;
const char* const kLocal = "/var/lib/pacman/local";

// Blocks "%KEY%\nvalue...\n\n" of a desc or files file; repeated keys are refused.
std::map<std::string, std::vector<std::string>> blocks(std::string_view t,
                                                       std::string_view origin) {
    std::map<std::string, std::vector<std::string>> out;
    std::vector<std::string>* cur = nullptr;
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        if (line.size() > kMaxPacmanLine)
            throw UsageError(text::where(origin, n) + ": line longer than " +
                             std::to_string(kMaxPacmanLine) + " bytes");
        if (!text::printable(line))
            throw UsageError(text::where(origin, n) + ": control or binary bytes");
        if (line.empty()) {
            cur = nullptr;
            return;
        }
        if (!cur) {
            if (line.size() < 3 || line.front() != '%' || line.back() != '%')
                throw UsageError(text::where(origin, n) + ": expected a %KEY% line");
            std::string key(line.substr(1, line.size() - 2));
            if (out.count(key))
                throw UsageError(text::where(origin, n) + ": duplicate %" + key + "%");
            cur = &out[key];
            return;
        }
        if (cur->size() >= kMaxValuesPerKey)
            throw UsageError(text::where(origin, n) + ": too many values");
        cur->emplace_back(line);
    });
    return out;
}

std::string first(const std::map<std::string, std::vector<std::string>>& b, const char* key) {
    auto it = b.find(key);
    return it == b.end() || it->second.empty() ? std::string() : it->second.front();
}

// "<name>-<pkgver>-<pkgrel>": the directory name is the fallback when desc is unreadable.
InventoryItem from_dir_name(const std::string& dir) {
    InventoryItem item;
    item.ecosystem = "pacman";
    item.state = "unknown";
    auto r = dir.rfind('-');
    auto v = r == std::string::npos || r == 0 ? std::string::npos : dir.rfind('-', r - 1);
    if (v == std::string::npos || v == 0) {
        item.name = dir;
    } else {
        item.name = dir.substr(0, v);
        item.version = dir.substr(v + 1);
    }
    item.extra["malformed"] = true;
    return item;
}

}  // namespace

InventoryItem parse_pacman_desc(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxDescBytes) throw UsageError(std::string(origin) + ": too large");
    auto b = blocks(t, origin);
    InventoryItem item;
    item.ecosystem = "pacman";
    item.name = first(b, "NAME");
    item.version = first(b, "VERSION");
    if (item.name.empty() || item.version.empty())
        throw UsageError(std::string(origin) + ": no %NAME% or %VERSION%");
    for (char c : item.name)
        if (c == '/' || c == ' ') throw UsageError(std::string(origin) + ": invalid %NAME%");
    item.arch = first(b, "ARCH");
    item.publisher = first(b, "PACKAGER");
    item.state = "installed";
    item.source = std::string(origin);
    for (const char* k :
         {"BASE", "DESC", "URL", "BUILDDATE", "INSTALLDATE", "SIZE", "REASON", "VALIDATION"})
        if (auto v = first(b, k); !v.empty()) item.extra[text::lower(k)] = v;
    if (auto it = b.find("LICENSE"); it != b.end()) item.extra["license"] = it->second;
    return item;
}

void parse_pacman_files(std::string_view t, std::string_view origin, InventoryItem& item) {
    if (t.size() > kMaxFilesBytes) throw UsageError(std::string(origin) + ": too large");
    auto b = blocks(t, origin);
    auto it = b.find("FILES");
    if (it == b.end()) return;
    for (const auto& f : it->second) {
        if (f.empty() || f.front() == '/')
            throw UsageError(std::string(origin) + ": file path \"" + f + "\" is not relative");
        if (f.back() == '/') continue;
        item.paths.push_back(fs::normalize(f));
    }
    if (auto bk = b.find("BACKUP"); bk != b.end()) {
        nlohmann::json backup = nlohmann::json::array();
        for (const auto& line : bk->second) {
            auto tab = line.find('\t');
            backup.push_back({{"path", fs::normalize(line.substr(0, tab))},
                              {"md5", tab == std::string::npos ? "" : line.substr(tab + 1)}});
        }
        item.extra["backup"] = std::move(backup);
    }
}

void PacmanSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    auto dirs = root.list_dir(kLocal);
    if (!dirs) {
        require_absent(root, kLocal, true);
        return;
    }
    if (dirs->size() > kMaxPacmanPackages)
        throw UsageError(std::string(kLocal) + ": too many entries");
    const std::string distro = distro_id(root, "arch");
    for (const auto& d : *dirs) {
        if (!text::safe_component(d) || d == "ALPM_DB_VERSION") continue;
        const std::string dir = std::string(kLocal) + "/" + d;
        if (!root.open(dir, true)) continue;  // a stray file
        InventoryItem item;
        try {
            auto desc = root.read_file(dir + "/desc", kMaxDescBytes);
            if (!desc) throw UsageError(dir + ": no desc file");
            item = parse_pacman_desc(*desc, dir + "/desc");
        } catch (const Error& e) {
            // A broken record of a product must not read as its absence.
            text::warn(rep.warnings, std::string(e.what()) + " (kept from the directory name)");
            item = from_dir_name(d);
            item.source = dir;
        }
        try {
            if (auto files = root.read_file(dir + "/files", kMaxFilesBytes))
                parse_pacman_files(*files, dir + "/files", item);
        } catch (const Error& e) {
            text::warn(rep.warnings, e.what());
        }
        item.extra["distro"] = distro;
        items.push_back(std::move(item));
    }
    c.found = true;
    c.items = std::move(items);
}

}  // namespace audit::sources
