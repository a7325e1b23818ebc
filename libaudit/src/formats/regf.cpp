#include "audit/formats/regf.h"

#include "formats/utf.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <unordered_set>

namespace audit::regf {

namespace {

constexpr std::size_t kBaseBlock = 4096;
constexpr std::size_t kLogHeader = 512;    // a log's base block copy: its first sector
constexpr std::size_t kChecksummed = 508;  // the XOR-32 checksum covers the bytes before it
constexpr std::uint32_t kNoCell = 0xffffffffu;
constexpr std::uint32_t kMaxBinsSize = 0x7ffff000u;  // cell indexes are 31-bit
constexpr std::size_t kSegment = 16344;              // data bytes per big-data segment
constexpr std::size_t kMaxValueBytes = 64u << 20;
constexpr std::size_t kMaxValuesPerKey = 1u << 20;
constexpr std::uint64_t kLogSeed = 0xc5554e7a884def82ull;  // spec: 14219357686671994754
constexpr std::uint16_t kCompressedKeyName = 0x0020;       // nk: name is Latin-1, not UTF-16
constexpr std::uint16_t kCompressedValueName = 0x0001;     // vk: the same
constexpr std::size_t kNkFixed = 76, kVkFixed = 20, kLogEntryFixed = 40;

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

std::uint16_t rd16(std::string_view s, std::size_t off) {
    if (off > s.size() || s.size() - off < 2) throw HiveError("read past the end of a structure");
    return static_cast<std::uint16_t>(static_cast<unsigned char>(s[off]) |
                                      static_cast<unsigned char>(s[off + 1]) << 8);
}

std::uint32_t rd32(std::string_view s, std::size_t off) {
    if (off > s.size() || s.size() - off < 4) throw HiveError("read past the end of a structure");
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[off + i]);
    return v;
}

std::uint64_t rd64(std::string_view s, std::size_t off) {
    return rd32(s, off) | static_cast<std::uint64_t>(rd32(s, off + 4)) << 32;
}

void wr32(std::string& s, std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>(v >> (8 * i) & 0xff);
}

std::uint32_t xor_checksum(std::string_view block) {
    std::uint32_t c = 0;
    for (std::size_t i = 0; i < kChecksummed; i += 4) c ^= rd32(block, i);
    return c;
}

// Windows stores 0xfffffffe for a sum of 0xffffffff and 1 for 0; other writers store the plain
// XOR. Either is accepted.
bool checksum_matches(std::string_view block) {
    std::uint32_t c = xor_checksum(block), stored = rd32(block, kChecksummed);
    if (stored == c) return true;
    return (c == 0xffffffffu && stored == 0xfffffffeu) || (c == 0 && stored == 1);
}

void set_checksum(std::string& block) {
    wr32(block, kChecksummed, xor_checksum(block));
}

// Next code point of UTF-8 text; a malformed byte stands for itself, outside Unicode's range, so
// that two different malformed names never compare equal to a valid one.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
        ++i;
        return b;
    }
    std::size_t extra = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    if (extra == 0 || b >= 0xf8 || s.size() - i <= extra) {
        ++i;
        return 0x110000u + b;
    }
    std::uint32_t cp = b & (0x3fu >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
        auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xc0) != 0x80) {
            ++i;
            return 0x110000u + b;
        }
        cp = cp << 6 | (c & 0x3f);
    }
    i += 1 + extra;
    return cp;
}

std::uint32_t fold(std::uint32_t cp) {
    if (cp >= 'a' && cp <= 'z') return cp - 0x20;
    if (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) return cp - 0x20;
    if (cp == 0xff) return 0x178;
    if (cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3c2) return cp - 0x20;
    if (cp >= 0x430 && cp <= 0x44f) return cp - 0x20;
    if (cp >= 0x450 && cp <= 0x45f) return cp - 0x50;
    return cp;
}

void marvin_block(std::uint32_t& p0, std::uint32_t& p1) {
    p1 ^= p0;
    p0 = std::rotl(p0, 20);
    p0 += p1;
    p1 = std::rotl(p1, 9);
    p1 ^= p0;
    p0 = std::rotl(p0, 27);
    p0 += p1;
    p1 = std::rotl(p1, 19);
}

