// A small regf writer for tests: hives with exactly the structures a test needs (ri index roots,
// big-data values, UTF-16 names, broken cells) and HvLE transaction logs. Written from the format
// specification; the tests also check what it writes against hivex, an independent reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/formats/regf.h"

namespace regf_test {

struct ValueSpec {
    std::string name;  // ASCII names are stored compressed, others as UTF-16LE
    std::uint32_t type = audit::regf::reg_sz;
    std::string data;  // raw bytes
};

struct KeySpec {
    std::string name;  // UTF-8; ASCII stored compressed, others as UTF-16LE
    std::vector<ValueSpec> values;
    std::vector<KeySpec> subkeys;
    std::string list = "lh";      // "lf", "lh", "li", or "ri" (an index root of lh leaves)
    std::size_t leaf_size = 100;  // keys per leaf under an ri
};

inline std::string utf16(std::string_view utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        auto b = static_cast<unsigned char>(utf8[i]);
        std::uint32_t cp;
        int extra = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
        cp = extra ? b & (0x3f >> extra) : b;
        for (int k = 1; k <= extra; ++k) cp = cp << 6 | (utf8[i + k] & 0x3f);
        i += 1 + extra;
        auto unit = [&](std::uint32_t u) {
            out.push_back(static_cast<char>(u & 0xff));
            out.push_back(static_cast<char>(u >> 8));
        };
        if (cp >= 0x10000) {
            unit(0xd800 + ((cp - 0x10000) >> 10));
            unit(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            unit(cp);
        }
    }
    return out;
}

inline std::string sz(std::string_view utf8) {
    return utf16(utf8) + std::string(2, '\0');
}

inline std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

inline std::string le16(std::uint16_t v) {
    return le32(v).substr(0, 2);
}

inline void put32(std::string& s, std::size_t off, std::uint32_t v) {
    s.replace(off, 4, le32(v));
}

inline std::uint32_t get32(const std::string& s, std::size_t off) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[off + i]);
    return v;
}

inline bool ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

class HiveBuilder {
  public:
    std::uint32_t primary_sequence = 1, secondary_sequence = 1;
    std::uint32_t minor = 5;

    // The whole hive file.
    std::string build(const KeySpec& root) {
        bins_.assign(32, '\0');  // first hive bin header, filled at the end
        sk_ = alloc(std::string(20 + 20, '\0'));
        std::uint32_t root_off = key(root, 0xffffffffu, true);
        // security cell: "sk", flink/blink to itself, reference count, a minimal descriptor
        std::string sk = "sk" + le16(0) + le32(sk_) + le32(sk_) + le32(keys_) + le32(20) +
                         std::string(1, '\x01') + std::string(1, '\0') + le16(0x8000) +
                         std::string(16, '\0');
        bins_.replace(sk_ + 4, sk.size(), sk);
        // pad to a 4096 multiple with one free cell
        std::size_t size = (bins_.size() + 8 + 4095) / 4096 * 4096;
        std::size_t rest = size - bins_.size();
        bins_ += le32(static_cast<std::uint32_t>(rest)) + std::string(rest - 4, '\0');
        std::string hdr =
            "hbin" + le32(0) + le32(static_cast<std::uint32_t>(size)) + std::string(20, '\0');
        bins_.replace(0, 32, hdr);
        std::string base(4096, '\0');
        base.replace(0, 4, "regf");
        put32(base, 4, primary_sequence);
        put32(base, 8, secondary_sequence);
        put32(base, 20, 1);
        put32(base, 24, minor);
        put32(base, 32, 1);
        put32(base, 36, root_off);
        put32(base, 40, static_cast<std::uint32_t>(size));
        put32(base, 44, 1);
        base.replace(48, 8, utf16("TEST"));
        checksum(base);
        return base + bins_;
    }

    static void checksum(std::string& base) {
        std::uint32_t c = 0;
        for (std::size_t i = 0; i < 508; i += 4) c ^= get32(base, i);
        put32(base, 508, c);
    }

    // Offset of the last key the builder wrote with this name (for corruption tests).
    std::uint32_t offset_of(const std::string& name) const {
        for (const auto& [n, off] : offsets_)
            if (n == name) return off;
        return 0xffffffffu;
    }

  private:
    std::string bins_;  // hive bins data
    std::uint32_t sk_ = 0, keys_ = 0;
    std::vector<std::pair<std::string, std::uint32_t>> offsets_;

    std::uint32_t alloc(const std::string& payload) {
        std::uint32_t off = static_cast<std::uint32_t>(bins_.size());
        std::size_t size = (4 + payload.size() + 7) / 8 * 8;
        bins_ += le32(static_cast<std::uint32_t>(-static_cast<std::int32_t>(size))) + payload +
                 std::string(size - 4 - payload.size(), '\0');
        return off;
    }

    static std::uint32_t name_hash(const std::string& name) {
        std::uint32_t h = 0;
        for (char c : name) h = 37 * h + static_cast<unsigned char>(std::toupper(c));
        return h;
    }

    std::uint32_t leaf(const std::string& sig, const std::vector<std::uint32_t>& offs,
                       const std::vector<const KeySpec*>& specs) {
        std::string p = sig + le16(static_cast<std::uint16_t>(offs.size()));
        for (std::size_t i = 0; i < offs.size(); ++i) {
            p += le32(offs[i]);
            if (sig == "lf") p += (specs[i]->name + std::string(4, '\0')).substr(0, 4);
            if (sig == "lh") p += le32(name_hash(specs[i]->name));
        }
        return alloc(p);
    }

