#include "audit/formats/pe.h"

#include <algorithm>

#include <botan/hash.h>

#include "audit/error.h"
#include "formats/utf.h"

namespace audit::pe {

namespace {

constexpr std::size_t kMaxSections = 96;  // the loader's own limit
constexpr std::size_t kMaxResourceEntries = 4096;
constexpr std::size_t kMaxVersionStrings = 64;
constexpr std::size_t kMaxStringChars = 1024;
constexpr std::size_t kMaxCertEntries = 16;
constexpr std::uint16_t kCertTypePkcs7 = 0x0002;
constexpr std::uint32_t kRtVersion = 16;
constexpr std::size_t kDirResource = 2, kDirSecurity = 4;

[[noreturn]] void fail(std::string_view origin, const std::string& why) {
    throw UsageError(std::string(origin) + ": " + why);
}

std::uint32_t le(std::string_view b, std::size_t at, unsigned n) {
    std::uint32_t v = 0;
    for (unsigned i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

// [at, at+n) inside b, without overflow.
bool inside(std::string_view b, std::uint64_t at, std::uint64_t n) {
    return at <= b.size() && n <= b.size() - at;
}

struct Section {
    std::uint32_t virtual_address = 0, virtual_size = 0, raw_size = 0, raw_offset = 0;
};

struct DataDir {
    std::uint32_t address = 0, size = 0;
};

// Where the headers put things: enough to map RVAs and to compute the Authenticode digest.
struct Layout {
    std::size_t checksum_at = 0;  // file offset of OptionalHeader.CheckSum
    std::size_t cert_dir_at = 0;  // file offset of the certificate-table directory entry
    bool has_cert_dir = false;
    std::uint32_t size_of_headers = 0;
    std::vector<DataDir> dirs;
    std::vector<Section> sections;
};

Layout read_headers(std::string_view b, std::string_view origin, PeFile& pe) {
    if (b.size() < 64 || b.substr(0, 2) != "MZ") fail(origin, "not a PE file (no MZ header)");
    const std::uint32_t lfanew = le(b, 0x3c, 4);
    if (!inside(b, lfanew, 24) || b.substr(lfanew, 4) != std::string_view("PE\0\0", 4))
        fail(origin, "no PE signature at e_lfanew");
    const std::size_t coff = lfanew + 4;
    pe.machine = static_cast<std::uint16_t>(le(b, coff, 2));
    const std::uint32_t nsections = le(b, coff + 2, 2);
    const std::uint32_t opt_size = le(b, coff + 16, 2);
    pe.characteristics = static_cast<std::uint16_t>(le(b, coff + 18, 2));
    if (nsections > kMaxSections) fail(origin, "more than 96 sections");
    const std::size_t opt = coff + 20;
    if (!inside(b, opt, opt_size) || opt_size < 2) fail(origin, "optional header outside the file");
    const std::uint32_t magic = le(b, opt, 2);
    if (magic != 0x10b && magic != 0x20b) fail(origin, "unknown optional header magic");
    pe.pe32_plus = magic == 0x20b;
    const std::size_t count_at = pe.pe32_plus ? 108 : 92;
    const std::size_t dirs_at = count_at + 4;
    if (opt_size < dirs_at) fail(origin, "optional header too small");

    Layout l;
    l.checksum_at = opt + 64;
    pe.subsystem = static_cast<std::uint16_t>(le(b, opt + 68, 2));
    l.size_of_headers = le(b, opt + 60, 4);
    const std::uint32_t ndirs = std::min<std::uint32_t>(le(b, opt + count_at, 4), 16);
    if (opt_size < dirs_at + ndirs * 8)
        fail(origin, "data directories outside the optional header");
    for (std::uint32_t i = 0; i < ndirs; ++i)
        l.dirs.push_back({le(b, opt + dirs_at + i * 8, 4), le(b, opt + dirs_at + i * 8 + 4, 4)});
    if (ndirs > kDirSecurity) {
        l.has_cert_dir = true;
        l.cert_dir_at = opt + dirs_at + kDirSecurity * 8;
    }

    const std::size_t table = opt + opt_size;
    if (!inside(b, table, std::uint64_t{nsections} * 40))
        fail(origin, "section table outside the file");
    for (std::uint32_t i = 0; i < nsections; ++i) {
        const std::size_t s = table + i * 40;
        l.sections.push_back(
            {le(b, s + 12, 4), le(b, s + 8, 4), le(b, s + 16, 4), le(b, s + 20, 4)});
    }
    return l;
}

// The file bytes an RVA points at, up to the end of its section's raw data (empty: unmapped).
std::string_view at_rva(std::string_view b, const Layout& l, std::uint32_t rva) {
    for (const auto& s : l.sections) {
        if (rva < s.virtual_address) continue;
        const std::uint64_t delta = rva - s.virtual_address;
        if (delta >= s.raw_size) continue;
        const std::uint64_t off = std::uint64_t{s.raw_offset} + delta;
        if (off >= b.size()) return {};
        const std::uint64_t avail = std::min<std::uint64_t>(s.raw_size - delta, b.size() - off);
        return b.substr(off, avail);
    }
    if (rva < l.size_of_headers && rva < b.size())
        return b.substr(rva, std::min<std::uint64_t>(l.size_of_headers, b.size()) - rva);
    return {};
}

// ---- version resource ------------------------------------------------------------------------

// One entry of a resource directory level: the first with id `want` (or the first of all when
// want is 0). Returns the entry's OffsetToData, or nothing.
bool resource_entry(std::string_view rsrc, std::uint32_t dir_off, std::uint32_t want,
                    std::uint32_t& data, std::string_view origin) {
    if (!inside(rsrc, dir_off, 16)) fail(origin, "resource directory outside the section");
    const std::uint32_t named = le(rsrc, dir_off + 12, 2), ids = le(rsrc, dir_off + 14, 2);
    const std::uint32_t n = named + ids;
    if (n > kMaxResourceEntries) fail(origin, "resource directory with too many entries");
    if (!inside(rsrc, dir_off + 16, std::uint64_t{n} * 8))
        fail(origin, "resource entries outside the section");
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::size_t e = dir_off + 16 + i * 8;
        const std::uint32_t name = le(rsrc, e, 4);
        if (want != 0 && ((name & 0x80000000u) || name != want)) continue;
        data = le(rsrc, e + 4, 4);
        return true;
    }
    return false;
}

struct Block {
    std::string key;
    std::string_view value;
    std::uint16_t type = 0, value_length = 0;
    std::vector<std::pair<std::size_t, std::size_t>> children;  // [start, end) in the resource
};

std::size_t align4(std::size_t v) {
    return (v + 3) & ~std::size_t{3};
}

// One VS_VERSIONINFO-style block at off: wLength, wValueLength, wType, szKey, padding, value,
// padding, children. Offsets are aligned relative to the resource data's start.
Block read_block(std::string_view res, std::size_t off, std::size_t limit,
                 std::string_view origin) {
    if (off + 6 > limit) fail(origin, "version block header outside its parent");
    Block blk;
    const std::size_t length = le(res, off, 2);
    blk.value_length = static_cast<std::uint16_t>(le(res, off + 2, 2));
    blk.type = static_cast<std::uint16_t>(le(res, off + 4, 2));
    if (length < 6 || off + length > limit) fail(origin, "version block length outside its parent");
    const std::size_t end = off + length;
    std::size_t p = off + 6;
    std::size_t k = p;
    while (k + 1 < end && (res[k] != 0 || res[k + 1] != 0)) k += 2;
    if (k + 1 >= end) fail(origin, "version block key not terminated");
    blk.key = text::utf16_to_utf8(res.substr(p, k - p), false);
    p = align4(k + 2);
    // Text values count WCHARs, binary ones bytes; some tools write bytes for text too, so the
    // value is whatever fits before the children, and text is cut at its NUL.
    std::size_t vbytes = blk.type == 1 ? std::size_t{blk.value_length} * 2 : blk.value_length;
    if (p > end) p = end;
    vbytes = std::min(vbytes, end - p);
    blk.value = res.substr(p, vbytes);
    p = align4(p + vbytes);
    std::size_t guard = 0;
    while (p + 6 <= end) {
        const std::size_t clen = le(res, p, 2);
        if (clen == 0) break;  // padding at the end
        if (clen < 6 || p + clen > end) fail(origin, "version child block outside its parent");
        if (++guard > 4 * kMaxVersionStrings) fail(origin, "too many version blocks");
        blk.children.emplace_back(p, p + clen);
        p = align4(p + clen);
    }
    return blk;
}

std::string version_string(std::uint32_t ms, std::uint32_t ls) {
    return std::to_string(ms >> 16) + "." + std::to_string(ms & 0xffff) + "." +
           std::to_string(ls >> 16) + "." + std::to_string(ls & 0xffff);
}

void read_version(std::string_view res, VersionInfo& vi, std::string_view origin) {
    Block root = read_block(res, 0, res.size(), origin);
    if (root.key != "VS_VERSION_INFO") fail(origin, "version resource without VS_VERSION_INFO");
    vi.present = true;
    if (root.value.size() >= 52 && le(root.value, 0, 4) == 0xfeef04bdu) {
        vi.file_version = version_string(le(root.value, 8, 4), le(root.value, 12, 4));
        vi.product_version = version_string(le(root.value, 16, 4), le(root.value, 20, 4));
    }
    for (const auto& [cs, ce] : root.children) {
        Block sfi = read_block(res, cs, ce, origin);
        if (sfi.key != "StringFileInfo" || sfi.children.empty()) continue;
        // The first string table: resource compilers write one per language, most files one.
        const auto [ts, te] = sfi.children.front();
        Block table = read_block(res, ts, te, origin);
        vi.language = text::clean_utf8(table.key);
        for (const auto& [ss, se] : table.children) {
            if (vi.strings.size() >= kMaxVersionStrings) break;
            Block str = read_block(res, ss, se, origin);
            std::string value = text::utf16_to_utf8(
                str.value.substr(0, std::min(str.value.size(), 2 * kMaxStringChars)), false, true);
            for (auto& c : value)
                if (static_cast<unsigned char>(c) < 0x20) c = ' ';
            vi.strings[str.key] = value;
        }
        break;
    }
}

void find_version(std::string_view b, const Layout& l, PeFile& pe, std::string_view origin) {
    if (l.dirs.size() <= kDirResource || l.dirs[kDirResource].address == 0) return;
    std::string_view rsrc = at_rva(b, l, l.dirs[kDirResource].address);
    if (rsrc.empty()) throw UsageError(std::string(origin) + ": resource directory not mapped");
    std::uint32_t type = 0, name = 0, lang = 0;
    if (!resource_entry(rsrc, 0, kRtVersion, type, origin)) return;
    if (!(type & 0x80000000u)) fail(origin, "RT_VERSION is not a directory");
    if (!resource_entry(rsrc, type & 0x7fffffffu, 0, name, origin) || !(name & 0x80000000u))
        fail(origin, "RT_VERSION without a name directory");
    if (!resource_entry(rsrc, name & 0x7fffffffu, 0, lang, origin) || (lang & 0x80000000u))
        fail(origin, "RT_VERSION without a data entry");
    if (!inside(rsrc, lang, 16)) fail(origin, "version data entry outside the section");
    const std::uint32_t data_rva = le(rsrc, lang, 4), size = le(rsrc, lang + 4, 4);
    std::string_view data = at_rva(b, l, data_rva);
    if (data.size() < size || size < 6) fail(origin, "version resource data outside the file");
    read_version(data.substr(0, size), pe.version, origin);
}

// ---- Authenticode ----------------------------------------------------------------------------

// The file's Authenticode digest: everything but the checksum, the certificate-table directory
// entry and the certificate table, hashed in file order (as osslsigncode and signtool compute it
// for files whose sections are contiguous, which linkers produce).
std::string pe_digest(std::string_view b, const Layout& l, std::uint64_t end,
                      const std::string& hash) {
    auto h = Botan::HashFunction::create(hash);
    if (!h) throw UsageError("hash " + hash + " is not available");
    auto feed = [&](std::uint64_t from, std::uint64_t to) {
        if (to > from) h->update(reinterpret_cast<const std::uint8_t*>(b.data() + from), to - from);
    };
    feed(0, l.checksum_at);
    feed(l.checksum_at + 4, l.cert_dir_at);
    feed(l.cert_dir_at + 8, end);
    const auto out = h->final();
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

void find_signature(std::string_view b, const Layout& l, PeFile& pe, std::string_view origin) {
    if (!l.has_cert_dir) return;
    const DataDir d = l.dirs[kDirSecurity];
    if (d.address == 0 && d.size == 0) return;
    Signature& sig = pe.signature;
    sig.present = true;
    // The certificate table's address is a file offset, not an RVA.
    if (!inside(b, d.address, d.size) || d.size < 8 || d.address < l.cert_dir_at + 8) {
        sig.error = "certificate table outside the file";
        return;
    }
    if (std::uint64_t{d.address} + d.size != b.size())
        pe.warnings.push_back(std::string(origin) +
                              ": data after the certificate table (not covered by the signature)");
    std::string_view table = b.substr(d.address, d.size);
    std::size_t off = 0, entries = 0;
    while (off + 8 <= table.size() && entries++ < kMaxCertEntries) {
        const std::uint32_t len = le(table, off, 4);
        const std::uint32_t type = le(table, off + 6, 2);
        if (len < 8 || len > table.size() - off) {
            sig.error = "WIN_CERTIFICATE length outside the certificate table";
            return;
        }
        if (type == kCertTypePkcs7) {
            try {
                parse_authenticode(
                    table.substr(off + 8, len - 8), sig,
                    [&](const std::string& hash) { return pe_digest(b, l, d.address, hash); });
            } catch (const Error& e) {
                sig.error = e.what();
            }
            return;  // the first signature is the primary one; nested ones are not examined
        }
        off += (len + 7u) & ~7u;
    }
    sig.error = "no PKCS#7 SignedData in the certificate table";
}

}  // namespace

std::string VersionInfo::get(const std::string& key) const {
    auto it = strings.find(key);
    return it == strings.end() ? std::string() : it->second;
}

nlohmann::json Signature::to_json() const {
    nlohmann::json j = {{"present", present}};
    if (!present) return j;
    if (!error.empty()) j["error"] = error;
    j["subject"] = subject;
    j["subject_cn"] = subject_cn;
    j["issuer"] = issuer;
    j["serial"] = serial;
    j["digest_algorithm"] = digest_algorithm;
    j["signed_digest"] = signed_digest;
    j["file_digest"] = file_digest;
    j["digest_matches"] = digest_matches;
    j["content_bound"] = content_bound;
    j["signature_check"] = signature_check;
    j["certificates"] = certificates;
    return j;
}

nlohmann::json PeFile::to_json() const {
    nlohmann::json j = {{"machine", machine},
                        {"pe32_plus", pe32_plus},
                        {"characteristics", characteristics},
                        {"subsystem", subsystem},
                        {"signature", signature.to_json()}};
    if (version.present) {
        j["version"] = {{"file_version", version.file_version},
                        {"product_version", version.product_version},
                        {"language", version.language},
                        {"strings", version.strings}};
    }
    if (!warnings.empty()) j["warnings"] = warnings;
    return j;
}

bool looks_like_pe(std::string_view head) {
    return head.size() >= 2 && head.substr(0, 2) == "MZ";
}

PeFile parse_pe(std::string_view bytes, std::string_view origin) {
    PeFile pe;
    const Layout l = read_headers(bytes, origin, pe);
    try {
        find_version(bytes, l, pe, origin);
    } catch (const Error& e) {
        pe.warnings.push_back(std::string("version resource: ") + e.what());
    }
    find_signature(bytes, l, pe, origin);
    return pe;
}

}  // namespace audit::pe