// One HvLE entry of a new-format transaction log, checked.
struct LogEntry {
    std::uint32_t sequence = 0, bins_size = 0;
    std::vector<std::pair<std::uint32_t, std::string_view>> pages;  // offset -> bytes
    std::string where;
};

// Reads the valid entries of one log; stops at the first bad one (as Windows does) and says why.
std::vector<LogEntry> read_log_entries(std::string_view log, const std::string& name,
                                       std::vector<std::string>& notes) {
    std::vector<LogEntry> out;
    std::size_t off = kLogHeader;
    while (off + kLogEntryFixed <= log.size()) {
        std::string_view e = log.substr(off);
        if (e.substr(0, 4) != "HvLE") break;
        const std::string where = name + " entry at " + std::to_string(off);
        std::uint32_t size = rd32(e, 4);
        if (size < kLogEntryFixed || size % kLogHeader != 0 || size > e.size()) {
            notes.push_back(where + ": bad size " + std::to_string(size) + ", recovery stops");
            break;
        }
        e = e.substr(0, size);
        LogEntry entry;
        entry.where = where;
        entry.sequence = rd32(e, 12);
        entry.bins_size = rd32(e, 16);
        std::uint32_t count = rd32(e, 20);
        if (marvin32(e.substr(kLogEntryFixed), kLogSeed) != rd64(e, 24) ||
            marvin32(e.substr(0, 32), kLogSeed) != rd64(e, 32)) {
            notes.push_back(where + ": hash mismatch, recovery stops");
            break;
        }
        bool ok = entry.bins_size % kBaseBlock == 0 && entry.bins_size > 0 &&
                  entry.bins_size <= kMaxBinsSize && count <= (size - kLogEntryFixed) / 8;
        std::size_t data = kLogEntryFixed + static_cast<std::size_t>(count) * 8;
        for (std::uint32_t i = 0; ok && i < count; ++i) {
            std::uint32_t poff = rd32(e, kLogEntryFixed + 8 * i);
            std::uint32_t psize = rd32(e, kLogEntryFixed + 8 * i + 4);
            ok = psize > 0 && psize % kLogHeader == 0 && poff % kLogHeader == 0 &&
                 poff <= entry.bins_size && psize <= entry.bins_size - poff && psize <= size - data;
            if (ok) entry.pages.emplace_back(poff, e.substr(data, psize));
            data += psize;
        }
        if (!ok) {
            notes.push_back(where + ": bad hive bins size or page reference, recovery stops");
            break;
        }
        out.push_back(std::move(entry));
        off += size;
    }
    return out;
}

}  // namespace

std::uint64_t marvin32(std::string_view data, std::uint64_t seed) {
    auto p0 = static_cast<std::uint32_t>(seed), p1 = static_cast<std::uint32_t>(seed >> 32);
    std::size_t i = 0;
    for (; data.size() - i >= 4; i += 4) {
        p0 += rd32(data, i);
        marvin_block(p0, p1);
    }
    // The tail (0-3 bytes) with a 0x80 byte after it.
    std::uint32_t last = 0x80;
    for (std::size_t k = data.size(); k > i; --k)
        last = last << 8 | static_cast<unsigned char>(data[k - 1]);
    p0 += last;
    marvin_block(p0, p1);
    marvin_block(p0, p1);
    return static_cast<std::uint64_t>(p1) << 32 | p0;
}

std::string utf16le_to_utf8(std::string_view bytes) {
    return text::utf16_to_utf8(bytes, /*big_endian=*/false);
}

bool names_equal(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size())
        if (fold(next_code_point(a, i)) != fold(next_code_point(b, j))) return false;
    return i == a.size() && j == b.size();
}

std::optional<std::string> Value::as_string() const {
    if (type != reg_sz && type != reg_expand_sz && type != reg_link) return std::nullopt;
    std::size_t end = 0;
    while (end + 1 < data.size() && (data[end] != 0 || data[end + 1] != 0)) end += 2;
    return utf16le_to_utf8(std::string_view(data).substr(0, end));
}