    std::uint32_t value(const ValueSpec& v) {
        bool comp = ascii(v.name);
        std::string name = comp ? v.name : utf16(v.name);
        std::uint32_t size = static_cast<std::uint32_t>(v.data.size()), data_off = 0;
        if (v.data.size() <= 4) {
            std::string inl = v.data + std::string(4 - v.data.size(), '\0');
            data_off = get32(inl, 0);
            size |= 0x80000000u;
        } else if (v.data.size() > 16344 && minor >= 4) {
            std::vector<std::uint32_t> segs;
            for (std::size_t at = 0; at < v.data.size(); at += 16344)
                segs.push_back(alloc(v.data.substr(at, 16344)));
            std::string list;
            for (auto s : segs) list += le32(s);
            std::uint32_t list_off = alloc(list);
            data_off = alloc("db" + le16(static_cast<std::uint16_t>(segs.size())) + le32(list_off));
        } else {
            data_off = alloc(v.data);
        }
        return alloc("vk" + le16(static_cast<std::uint16_t>(name.size())) + le32(size) +
                     le32(data_off) + le32(v.type) + le16(comp ? 1 : 0) + le16(0) + name);
    }

    std::uint32_t key(const KeySpec& k, std::uint32_t parent, bool is_root) {
        bool comp = ascii(k.name);
        std::string name = comp ? k.name : utf16(k.name);
        std::uint32_t self = alloc(std::string(76 + name.size(), '\0'));
        ++keys_;
        offsets_.emplace_back(k.name, self);
        std::vector<std::uint32_t> subs;
        std::vector<const KeySpec*> specs;
        for (const auto& s : k.subkeys) {
            subs.push_back(key(s, self, false));
            specs.push_back(&s);
        }
        std::uint32_t list = 0xffffffffu;
        if (!subs.empty()) {
            if (k.list == "ri") {
                std::vector<std::uint32_t> leaves;
                for (std::size_t at = 0; at < subs.size(); at += k.leaf_size) {
                    std::size_t n = std::min(k.leaf_size, subs.size() - at);
                    leaves.push_back(leaf("lh", {subs.begin() + at, subs.begin() + at + n},
                                          {specs.begin() + at, specs.begin() + at + n}));
                }
                std::string ri = "ri" + le16(static_cast<std::uint16_t>(leaves.size()));
                for (auto l : leaves) ri += le32(l);
                list = alloc(ri);
            } else {
                list = leaf(k.list, subs, specs);
            }
        }
        std::uint32_t values = 0xffffffffu;
        if (!k.values.empty()) {
            std::string vl;
            for (const auto& v : k.values) vl += le32(value(v));
            values = alloc(vl);
        }
        std::uint16_t flags = static_cast<std::uint16_t>((is_root ? 0x0c : 0) | (comp ? 0x20 : 0));
        std::string nk = "nk" + le16(flags) + std::string(8, '\0') + le32(0) + le32(parent) +
                         le32(static_cast<std::uint32_t>(subs.size())) + le32(0) + le32(list) +
                         le32(0xffffffffu) + le32(static_cast<std::uint32_t>(k.values.size())) +
                         le32(values) + le32(sk_) + le32(0xffffffffu) + std::string(20, '\0') +
                         le16(static_cast<std::uint16_t>(name.size())) + le16(0) + name;
        bins_.replace(self + 4, nk.size(), nk);
        return self;
    }
};

// One HvLE log entry: pages of the hive bins data (offsets relative to it) at a sequence number.
struct LogEntrySpec {
    std::uint32_t sequence;
    std::uint32_t bins_size;
    std::vector<std::pair<std::uint32_t, std::string>> pages;
    bool corrupt_hash = false;
};

// A new-format transaction log: the primary's base block (file type 6) and the entries.
inline std::string make_log(const std::string& primary, const std::vector<LogEntrySpec>& entries) {
    std::string base = primary.substr(0, 512);
    put32(base, 28, 6);
    HiveBuilder::checksum(base);
    std::string out = base;
    for (const auto& e : entries) {
        std::string refs, pages;
        for (const auto& [off, bytes] : e.pages) {
            refs += le32(off) + le32(static_cast<std::uint32_t>(bytes.size()));
            pages += bytes;
        }
        std::string body = refs + pages;
        std::size_t size = (40 + body.size() + 511) / 512 * 512;
        body += std::string(size - 40 - body.size(), '\0');
        std::string head = "HvLE" + le32(static_cast<std::uint32_t>(size)) + le32(0) +
                           le32(e.sequence) + le32(e.bins_size) +
                           le32(static_cast<std::uint32_t>(e.pages.size()));
        std::uint64_t h1 = audit::regf::marvin32(body, 0xc5554e7a884def82ull);
        if (e.corrupt_hash) h1 ^= 1;
        head += le32(static_cast<std::uint32_t>(h1)) + le32(static_cast<std::uint32_t>(h1 >> 32));
        std::uint64_t h2 = audit::regf::marvin32(head, 0xc5554e7a884def82ull);
        head += le32(static_cast<std::uint32_t>(h2)) + le32(static_cast<std::uint32_t>(h2 >> 32));
        out += head + body;
    }
    return out;
}

}  // namespace regf_test
