#include "audit/sources/pe_files.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "audit/core/drive_path.h"
#include "audit/error.h"
#include "audit/formats/pe.h"
#include "audit/fs/walker.h"
#include "formats/text.h"
#include "sources/base.h"
#ifdef _WIN32
#include "host/identity_live.h"
#endif

namespace audit::sources {

namespace {

// Bounds: a Windows installation has tens of thousands of PE files under these directories.
constexpr std::size_t kMaxPeFiles = 200000;            // regular files looked at
constexpr std::uint64_t kMaxPeFileBytes = 256u << 20;  // one PE file read whole
constexpr std::uint64_t kMaxPeTotalBytes = 16ull << 30;
constexpr std::array<std::string_view, 4> kPeDirs = {"Program Files", "Program Files (x86)",
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

InventoryItem pe_item(const std::string& path, const pe::PeFile& f) {
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
    // "/D:/..." (a live Windows root's other drive, core/drive_path.h): from that drive's top.
    std::string_view on_drive;
    if (const char d = core::windows_drive_of(rel, &on_drive)) {
        at = std::string("/") + d + ":";
        rel = on_drive;
    }
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

void PeFileSource::read(const fs::Root& root, Collection& c) const {
#ifdef _WIN32
    // audit-scan.exe's live root is the running Windows, whatever its config folder holds (a
    // Wine prefix keeps its registry elsewhere and has none).
    if (!root.is_live() && !is_windows_root(root)) return;
#else
    if (!is_windows_root(root)) return;
#endif
    c.found = true;
    std::vector<std::string> dirs;
    for (auto dir : kPeDirs)
        if (auto found = find_case_insensitive(root, dir)) dirs.push_back(*found);
#ifdef _WIN32
    // A live Windows walks every fixed drive: the same folders on each other one ("/D:/Program
    // Files", ...). A drive that cannot be listed throws: the source fails, never skips it.
    if (root.is_live()) {
        const auto drives = host::windows_fixed_drives();
        for (std::size_t i = 1; i < drives.size(); ++i)
            for (std::string_view dir : kPeDirs)
                if (auto found =
                        find_case_insensitive(root, "/" + drives[i] + "/" + std::string(dir)))
                    dirs.push_back(*found);
    }
#endif
    MagicScan m;
    m.kind = "PE";
    m.head_bytes = 2;
    m.magic = pe::looks_like_pe;
    m.min_size = 64;
    m.max_files = kMaxPeFiles;
    m.max_file_bytes = kMaxPeFileBytes;
    m.max_total_bytes = kMaxPeTotalBytes;
    // A PE file over the bound (a 300 MiB CUDA library) is warned, not a failure: failing would
    // make every such host inconclusive for PE rules; the product's own binaries are far smaller
    // and its path rules still see the file.
    m.too_big_fails = false;
    scan_by_magic(root, dirs, m, c, [&](const std::string& path, const std::string& data) {
        pe::PeFile f = pe::parse_pe(data, path);
        for (const auto& w : f.warnings) warn(c.warnings(), w);
        if (f.version.present || f.signature.present) c.items.push_back(pe_item(path, f));
    });
}

}  // namespace audit::sources
