#include "audit/sources/pe_files.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "audit/error.h"
#include "audit/formats/pe.h"
#include "audit/fs/walker.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

// Bounds: a Windows installation has tens of thousands of PE files under these directories.
constexpr std::size_t kMaxFiles = 200000;            // regular files looked at
constexpr std::uint64_t kMaxFileBytes = 256u << 20;  // one PE file read whole
constexpr std::uint64_t kMaxTotalBytes = 16ull << 30;
constexpr std::array<std::string_view, 4> kDirs = {"Program Files", "Program Files (x86)",
                                                   "ProgramData", "Windows/System32/drivers"};

using text::warn;

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto l = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return l(x) == l(y);
           });
}

std::string_view basename(std::string_view p) {
    const auto s = p.rfind('/');
    return s == std::string_view::npos ? p : p.substr(s + 1);
}

// The first bytes of a file, to skip non-PE files without reading them whole.
bool starts_with_mz(const fs::Root& root, const std::string& path) {
    fs::UniqueFd fd = root.open(path, false);
    if (!fd) return false;
    char head[2];
    return ::pread(fd.get(), head, 2, 0) == 2 && pe::looks_like_pe(std::string_view(head, 2));
}

InventoryItem to_item(const std::string& path, const pe::PeFile& f) {
    InventoryItem item;
    item.ecosystem = "pe";
    item.name = std::string(basename(path));
    item.version =
        f.version.file_version.empty() ? f.version.get("FileVersion") : f.version.file_version;
    item.publisher = f.version.get("CompanyName");
    item.state = "installed";
    item.paths = {path};
    item.source = path;
    item.extra = f.to_json();
    item.extra["company_name"] = f.version.get("CompanyName");
    item.extra["product_name"] = f.version.get("ProductName");
    item.extra["original_filename"] = f.version.get("OriginalFilename");
    item.extra["file_description"] = f.version.get("FileDescription");
    return item;
}

}  // namespace

std::optional<std::string> find_case_insensitive(const fs::Root& root, std::string_view rel) {
    std::string at;
    std::size_t pos = 0;
    while (pos < rel.size()) {
        std::size_t slash = rel.find('/', pos);
        if (slash == std::string_view::npos) slash = rel.size();
        const std::string_view part = rel.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty()) continue;
        auto names = root.list_dir(at.empty() ? "/" : at);
        if (!names) return std::nullopt;
        auto exact = std::find(names->begin(), names->end(), part);
        auto it = exact != names->end()
                      ? exact
                      : std::find_if(names->begin(), names->end(),
                                     [&](const std::string& n) { return iequal(n, part); });
        if (it == names->end()) return std::nullopt;
        at += "/" + *it;
    }
    return at.empty() ? std::string("/") : at;
}

bool is_windows_root(const fs::Root& root) {
    try {
        auto p = find_case_insensitive(root, "Windows/System32/config");
        return p && static_cast<bool>(root.open(*p, true));
    } catch (const Error&) {
        return false;
    }
}

SourceReport PeFileSource::collect(const fs::Root& root, std::vector<InventoryItem>& out) const {
    SourceReport rep = report_for(*this);
    if (!is_windows_root(root)) {
        rep.status = SourceStatus::absent;
        return rep;
    }
    std::size_t looked = 0, parsed = 0, too_big = 0, malformed = 0, unreadable = 0;
    std::uint64_t bytes = 0;
    bool stopped = false;
    std::vector<InventoryItem> items;
    try {
        for (auto dir : kDirs) {
            auto found = find_case_insensitive(root, dir);
            if (!found) continue;
            fs::WalkOptions wopt;
            wopt.hash = false;
            fs::WalkStats stats;
            fs::walk(
                root, *found, wopt,
                [&](fs::FileRecord&& r) {
                    if (stopped || r.type != "file" || r.size < 64) {
                        if (!r.error.empty() && r.type == "dir") {
                            ++unreadable;
                            warn(rep.warnings, r.path + ": " + r.error);
                        }
                        return;
                    }
                    if (++looked > kMaxFiles || bytes > kMaxTotalBytes) {
                        stopped = true;
                        return;
                    }
                    if (!starts_with_mz(root, r.path)) return;
                    if (r.size > kMaxFileBytes) {
                        ++too_big;
                        warn(rep.warnings, r.path + ": PE file larger than " +
                                               std::to_string(kMaxFileBytes) +
                                               " bytes not examined");
                        return;
                    }
                    std::optional<std::string> data;
                    try {
                        data = root.read_file(r.path, kMaxFileBytes);
                    } catch (const Error& e) {
                        ++unreadable;
                        warn(rep.warnings, e.what());
                        return;
                    }
                    if (!data) return;
                    bytes += data->size();
                    try {
                        pe::PeFile f = pe::parse_pe(*data, r.path);
                        ++parsed;
                        for (const auto& w : f.warnings) warn(rep.warnings, w);
                        if (f.version.present || f.signature.present)
                            items.push_back(to_item(r.path, f));
                    } catch (const Error& e) {
                        ++malformed;  // "MZ" files that are not PE: DOS stubs, data
                        warn(rep.warnings, e.what());
                    }
                },
                stats);
        }
    } catch (const Error& e) {
        rep.status = SourceStatus::failed;
        rep.error = e.what();
        return rep;
    }
    rep.items = items.size();
    for (auto& i : items) out.push_back(std::move(i));
    warn(rep.warnings, std::to_string(parsed) + " PE files parsed, " + std::to_string(malformed) +
                           " malformed, " + std::to_string(too_big) + " too large, " +
                           std::to_string(unreadable) + " unreadable");
    if (stopped) {
        // Stopping early must not read as "nothing there": the product coverage shows the gap.
        rep.status = SourceStatus::failed;
        rep.error = "stopped after " + std::to_string(kMaxFiles) + " files or " +
                    std::to_string(kMaxTotalBytes >> 30) + " GiB: PE files not all examined";
        return rep;
    }
    if (unreadable > 0) {
        rep.status = SourceStatus::failed;
        rep.error = std::to_string(unreadable) + " PE file(s) or directories could not be read";
        return rep;
    }
    rep.status = SourceStatus::ran;
    return rep;
}

}  // namespace audit::sources
