#include "audit/sources/kmod.h"

#include <array>
#include <set>

#include "audit/error.h"
#include "audit/formats/decompress.h"
#include "audit/fs/walker.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxFileBytes = 64u << 20;     // compressed or plain module file
constexpr std::size_t kMaxModuleBytes = 128u << 20;  // decompressed
constexpr std::size_t kMaxModules = 100000;
constexpr std::size_t kMaxDepth = 12;
constexpr std::size_t kMaxSections = 65535;
constexpr std::size_t kMaxModinfoEntries = 4096;
constexpr std::array<std::string_view, 2> kModuleRoots = {"lib/modules", "usr/lib/modules"};
constexpr std::array<std::string_view, 4> kSuffixes = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};

// Reads little- or big-endian integers at checked offsets.
class ElfReader {
  public:
    ElfReader(std::string_view b, bool big) : b_(b), big_(big) {}
    std::uint64_t u(std::uint64_t off, unsigned width) const {
        if (off > b_.size() || width > b_.size() - off)
            throw UsageError("ELF: field at offset " + std::to_string(off) + " past the end");
        std::uint64_t v = 0;
        for (unsigned i = 0; i < width; ++i) {
            auto byte = static_cast<unsigned char>(b_[off + (big_ ? i : width - 1 - i)]);
            v = (v << 8) | byte;
        }
        return v;
    }

  private:
    std::string_view b_;
    bool big_;
};

