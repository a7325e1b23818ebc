// rpm header blobs: "il" index entries of 16 bytes (tag, type, offset, count; big endian) over a
// data store of "dl" bytes. The layout and limits follow rpm's lib/header.c and rpmtag.h.
#include <algorithm>
#include <map>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/sources/rpm.h"
#include "sources/rpm_db.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxEntries = 65536;    // real headers have a few hundred
constexpr std::size_t kMaxData = 0x0fffffff;  // rpm's HEADER_DATA_MAX
constexpr std::size_t kMaxRpmFiles = 4u << 20;
constexpr std::size_t kMaxProblems = 20;
const unsigned char kMagic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};

enum Type : std::uint32_t {
    kNull = 0,
    kChar = 1,
    kInt8 = 2,
    kInt16 = 3,
    kInt32 = 4,
    kInt64 = 5,
    kString = 6,
    kBin = 7,
    kStringArray = 8,
    kI18nString = 9,
};

enum Tag : std::uint32_t {
    kSha256Header = 273,
    kName = 1000,
    kVersion = 1001,
    kRelease = 1002,
    kEpoch = 1003,
    kSummary = 1004,
    kInstallTime = 1008,
    kVendor = 1011,
    kLicense = 1014,
    kPackager = 1015,
    kUrl = 1020,
    kArch = 1022,
    kOldFilenames = 1027,
    kFileDigests = 1035,
    kSourceRpm = 1044,
    kDirIndexes = 1116,
    kBasenames = 1117,
    kDirnames = 1118,
    kFileDigestAlgo = 5011,
};

using rpmdb::be32;

// Valid UTF-8 is kept, every other byte becomes U+FFFD: evidence is JSON, and a vendor string in
// Latin-1 must not stop the scan.
std::string utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
        bool ok = n > 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok && n > 1) {
            std::uint32_t cp = c & (0x7f >> n);
            for (std::size_t k = 1; k < n; ++k)
                cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
            const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        }
        if (ok) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

struct Entry {
    std::uint32_t type = 0, offset = 0, count = 0;
};

// The index, checked once: every entry's type, alignment and extent lie inside the data store.
class HeaderView {
  public:
    explicit HeaderView(std::string_view blob) {
        if (blob.size() >= 8 &&
            std::equal(kMagic, kMagic + 8, blob.begin(),
                       [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); }))
            blob.remove_prefix(8);
        if (blob.size() < 8)
            rpmdb::bad("rpm header", "shorter than its 8-byte preamble (" +
                                         std::to_string(blob.size()) + " bytes)");
        const std::uint32_t il = be32(blob, 0), dl = be32(blob, 4);
        if (il == 0 || il > kMaxEntries)
            rpmdb::bad("rpm header", "implausible entry count " + std::to_string(il));
        if (dl > kMaxData)
            rpmdb::bad("rpm header", "implausible data length " + std::to_string(dl));
        const std::size_t want = 8 + std::size_t{il} * 16 + dl;
        if (blob.size() != want)
            rpmdb::bad("rpm header", std::to_string(blob.size()) + " bytes where its index says " +
                                         std::to_string(want));
        data_ = blob.substr(8 + std::size_t{il} * 16);
        for (std::uint32_t i = 0; i < il; ++i) {
            const std::size_t at = 8 + std::size_t{i} * 16;
            const std::uint32_t tag = be32(blob, at);
            Entry e{be32(blob, at + 4), be32(blob, at + 8), be32(blob, at + 12)};
            check(tag, e);
            entries_[tag] = e;  // a later (installed-time) entry replaces an earlier one
        }
    }

    bool has(std::uint32_t tag) const { return entries_.count(tag) != 0; }

    std::optional<std::vector<std::string>> strings(std::uint32_t tag) const {
        auto it = entries_.find(tag);
        if (it == entries_.end()) return std::nullopt;
        const Entry& e = it->second;
        if (e.type != kString && e.type != kStringArray && e.type != kI18nString)
            rpmdb::bad("rpm header", "tag " + std::to_string(tag) + " has type " +
                                         std::to_string(e.type) + ", not a string");
        std::vector<std::string> out;
        out.reserve(e.count);
        std::size_t pos = e.offset;
        for (std::uint32_t i = 0; i < e.count; ++i) {
            std::size_t nul = data_.find('\0', pos);  // found: check() proved it
            out.push_back(utf8(data_.substr(pos, nul - pos)));
            pos = nul + 1;
        }
        return out;
    }

    std::optional<std::string> string(std::uint32_t tag) const {
        auto v = strings(tag);
        if (!v) return std::nullopt;
        return v->front();  // an i18n string's first entry is the C locale's
    }

    std::optional<std::vector<std::uint32_t>> int32s(std::uint32_t tag) const {
        auto it = entries_.find(tag);
        if (it == entries_.end()) return std::nullopt;
        const Entry& e = it->second;
        if (e.type != kInt32)
            rpmdb::bad("rpm header", "tag " + std::to_string(tag) + " has type " +
                                         std::to_string(e.type) + ", not int32");
        std::vector<std::uint32_t> out(e.count);
        for (std::uint32_t i = 0; i < e.count; ++i)
            out[i] = be32(data_, e.offset + std::size_t{i} * 4);
        return out;
    }

    std::optional<std::uint32_t> int32(std::uint32_t tag) const {
        auto v = int32s(tag);
        if (!v) return std::nullopt;
        return v->front();
    }

  private:
    void check(std::uint32_t tag, const Entry& e) const {
        const std::string what = "tag " + std::to_string(tag);
        if (e.type > kI18nString)
            rpmdb::bad("rpm header", what + ": unknown type " + std::to_string(e.type));
        if (e.count == 0 || e.count > data_.size() + 1)
            rpmdb::bad("rpm header", what + ": implausible count " + std::to_string(e.count));
        if (e.type == kNull) return;
        if (e.offset >= data_.size())
            rpmdb::bad("rpm header",
                       what + ": offset " + std::to_string(e.offset) + " past the data store");
        if ((e.type == kString) && e.count != 1)
            rpmdb::bad("rpm header", what + ": a string with count " + std::to_string(e.count));
        if (e.type == kString || e.type == kStringArray || e.type == kI18nString) {
            std::size_t pos = e.offset;
            for (std::uint32_t i = 0; i < e.count; ++i) {
                std::size_t nul = data_.find('\0', pos);
                if (nul == std::string_view::npos)
                    rpmdb::bad("rpm header", what + ": string " + std::to_string(i) +
                                                 " runs past the data store");
                pos = nul + 1;
            }
            return;
        }
        std::size_t size = e.type == kInt16 ? 2 : e.type == kInt32 ? 4 : e.type == kInt64 ? 8 : 1;
        if (e.offset % size != 0)
            rpmdb::bad("rpm header", what + ": misaligned offset " + std::to_string(e.offset));
        if (std::size_t{e.count} * size > data_.size() - e.offset)
            rpmdb::bad("rpm header", what + ": runs past the data store");
    }

    std::string_view data_;
    std::map<std::uint32_t, Entry> entries_;
};

