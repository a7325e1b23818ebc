#include "audit/sources/apk.h"

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxBytes = 256u << 20;
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxPackages = 1u << 20;
constexpr std::size_t kMaxFilesPerPackage = 1u << 20;
const char* const kInstalled = "/lib/apk/db/installed";

}  // namespace

std::vector<InventoryItem> parse_apk_installed(std::string_view t, std::string_view origin,
                                               std::vector<std::string>& warnings) {
    if (t.size() > kMaxBytes) throw UsageError(std::string(origin) + ": too large");
    std::vector<InventoryItem> items;
    InventoryItem cur;
    std::string dir;  // the last F: line; R: names a file in it
    std::size_t start = 0, junk = 0, stanzas = 0;
    bool open = false, bad = false;
    auto finish = [&] {
        if (!open) return;
        ++stanzas;
        if (cur.name.empty() || cur.version.empty()) {
            text::warn(warnings, text::where(origin, start) + ": stanza without P: or V: skipped");
        } else {
            if (items.size() >= kMaxPackages)
                throw UsageError(std::string(origin) + ": too many packages");
            cur.ecosystem = "apk";
            cur.state = "installed";
            cur.source = text::where(origin, start);
            if (bad) cur.extra["malformed"] = true;
            items.push_back(std::move(cur));
        }
        cur = InventoryItem{};
        dir.clear();
        open = bad = false;
    };
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        if (line.empty()) {
            finish();
            return;
        }
        if (!open) {
            open = true;
            start = n;
        }
        if (line.size() > kMaxLine || line.size() < 2 || line[1] != ':' || !text::printable(line)) {
            text::warn(warnings, text::where(origin, n) + ": not an \"X:value\" line, ignored");
            ++junk;
            bad = true;
            return;
        }
        const char key = line[0];
        const std::string value(line.substr(2));
        switch (key) {
            case 'P':
                cur.name = value;
                break;
            case 'V':
                cur.version = value;
                break;
            case 'A':
                cur.arch = value;
                break;
            case 'm':
                cur.publisher = value;
                break;
            case 'T':
                cur.extra["description"] = value;
                break;
            case 'U':
                cur.extra["url"] = value;
                break;
            case 'L':
                cur.extra["license"] = value;
                break;
            case 'o':
                cur.extra["origin"] = value;
                break;
            case 't':
                cur.extra["build_time"] = value;
                break;
            case 'c':
                cur.extra["commit"] = value;
                break;
            case 'F':
                if (value.empty() || value.front() == '/') {
                    text::warn(warnings, text::where(origin, n) + ": F: path is not relative");
                    bad = true;
                }
                dir = value;
                break;
            case 'R':
                if (value.empty() || value.find('/') != std::string::npos) {
                    text::warn(warnings, text::where(origin, n) + ": R: is not a file name");
                    bad = true;
                    break;
                }
                if (cur.paths.size() >= kMaxFilesPerPackage)
                    throw UsageError(text::where(origin, n) + ": too many files in one package");
                cur.paths.push_back(fs::normalize(dir + "/" + value));
                break;
            default:
                break;  // checksums, sizes, dependencies, modes: not needed for the inventory
        }
    });
    finish();
    if (items.empty() && (junk > 0 || stanzas > 0))
        throw UsageError(std::string(origin) +
                         ": not an apk installed database (no valid stanza in " +
                         std::to_string(stanzas) + ")");
    return items;
}

void ApkSource::read(const fs::Root& root, Collection& c) const {
    auto t = root.read_file(kInstalled, kMaxBytes);
    if (!t) {
        require_absent(root, kInstalled, false);
        if (root.list_dir("/lib/apk/db"))
            text::warn(c.warnings(), "/lib/apk/db exists but has no installed file");
        return;
    }
    std::vector<InventoryItem> items = parse_apk_installed(*t, kInstalled, c.warnings());
    const std::string distro = distro_id(root, "alpine");
    for (auto& i : items) i.extra["distro"] = distro;
    c.found = true;
    c.items = std::move(items);
}

}  // namespace audit::sources