std::optional<std::vector<std::string>> Value::as_strings() const {
    if (type != reg_multi_sz) return std::nullopt;
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i + 1 < data.size() + 1; i += 2) {
        bool nul = i + 1 >= data.size() || (data[i] == 0 && data[i + 1] == 0);
        if (!nul) continue;
        if (i > start)
            out.push_back(utf16le_to_utf8(std::string_view(data).substr(start, i - start)));
        start = i + 2;
    }
    return out;
}

std::optional<std::uint64_t> Value::as_number() const {
    if (type == reg_dword && data.size() == 4) return rd32(data, 0);
    if (type == reg_dword_big_endian && data.size() == 4) {
        std::uint32_t v = rd32(data, 0);
        return (v >> 24) | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | (v << 24);
    }
    if (type == reg_qword && data.size() == 8) return rd64(data, 0);
    return std::nullopt;
}

Hive::Hive(std::string bytes, const std::vector<std::string>& logs) : data_(std::move(bytes)) {
    if (data_.size() < kBaseBlock)
        throw HiveError("shorter than a base block (" + std::to_string(data_.size()) + " bytes)");
    std::string_view base(data_.data(), kBaseBlock);
    if (base.substr(0, 4) != "regf") throw HiveError("no 'regf' signature");
    status_.checksum_ok = checksum_matches(base);
    status_.primary_sequence = rd32(base, 4);
    status_.secondary_sequence = rd32(base, 8);
    status_.dirty = !status_.checksum_ok || status_.primary_sequence != status_.secondary_sequence;
    if (std::uint32_t type = rd32(base, 28); type != 0)
        throw HiveError("file type " + std::to_string(type) +
                        " is a transaction log or unknown, not a primary hive file");

    if (status_.dirty) {
        // Windows' own recovery: log entries from the secondary sequence number on, .LOG1 then
        // .LOG2, contiguous, each hash-checked; the base block comes from a log when ours is bad.
        std::vector<LogEntry> entries;
        std::size_t lognum = 0;
        for (const auto& log : logs) {
            const std::string name = "LOG" + std::to_string(++lognum);
            std::string_view lb(log);
            if (lb.size() < kLogHeader || lb.substr(0, 4) != "regf" || !checksum_matches(lb)) {
                status_.notes.push_back(name + ": no valid base block, not used");
                continue;
            }
            std::uint32_t type = rd32(lb, 28);
            if (type != 6) {
                status_.notes.push_back(name + ": old-format transaction log (file type " +
                                        std::to_string(type) + "), not supported");
                continue;
            }
            if (!status_.checksum_ok && entries.empty()) {
                data_.replace(0, kLogHeader, lb.substr(0, kLogHeader));
                wr32(data_, 28, 0);
                status_.secondary_sequence = rd32(lb, 8);
                status_.notes.push_back("base block taken from " + name);
            }
            auto more = read_log_entries(lb, name, status_.notes);
            entries.insert(entries.end(), std::make_move_iterator(more.begin()),
                           std::make_move_iterator(more.end()));
        }
        const std::uint32_t from = status_.secondary_sequence;
        std::erase_if(entries, [&](const LogEntry& e) { return e.sequence < from; });
        std::stable_sort(entries.begin(), entries.end(), [](const LogEntry& a, const LogEntry& b) {
            return a.sequence < b.sequence;
        });
        if (!entries.empty() && entries.front().sequence != from)
            status_.notes.push_back("log entries start at sequence " +
                                    std::to_string(entries.front().sequence) + ", not " +
                                    std::to_string(from) + " (partial reconcile assumed)");
        // Growth must come from logged pages: a tiny log claiming a huge hive gets no allocation.
        std::size_t logged = 0;
        for (const auto& e : entries)
            for (const auto& p : e.pages) logged += p.second.size();
        const std::size_t budget = data_.size() - kBaseBlock + logged;
        std::uint32_t last = 0, bins = 0;
        for (const auto& e : entries) {
            if (e.bins_size > budget) {
                status_.notes.push_back(e.where + ": hive bins size " +
                                        std::to_string(e.bins_size) +
                                        " beyond what the logs hold, recovery stops");
                break;
            }
            if (status_.log_entries_applied > 0 && e.sequence != last + 1) {
                if (e.sequence != last)
                    status_.notes.push_back("gap in log sequence after " + std::to_string(last) +
                                            ", later entries ignored");
                break;
            }
            if (data_.size() < kBaseBlock + e.bins_size) data_.resize(kBaseBlock + e.bins_size);
            for (const auto& [off, page] : e.pages)
                data_.replace(kBaseBlock + off, page.size(), page);
            last = e.sequence;
            bins = e.bins_size;
            ++status_.log_entries_applied;
        }
        if (status_.log_entries_applied > 0) {
            std::string block = data_.substr(0, kBaseBlock);
            wr32(block, 4, last);
            wr32(block, 8, last);
            wr32(block, 40, bins);
            set_checksum(block);
            data_.replace(0, kBaseBlock, block);
            status_.recovered = true;
        } else {
            status_.notes.push_back(logs.empty() ? "no transaction logs"
                                                 : "no applicable transaction log entries");
        }
    }

    std::string_view b(data_);
    if (rd32(b, 20) != 1)
        throw HiveError("major version " + std::to_string(rd32(b, 20)) + " is not 1");
    status_.minor_version = rd32(b, 24);
    root_offset_ = rd32(b, 36);
    bins_size_ = rd32(b, 40);
    if (bins_size_ == 0 || bins_size_ % kBaseBlock != 0 || bins_size_ > kMaxBinsSize)
        throw HiveError("hive bins data size " + std::to_string(bins_size_) +
                        " is not a positive multiple of 4096");
    if (data_.size() - kBaseBlock < bins_size_)
        throw HiveError("truncated: the base block declares " + std::to_string(bins_size_) +
                        " bytes of hive bins, the file has " +
                        std::to_string(data_.size() - kBaseBlock));
    for (std::uint32_t pos = 0; pos < bins_size_;) {
        std::string_view bin = b.substr(kBaseBlock + pos, 32);
        if (bin.size() < 32 || bin.substr(0, 4) != "hbin")
            throw HiveError("no hive bin at " + hex32(pos));
        std::uint32_t off = rd32(bin, 4), size = rd32(bin, 8);
        if (off != pos)
            throw HiveError("hive bin at " + hex32(pos) + " says it is at " + hex32(off));
        if (size < kBaseBlock || size % kBaseBlock != 0 || size > bins_size_ - pos)
            throw HiveError("hive bin at " + hex32(pos) + " has bad size " + std::to_string(size));
        bin_starts_.push_back(pos);
        bin_ends_.push_back(pos + size);
        pos += size;
    }
    key_at(root_offset_);  // the root must be a key node
}