bool hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void problem(RpmHeader& h, std::string msg) {
    if (h.problems.size() < kMaxProblems) h.problems.push_back(std::move(msg));
}

// File names: dirnames[dirindexes[i]] + basenames[i], or the old flat list.
std::vector<std::string> file_names(const HeaderView& v, RpmHeader& h) {
    auto base = v.strings(kBasenames);
    if (!base) return v.strings(kOldFilenames).value_or(std::vector<std::string>{});
    auto dirs = v.strings(kDirnames);
    auto idx = v.int32s(kDirIndexes);
    if (!dirs || !idx || idx->size() != base->size()) {
        problem(h, "file list: " + std::to_string(base->size()) +
                       " basenames without matching dirnames/dirindexes");
        return {};
    }
    if (base->size() > kMaxRpmFiles)
        rpmdb::bad("rpm header", "more than " + std::to_string(kMaxRpmFiles) + " files");
    std::vector<std::string> out;
    out.reserve(base->size());
    for (std::size_t i = 0; i < base->size(); ++i) {
        if ((*idx)[i] >= dirs->size()) {
            problem(h, "file list: directory index " + std::to_string((*idx)[i]) + " out of range");
            return {};
        }
        out.push_back((*dirs)[(*idx)[i]] + (*base)[i]);
    }
    return out;
}

bool printable_name(std::string_view s) {
    if (s.empty() || s.size() > 256) return false;
    return std::none_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '/' || c == ' ';
    });
}

}  // namespace

std::string rpm_digest_algo_name(std::uint32_t algo) {
    switch (algo) {
        case 1:
            return "md5";
        case 2:
            return "sha1";
        case 3:
            return "ripemd160";
        case 8:
            return "sha256";
        case 9:
            return "sha384";
        case 10:
            return "sha512";
        case 11:
            return "sha224";
        case 12:
            return "sha3-256";
        case 14:
            return "sha3-512";
    }
    return "algo-" + std::to_string(algo);
}

RpmHeader parse_rpm_header(std::string_view blob) {
    HeaderView v(blob);
    RpmHeader h;
    h.name = v.string(kName).value_or("");
    if (!printable_name(h.name))
        rpmdb::bad("rpm header", h.name.empty() ? "no NAME" : "NAME is not a package name");
    h.version = v.string(kVersion).value_or("");
    h.release = v.string(kRelease).value_or("");
    h.arch = v.string(kArch).value_or("");
    h.vendor = v.string(kVendor).value_or("");
    h.packager = v.string(kPackager).value_or("");
    h.summary = v.string(kSummary).value_or("");
    h.license = v.string(kLicense).value_or("");
    h.url = v.string(kUrl).value_or("");
    h.source_rpm = v.string(kSourceRpm).value_or("");
    h.header_sha256 = v.string(kSha256Header).value_or("");
    h.epoch = v.int32(kEpoch);
    h.install_time = v.int32(kInstallTime);
    h.digest_algo = v.int32(kFileDigestAlgo).value_or(1);
    if (h.version.empty() || h.release.empty()) problem(h, "no VERSION or RELEASE");

    std::vector<std::string> names = file_names(v, h);
    std::vector<std::string> digests;
    if (auto d = v.strings(kFileDigests)) {
        if (d->size() == names.size())
            digests = std::move(*d);
        else
            problem(h, "file digests: " + std::to_string(d->size()) + " for " +
                           std::to_string(names.size()) + " files");
    }
    h.files.reserve(names.size());
    std::size_t bad_digests = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        RpmFile f{fs::normalize(names[i]), i < digests.size() ? digests[i] : std::string()};
        std::transform(f.digest.begin(), f.digest.end(), f.digest.begin(), [](char c) {
            return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
        });
        if (!hex(f.digest)) {
            ++bad_digests;
            f.digest.clear();
        }
        h.files.push_back(std::move(f));
    }
    if (bad_digests) problem(h, std::to_string(bad_digests) + " file digests are not hex, dropped");
    return h;
}

}  // namespace audit::sources
