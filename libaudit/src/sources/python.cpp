#include "audit/sources/python.h"

#include <sys/stat.h>

#include <array>
#include <map>
#include <set>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxMetadataBytes = 16u << 20;  // long descriptions live in the body
constexpr std::size_t kMaxRecordBytes = 32u << 20;
constexpr std::size_t kMaxHeaderLines = 10000;
constexpr std::size_t kMaxDistributions = 200000;
constexpr std::size_t kMaxRecordPaths = 200000;

// Where distributions are installed: <prefix>/python3*/{site,dist}-packages and
// python3/dist-packages.
constexpr std::array<std::string_view, 3> kPrefixes = {"usr/lib", "usr/lib64", "usr/local/lib"};

// "name-version.dist-info": the fallback identity when METADATA is unreadable.
InventoryItem dist_dir_item(std::string_view dir) {
    InventoryItem item;
    item.ecosystem = "pypi";
    item.state = "unknown";
    auto dot = dir.rfind('.');
    std::string_view stem = dir.substr(0, dot);
    auto dash = stem.find('-');
    item.name = std::string(stem.substr(0, dash));
    if (dash != std::string_view::npos) item.version = std::string(stem.substr(dash + 1));
    item.extra["malformed"] = true;
    return item;
}

// RECORD is CSV "path,hash,size"; paths are relative to the site directory (may start "../").
void add_record(const fs::Root& root, const std::string& site, const std::string& dist,
                InventoryItem& item, std::vector<std::string>& warnings) {
    auto t = root.read_file(site + "/" + dist + "/RECORD", kMaxRecordBytes);
    if (!t) return;
    std::size_t bad = 0;
    text::for_each_line(*t, [&](std::string_view line, std::size_t) {
        if (line.empty()) return;
        std::string path;
        if (line.front() == '"') {  // a quoted path may contain commas
            auto q = line.find('"', 1);
            if (q == std::string_view::npos) {
                ++bad;
                return;
            }
            path = std::string(line.substr(1, q - 1));
        } else {
            path = std::string(line.substr(0, line.find(',')));
        }
        if (path.empty() || !text::printable(path) || item.paths.size() >= kMaxRecordPaths) {
            ++bad;
            return;
        }
        item.paths.push_back(path.front() == '/' ? fs::normalize(path)
                                                 : fs::normalize(site + "/" + path));
    });
    if (bad)
        text::warn(warnings, site + "/" + dist + "/RECORD: " + std::to_string(bad) + " bad lines");
}

}  // namespace

InventoryItem parse_python_metadata(std::string_view t, std::string_view origin) {
    if (t.size() > kMaxMetadataBytes) throw UsageError(std::string(origin) + ": too large");
    std::map<std::string, std::string> fields;  // lower-case name -> first value
    std::string last;
    std::size_t count = 0;
    bool done = false;
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        if (done) return;
        if (line.empty()) {
            done = true;  // the description body follows
            return;
        }
        if (++count > kMaxHeaderLines) throw UsageError(std::string(origin) + ": header too long");
        if (!text::printable(line))
            throw UsageError(text::where(origin, n) + ": control or binary bytes in the header");
        if (line.front() == ' ' || line.front() == '\t') {
            if (last.empty())
                throw UsageError(text::where(origin, n) + ": continuation without a field");
            auto& v = fields[last];
            if (v.size() < 4096) v += " " + text::trim(line);
            return;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0 ||
            line.substr(0, colon).find(' ') != std::string_view::npos)
            throw UsageError(text::where(origin, n) + ": not a \"Field: value\" line");
        last = text::lower(line.substr(0, colon));
        if (!fields.count(last))
            fields[last] = text::trim(line.substr(colon + 1));
        else
            last.clear();  // repeated fields (Classifier, ...) keep the first value
    });
    InventoryItem item;
    item.ecosystem = "pypi";
    item.name = fields["name"];
    item.version = fields["version"];
    if (item.name.empty() || item.version.empty())
        throw UsageError(std::string(origin) + ": no Name or Version field");
    item.publisher = !fields["author"].empty()         ? fields["author"]
                     : !fields["maintainer"].empty()   ? fields["maintainer"]
                     : !fields["author-email"].empty() ? fields["author-email"]
                                                       : fields["maintainer-email"];
    item.state = "installed";
    item.source = std::string(origin);
    for (const char* k : {"summary", "license", "home-page", "metadata-version"})
        if (!fields[k].empty()) item.extra[k] = fields[k];
    return item;
}

void PythonSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    std::set<std::string> sites_seen;
    bool any_site = false;
    for (auto prefix : kPrefixes) {
        auto names = root.list_dir(prefix);
        if (!names) continue;
        for (const auto& py : *names) {
            if (!text::starts_with(py, "python3") || !text::safe_component(py)) continue;
            for (const char* kind : {"site-packages", "dist-packages"}) {
                const std::string site = "/" + std::string(prefix) + "/" + py + "/" + kind;
                auto dists = root.list_dir(site);
                if (!dists) continue;
                // usr/lib64 is often a symlink to usr/lib: read each directory once.
                fs::UniqueFd fd = root.open(site, true);
                struct stat st {};
                if (fd && ::fstat(fd.get(), &st) == 0 &&
                    !sites_seen.insert(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino))
                         .second)
                    continue;
                any_site = true;
                for (const auto& d : *dists) {
                    const bool dist_info = text::ends_with(d, ".dist-info");
                    const bool egg_info = text::ends_with(d, ".egg-info");
                    if ((!dist_info && !egg_info) || !text::safe_component(d)) continue;
                    if (items.size() >= kMaxDistributions)
                        throw UsageError(site + ": too many distributions");
                    const std::string dir = site + "/" + d;
                    // An .egg-info may be the PKG-INFO file itself (distutils).
                    const bool is_dir = static_cast<bool>(root.open(dir, true));
                    const std::string meta =
                        !is_dir ? dir : dir + (dist_info ? "/METADATA" : "/PKG-INFO");
                    InventoryItem item;
                    try {
                        auto t = root.read_file(meta, kMaxMetadataBytes);
                        if (!t) throw UsageError(meta + ": missing");
                        item = parse_python_metadata(*t, meta);
                    } catch (const Error& e) {
                        text::warn(rep.warnings,
                                   std::string(e.what()) + " (kept from the directory name)");
                        item = dist_dir_item(d);
                        item.source = dir;
                    }
                    item.extra["site"] = site;
                    item.extra["format"] = dist_info ? "dist-info" : "egg-info";
                    if (dist_info && is_dir) {
                        try {
                            add_record(root, site, d, item, rep.warnings);
                        } catch (const Error& e) {
                            text::warn(rep.warnings, e.what());
                        }
                    }
                    items.push_back(std::move(item));
                }
            }
        }
    }
    c.found = any_site;
    c.items = std::move(items);
}

}  // namespace audit::sources