std::string Hive::embedded_name() const {
    std::string_view n = std::string_view(data_).substr(48, 64);
    std::size_t end = 0;
    while (end + 1 < n.size() && (n[end] || n[end + 1])) end += 2;
    return utf16le_to_utf8(n.substr(0, end));
}

std::string_view Hive::cell(std::uint32_t offset, std::string_view what) const {
    const std::string at = std::string(what) + " cell at " + hex32(offset);
    if (offset == kNoCell) throw HiveError(std::string(what) + " cell is missing");
    if (offset % 8 != 0 || offset >= bins_size_) throw HiveError(at + ": bad offset");
    auto it = std::upper_bound(bin_starts_.begin(), bin_starts_.end(), offset);
    std::size_t bin = static_cast<std::size_t>(it - bin_starts_.begin()) - 1;
    if (offset < bin_starts_[bin] + 32 || bin_ends_[bin] - offset < 8)
        throw HiveError(at + ": not inside a hive bin's cells");
    auto raw = static_cast<std::int32_t>(rd32(data_, kBaseBlock + offset));
    if (raw >= 0) throw HiveError(at + ": the cell is free (unallocated)");
    if (raw == INT32_MIN) throw HiveError(at + ": bad cell size");
    auto size = static_cast<std::uint32_t>(-raw);
    if (size < 8 || size % 8 != 0 || size > bin_ends_[bin] - offset)
        throw HiveError(at + ": bad cell size " + std::to_string(size));
    return std::string_view(data_).substr(kBaseBlock + offset + 4, size - 4);
}