std::string_view suffix_of(std::string_view name) {
    for (auto s : kSuffixes)
        if (text::ends_with(name, s) && name.size() > s.size()) return s;
    return {};
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_modinfo(std::string_view b) {
    if (b.size() < 16 || b.substr(0, 4) !=
                             "\x7f"
                             "ELF")
        throw UsageError("not an ELF file (bad magic)");
    const auto cls = static_cast<unsigned char>(b[4]);
    const auto data = static_cast<unsigned char>(b[5]);
    if ((cls != 1 && cls != 2) || (data != 1 && data != 2))
        throw UsageError("ELF: unknown class or byte order");
    const bool is64 = cls == 2;
    ElfReader r(b, data == 2);
    const std::uint64_t shoff = is64 ? r.u(0x28, 8) : r.u(0x20, 4);
    const std::uint64_t shentsize = is64 ? r.u(0x3A, 2) : r.u(0x2E, 2);
    const std::uint64_t shnum = is64 ? r.u(0x3C, 2) : r.u(0x30, 2);
    const std::uint64_t shstrndx = is64 ? r.u(0x3E, 2) : r.u(0x32, 2);
    const std::uint64_t min_ent = is64 ? 64 : 40;
    if (shnum == 0 || shnum > kMaxSections) throw UsageError("ELF: no section headers");
    if (shentsize < min_ent) throw UsageError("ELF: section header entries too small");
    if (shoff > b.size() || shnum * shentsize > b.size() - shoff)
        throw UsageError("ELF: section headers past the end of the file");
    if (shstrndx >= shnum) throw UsageError("ELF: section name table index out of range");

    struct Section {
        std::uint64_t name, type, offset, size;
    };
    auto section = [&](std::uint64_t i) {
        const std::uint64_t h = shoff + i * shentsize;
        Section s{};
        s.name = r.u(h, 4);
        s.type = r.u(h + 4, 4);
        s.offset = is64 ? r.u(h + 0x18, 8) : r.u(h + 0x10, 4);
        s.size = is64 ? r.u(h + 0x20, 8) : r.u(h + 0x14, 4);
        if (s.type != 8 /* SHT_NOBITS */ && (s.offset > b.size() || s.size > b.size() - s.offset))
            throw UsageError("ELF: section " + std::to_string(i) + " past the end of the file");
        return s;
    };
    const Section names = section(shstrndx);
    if (names.type == 8) throw UsageError("ELF: section name table has no data");
    const std::string_view strtab = b.substr(names.offset, names.size);
    for (std::uint64_t i = 0; i < shnum; ++i) {
        const Section s = section(i);
        if (s.name >= strtab.size()) continue;
        const auto end = strtab.find('\0', s.name);
        if (end == std::string_view::npos) continue;
        if (strtab.substr(s.name, end - s.name) != ".modinfo") continue;
        if (s.type == 8) throw UsageError("ELF: .modinfo has no data");
        std::vector<std::pair<std::string, std::string>> out;
        const std::string_view info = b.substr(s.offset, s.size);
        std::size_t pos = 0;
        while (pos < info.size()) {
            std::size_t nul = info.find('\0', pos);
            if (nul == std::string_view::npos) nul = info.size();
            std::string_view entry = info.substr(pos, nul - pos);
            pos = nul + 1;
            if (entry.empty()) continue;  // alignment padding
            const auto eq = entry.find('=');
            if (eq == std::string_view::npos || eq == 0 || !text::printable(entry))
                throw UsageError("ELF: malformed .modinfo entry at offset " +
                                 std::to_string(s.offset + pos - entry.size() - 1));
            if (out.size() >= kMaxModinfoEntries)
                throw UsageError("ELF: too many .modinfo entries");
            out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
        }
        return out;
    }
    throw UsageError("ELF: no .modinfo section");
}

std::string module_bytes(std::string_view file) {
    return decompress(file, sniff_codec(file), kMaxModuleBytes);
}

namespace {

struct Walk {
    const fs::Root& root;
    SourceReport& rep;
    std::vector<InventoryItem>& items;
    std::set<std::string>& seen;  // "<kernel>/<relative path>": lib and usr/lib may be one dir
    std::size_t errors = 0;
};

void add_module(Walk& w, const std::string& kernel, const std::string& rel_in_kernel,
                const std::string& path, std::string_view suffix) {
    InventoryItem item;
    item.ecosystem = "kmod";
    const std::string base = path.substr(path.rfind('/') + 1);
    item.name = base.substr(0, base.size() - suffix.size());
    item.state = "installed";
    item.paths.push_back(path);
    item.source = path;
    item.extra["kernel"] = kernel;
    item.extra["file"] = rel_in_kernel;
    try {
        auto bytes = w.root.read_file(path, kMaxFileBytes);
        if (!bytes) return;  // vanished while walking
        item.extra["sha256"] = fs::sha256_hex(*bytes);
        const std::string plain = module_bytes(*bytes);
        const auto info = parse_modinfo(plain);
        nlohmann::json fields = nlohmann::json::object();
        for (const auto& [k, v] : info) {
            if (k == "name" && !v.empty())
                item.name = v;
            else if (k == "version")
                item.version = v;
            else if (k == "author" && item.publisher.empty())
                item.publisher = v;
            if (k == "alias" || k == "parm" || k == "parmtype") continue;  // long and unhelpful
            if (!fields.contains(k)) fields[k] = v;
        }
        item.extra["modinfo"] = std::move(fields);
        // Signed modules end with this marker (scripts/sign-file); the signer is not parsed.
        static constexpr std::string_view kSig = "~Module signature appended~\n";
        if (text::ends_with(plain, kSig)) item.extra["signed"] = true;
    } catch (const Error& e) {
        // The file is there: keep the item (a broken Kaspersky module is still a module).
        ++w.errors;
        item.extra["error"] = e.what();
        text::warn(w.rep.warnings, path + ": " + e.what());
    }
    w.items.push_back(std::move(item));
}

void walk_dir(Walk& w, const std::string& kernel, const std::string& dir, const std::string& rel,
              std::size_t depth) {
    if (depth > kMaxDepth) {
        text::warn(w.rep.warnings, dir + ": deeper than " + std::to_string(kMaxDepth) + " levels");
        return;
    }
    auto names = w.root.list_dir(dir);
    if (!names) return;
    for (const auto& n : *names) {
        if (!text::safe_component(n)) continue;
        const std::string path = dir + "/" + n;
        const std::string sub = rel.empty() ? n : rel + "/" + n;
        auto sfx = suffix_of(n);
        if (!sfx.empty()) {
            if (!w.seen.insert(kernel + "/" + sub).second) continue;
            if (w.items.size() >= kMaxModules)
                throw UsageError("more than " + std::to_string(kMaxModules) + " kernel modules");
            // Symlinks (e.g. "build", "source") are never followed into; modules must be files.
            if (w.root.read_link(path)) continue;
            add_module(w, kernel, sub, path, sfx);
            continue;
        }
        if (w.root.read_link(path)) continue;  // build -> /usr/src/...: not ours to walk
        fs::UniqueFd d = w.root.open(path, true);
        if (d) walk_dir(w, kernel, path, sub, depth + 1);
    }
}

}  // namespace

void KmodSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    std::set<std::string> seen;
    Walk w{root, rep, items, seen};
    bool any = false;
    for (auto top : kModuleRoots) {
        auto kernels = root.list_dir(top);
        if (!kernels) continue;
        any = true;
        for (const auto& k : *kernels) {
            if (!text::safe_component(k)) continue;
            const std::string dir = "/" + std::string(top) + "/" + k;
            if (root.read_link(dir)) continue;
            walk_dir(w, k, dir, "", 0);
        }
    }
    c.found = any;
    if (w.errors)
        text::warn(rep.warnings, std::to_string(w.errors) + " module(s) unreadable or malformed");
    c.items = std::move(items);
}

}  // namespace audit::sources