Key Hive::key_at(std::uint32_t offset) const {
    std::string_view c = cell(offset, "key node");
    if (c.size() < kNkFixed || c.substr(0, 2) != "nk")
        throw HiveError("cell at " + hex32(offset) + " is not a key node");
    std::uint16_t len = rd16(c, 72);
    if (len > c.size() - kNkFixed)
        throw HiveError("key node at " + hex32(offset) + ": name longer than its cell");
    Key k;
    k.offset = offset;
    std::string_view raw = c.substr(kNkFixed, len);
    k.name = rd16(c, 2) & kCompressedKeyName ? text::latin1_to_utf8(raw) : utf16le_to_utf8(raw);
    k.last_written = rd64(c, 4);
    k.subkey_count = rd32(c, 20);
    k.value_count = rd32(c, 36);
    return k;
}

Key Hive::root() const {
    return key_at(root_offset_);
}

void Hive::collect_subkeys(std::uint32_t list, std::vector<Key>& out, bool allow_ri,
                           std::size_t limit) const {
    std::string_view c = cell(list, "subkey list");
    if (c.size() < 4) throw HiveError("subkey list at " + hex32(list) + " is too small");
    std::string_view sig = c.substr(0, 2);
    std::size_t n = rd16(c, 2);
    std::size_t stride = sig == "lf" || sig == "lh" ? 8 : sig == "li" || sig == "ri" ? 4 : 0;
    if (stride == 0)
        throw HiveError("cell at " + hex32(list) + " is not a subkey list (lf, lh, li, ri)");
    if (sig == "ri" && !allow_ri)
        throw HiveError("index root at " + hex32(list) + " inside an index root");
    if (n * stride > c.size() - 4)
        throw HiveError("subkey list at " + hex32(list) + ": " + std::to_string(n) +
                        " elements do not fit its cell");
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t off = rd32(c, 4 + i * stride);
        if (sig == "ri") {
            collect_subkeys(off, out, false, limit);
            continue;
        }
        if (out.size() >= limit)
            throw HiveError("subkey list at " + hex32(list) +
                            " holds more keys than the key node declares");
        out.push_back(key_at(off));
    }
}

std::vector<Key> Hive::subkeys(const Key& key) const {
    std::string_view nk = cell(key.offset, "key node");
    std::uint32_t count = rd32(nk, 20), list = rd32(nk, 28);
    std::vector<Key> out;
    if (count == 0) return out;
    out.reserve(std::min<std::size_t>(count, 4096));
    collect_subkeys(list, out, true, count);
    if (out.size() != count)
        throw HiveError("key node at " + hex32(key.offset) + " declares " + std::to_string(count) +
                        " subkeys, its lists hold " + std::to_string(out.size()));
    return out;
}

std::string Hive::value_data(std::string_view vk, std::uint32_t vk_offset) const {
    std::uint32_t raw = rd32(vk, 4), off = rd32(vk, 8);
    std::uint32_t len = raw & 0x7fffffffu;
    const std::string at = "value at " + hex32(vk_offset);
    if (raw & 0x80000000u) {
        // Up to 4 bytes kept in the offset field itself.
        if (len > 4) throw HiveError(at + ": inline data of " + std::to_string(len) + " bytes");
        return std::string(vk.substr(8, len));
    }
    if (len == 0) return {};
    if (len > kMaxValueBytes) throw HiveError(at + ": data of " + std::to_string(len) + " bytes");
    std::string_view c = cell(off, "value data");
    if (len > kSegment && status_.minor_version >= 4 && c.size() >= 8 && c.substr(0, 2) == "db") {
        std::size_t segments = rd16(c, 2);
        if (segments * kSegment < len)
            throw HiveError(at + ": " + std::to_string(segments) + " big-data segments for " +
                            std::to_string(len) + " bytes");
        std::string_view list = cell(rd32(c, 4), "big-data segment list");
        if (list.size() < segments * 4) throw HiveError(at + ": segment list too small");
        std::string out;
        out.reserve(len);
        for (std::size_t i = 0; i < segments && out.size() < len; ++i) {
            std::string_view seg = cell(rd32(list, i * 4), "big-data segment");
            std::size_t take = std::min<std::size_t>(kSegment, len - out.size());
            if (seg.size() < take) throw HiveError(at + ": big-data segment too small");
            out.append(seg.substr(0, take));
        }
        if (out.size() != len) throw HiveError(at + ": big-data segments too few");
        return out;
    }
    if (c.size() < len)
        throw HiveError(at + ": " + std::to_string(len) + " bytes of data in a cell of " +
                        std::to_string(c.size()));
    return std::string(c.substr(0, len));
}

std::vector<Value> Hive::values(const Key& key) const {
    std::string_view nk = cell(key.offset, "key node");
    std::uint32_t count = rd32(nk, 36), list_off = rd32(nk, 40);
    std::vector<Value> out;
    if (count == 0) return out;
    if (count > kMaxValuesPerKey)
        throw HiveError("key node at " + hex32(key.offset) + " declares " + std::to_string(count) +
                        " values");
    std::string_view list = cell(list_off, "value list");
    if (list.size() / 4 < count)
        throw HiveError("value list at " + hex32(list_off) + " is smaller than " +
                        std::to_string(count) + " entries");
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t off = rd32(list, i * 4);
        std::string_view vk = cell(off, "value");
        if (vk.size() < kVkFixed || vk.substr(0, 2) != "vk")
            throw HiveError("cell at " + hex32(off) + " is not a value (vk)");
        std::uint16_t len = rd16(vk, 2);
        if (len > vk.size() - kVkFixed)
            throw HiveError("value at " + hex32(off) + ": name longer than its cell");
        Value v;
        std::string_view raw = vk.substr(kVkFixed, len);
        v.name =
            rd16(vk, 16) & kCompressedValueName ? text::latin1_to_utf8(raw) : utf16le_to_utf8(raw);
        v.type = rd32(vk, 12);
        v.data = value_data(vk, off);
        out.push_back(std::move(v));
    }
    return out;
}

std::optional<Value> Hive::value(const Key& key, std::string_view name) const {
    for (auto& v : values(key))
        if (names_equal(v.name, name)) return std::move(v);
    return std::nullopt;
}

std::optional<Key> Hive::find(const Key& from, std::string_view path) const {
    Key cur = from;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        std::size_t sep = path.find('\\', pos);
        if (sep == std::string_view::npos) sep = path.size();
        std::string_view part = path.substr(pos, sep - pos);
        pos = sep + 1;
        if (part.empty()) continue;
        std::optional<Key> next;
        for (auto& k : subkeys(cur))
            if (names_equal(k.name, part)) {
                next = std::move(k);
                break;
            }
        if (!next) return std::nullopt;
        cur = std::move(*next);
    }
    return cur;
}

std::string Hive::security_descriptor(const Key& key) const {
    std::string_view nk = cell(key.offset, "key node");
    std::uint32_t off = rd32(nk, 44);
    std::string_view sk = cell(off, "key security");
    if (sk.size() < 20 || sk.substr(0, 2) != "sk")
        throw HiveError("cell at " + hex32(off) + " is not a key security item (sk)");
    std::uint32_t len = rd32(sk, 16);
    if (len > sk.size() - 20)
        throw HiveError("key security at " + hex32(off) + ": descriptor longer than its cell");
    return std::string(sk.substr(20, len));
}

void Hive::walk(const Key& from, const std::function<void(const std::string&, const Key&)>& fn,
                std::size_t max_depth) const {
    struct Frame {
        Key key;
        std::string path;
        std::size_t depth;
    };
    std::unordered_set<std::uint32_t> seen;
    std::vector<Frame> stack;
    stack.push_back({from, "", 0});
    while (!stack.empty()) {
        Frame f = std::move(stack.back());
        stack.pop_back();
        if (!seen.insert(f.key.offset).second)
            throw HiveError("key node at " + hex32(f.key.offset) +
                            " is reached twice (a cycle in the key tree)");
        if (f.depth > max_depth)
            throw HiveError("key tree deeper than " + std::to_string(max_depth) + " levels");
        fn(f.path, f.key);
        auto subs = subkeys(f.key);
        for (auto it = subs.rbegin(); it != subs.rend(); ++it) {
            std::string path = f.path.empty() ? it->name : f.path + "\\" + it->name;
            stack.push_back({std::move(*it), std::move(path), f.depth + 1});
        }
    }
}

}  // namespace audit::regf
