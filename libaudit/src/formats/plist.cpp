#include "audit/formats/plist.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "audit/core/utc.h"
#include "audit/error.h"
#include "formats/utf.h"

namespace audit::plist {

namespace {

using text::append_utf8;
using text::clean_utf8;

constexpr std::size_t kMaxBytes = 64u << 20;
constexpr int kMaxDepth = 128;
constexpr std::size_t kMaxValues = 1000000;
// Seconds from the Unix epoch to Apple's reference date 2001-01-01T00:00:00Z.
constexpr std::int64_t kAppleEpoch = 978307200;

[[noreturn]] void fail(std::string_view origin, const std::string& why) {
    throw UsageError(std::string(origin) + ": " + why);
}

using core::days_from_civil;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                                (static_cast<unsigned char>(in[i + 1]) << 8) |
                                static_cast<unsigned char>(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
    }
    if (i < in.size()) {
        std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out.push_back(kB64[(v >> 18) & 63]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.push_back(i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

// Whitespace is ignored (plists wrap data lines); anything else outside the alphabet is an error.
bool unbase64(std::string_view in, std::string& out) {
    std::uint32_t acc = 0;
    int bits = 0;
    bool pad = false;
    for (char c : in) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (c == '=') {
            pad = true;
            continue;
        }
        const char* p = std::find(kB64, kB64 + 64, c);
        if (p == kB64 + 64 || pad) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(p - kB64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return true;
}

// A repeated key replaces the earlier one, as CoreFoundation and plistlib do; the index keeps
// a dict of many keys linear.
using KeyIndex = std::unordered_map<std::string, std::size_t>;
void put(Value& dict, KeyIndex& index, std::string key, Value member) {
    auto [it, fresh] = index.emplace(key, dict.dict.size());
    if (fresh)
        dict.dict.push_back(DictEntry{std::move(key), std::move(member)});
    else
        dict.dict[it->second].second = std::move(member);
}

// Values of a parse, counted against kMaxValues; shared by both forms.
struct Budget {
    std::string_view origin;
    std::size_t used = 0;
    void take() {
        if (++used > kMaxValues)
            fail(origin, "more than " + std::to_string(kMaxValues) + " values");
    }
};

// ---- XML --------------------------------------------------------------------------------------

class XmlReader {
  public:
    XmlReader(std::string_view text, std::string_view origin)
        : s_(text), budget_{origin, 0}, origin_(origin) {}

    Value document() {
        if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
        skip_misc(true);
        Tag t = open_tag();
        Value v;
        if (t.name == "plist") {
            if (t.empty) fail_here("empty <plist/>");
            skip_misc(false);
            v = value(open_tag(), 1);
            skip_misc(false);
            close_tag("plist");
        } else {
            v = value(t, 1);
        }
        skip_misc(false);
        if (pos_ != s_.size()) fail_here("content after the plist");
        return v;
    }

  private:
    struct Tag {
        std::string name;
        bool empty = false;  // <x/>
    };

    [[noreturn]] void fail_here(const std::string& why) const {
        const std::size_t line =
            1 + static_cast<std::size_t>(std::count(
                    s_.begin(), s_.begin() + static_cast<std::ptrdiff_t>(std::min(pos_, s_.size())),
                    '\n'));
        fail(origin_, "line " + std::to_string(line) + ": " + why);
    }

    bool starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }

    void skip_ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    void skip_past(std::string_view end, const char* what) {
        const std::size_t e = s_.find(end, pos_);
        if (e == std::string_view::npos) fail_here(std::string("unterminated ") + what);
        pos_ = e + end.size();
    }

    // Whitespace, comments, processing instructions and (in the prolog) a DOCTYPE.
    void skip_misc(bool prolog) {
        for (;;) {
            skip_ws();
            if (starts("<!--")) {
                skip_past("-->", "comment");
            } else if (starts("<?")) {
                skip_past("?>", "processing instruction");
            } else if (prolog && starts("<!DOCTYPE")) {
                const std::size_t e = s_.find('>', pos_);
                if (e == std::string_view::npos) fail_here("unterminated DOCTYPE");
                // An internal subset could define entities; a plist never needs one.
                if (s_.substr(pos_, e - pos_).find('[') != std::string_view::npos)
                    fail_here("DOCTYPE with an internal subset");
                pos_ = e + 1;
            } else {
                return;
            }
        }
    }

    Tag open_tag() {
        if (pos_ >= s_.size() || s_[pos_] != '<' || starts("</")) fail_here("expected an element");
        const std::size_t e = s_.find('>', pos_);
        if (e == std::string_view::npos) fail_here("unterminated tag");
        std::string_view inner = s_.substr(pos_ + 1, e - pos_ - 1);
        Tag t;
        if (!inner.empty() && inner.back() == '/') {
            t.empty = true;
            inner.remove_suffix(1);
        }
        const std::size_t sp = inner.find_first_of(" \t\r\n");
        t.name = std::string(inner.substr(0, sp));
        if (t.name.empty()) fail_here("empty tag name");
        pos_ = e + 1;
        return t;
    }

    void close_tag(std::string_view name) {
        skip_misc(false);
        const std::string want = "</" + std::string(name);
        if (!starts(want)) fail_here("expected </" + std::string(name) + ">");
        pos_ += want.size();
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != '>') fail_here("malformed end tag");
        ++pos_;
    }

    // Character data up to "</name>", entities and CDATA resolved; no child elements.
    std::string text(const Tag& t) {
        if (t.empty) return {};
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail_here("unterminated <" + t.name + ">");
            const char c = s_[pos_];
            if (c == '<') {
                if (starts("<![CDATA[")) {
                    const std::size_t e = s_.find("]]>", pos_ + 9);
                    if (e == std::string_view::npos) fail_here("unterminated CDATA");
                    out.append(s_.substr(pos_ + 9, e - pos_ - 9));
                    pos_ = e + 3;
                    continue;
                }
                if (starts("<!--")) {
                    skip_past("-->", "comment");
                    continue;
                }
                break;
            }
            if (c == '&') {
                entity(out);
                continue;
            }
            out.push_back(c);
            ++pos_;
        }
        close_tag(t.name);
        return clean_utf8(out);
    }

    void entity(std::string& out) {
        const std::size_t e = s_.find(';', pos_);
        if (e == std::string_view::npos || e - pos_ > 12) fail_here("malformed entity");
        const std::string_view name = s_.substr(pos_ + 1, e - pos_ - 1);
        pos_ = e + 1;
        if (name == "lt") return out.push_back('<');
        if (name == "gt") return out.push_back('>');
        if (name == "amp") return out.push_back('&');
        if (name == "quot") return out.push_back('"');
        if (name == "apos") return out.push_back('\'');
        if (name.size() >= 2 && name[0] == '#') {
            const bool hex = name[1] == 'x' || name[1] == 'X';
            const std::string_view digits = name.substr(hex ? 2 : 1);
            std::uint32_t cp = 0;
            auto r =
                std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
            if (r.ec == std::errc() && r.ptr == digits.data() + digits.size() && !digits.empty() &&
                cp != 0) {
                append_utf8(out, cp);
                return;
            }
        }
        fail_here("unknown entity &" + std::string(name) + ";");
    }

    static std::string trim(const std::string& s) {
        std::size_t b = 0, e = s.size();
        while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
        while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
        return s.substr(b, e - b);
    }

    Value value(const Tag& t, int depth) {
        if (depth > kMaxDepth) fail_here("nesting deeper than " + std::to_string(kMaxDepth));
        budget_.take();
        Value v;
        if (t.name == "dict") {
            v.type = Value::Type::dict;
            if (t.empty) return v;
            KeyIndex index;
            for (;;) {
                skip_misc(false);
                if (starts("</")) break;
                Tag k = open_tag();
                if (k.name != "key") fail_here("expected <key> in <dict>, got <" + k.name + ">");
                std::string key = text(k);
                skip_misc(false);
                put(v, index, std::move(key), value(open_tag(), depth + 1));
            }
            close_tag("dict");
        } else if (t.name == "array") {
            v.type = Value::Type::array;
            if (t.empty) return v;
            for (;;) {
                skip_misc(false);
                if (starts("</")) break;
                v.array.push_back(value(open_tag(), depth + 1));
            }
            close_tag("array");
        } else if (t.name == "string") {
            v.type = Value::Type::string;
            v.text = text(t);
        } else if (t.name == "true" || t.name == "false") {
            v.type = Value::Type::boolean;
            v.boolean = t.name == "true";
            if (!t.empty) close_tag(t.name);
        } else if (t.name == "integer") {
            v.type = Value::Type::integer;
            const std::string s = trim(text(t));
            std::string_view d = s;
            const bool neg = !d.empty() && d[0] == '-';
            if (!d.empty() && (d[0] == '-' || d[0] == '+')) d.remove_prefix(1);
            int base = 10;
            if (d.size() > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
                base = 16;
                d.remove_prefix(2);
            }
            std::uint64_t mag = 0;
            auto r = std::from_chars(d.data(), d.data() + d.size(), mag, base);
            if (d.empty() || r.ec != std::errc() || r.ptr != d.data() + d.size())
                fail_here("malformed <integer> \"" + s + "\"");
            if ((!neg && mag > static_cast<std::uint64_t>(INT64_MAX)) ||
                (neg && mag > static_cast<std::uint64_t>(INT64_MAX) + 1))
                fail_here("<integer> out of the 64-bit range");
            v.integer = neg ? static_cast<std::int64_t>(0 - mag) : static_cast<std::int64_t>(mag);
        } else if (t.name == "real") {
            v.type = Value::Type::real;
            const std::string s = trim(text(t));
            if (s == "nan")
                v.real = std::nan("");
            else if (s == "inf" || s == "+inf")
                v.real = HUGE_VAL;
            else if (s == "-inf")
                v.real = -HUGE_VAL;
            else {
                auto r = std::from_chars(s.data(), s.data() + s.size(), v.real);
                if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
                    fail_here("malformed <real> \"" + s + "\"");
            }
        } else if (t.name == "date") {
            v.type = Value::Type::date;
            const std::string s = trim(text(t));
            int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
            char z = 0;
            if (s.size() != 20 ||
                std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se,
                            &z) != 7 ||
                z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
                fail_here("malformed <date> \"" + s + "\"");
            const std::int64_t unix_s =
                days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                h * 3600 + mi * 60 + se;
            v.real = static_cast<double>(unix_s - kAppleEpoch);
        } else if (t.name == "data") {
            v.type = Value::Type::data;
            if (!unbase64(text(t), v.text)) fail_here("malformed base64 in <data>");
        } else {
            fail_here("unknown element <" + t.name + ">");
        }
        return v;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    Budget budget_;
    std::string_view origin_;
};

// ---- binary -----------------------------------------------------------------------------------

class BinaryReader {
  public:
    BinaryReader(std::string_view bytes, std::string_view origin)
        : b_(bytes), budget_{origin, 0}, origin_(origin) {}

    Value document() {
        if (b_.size() < 8 + 32) fail(origin_, "binary plist shorter than its header and trailer");
        const std::size_t t = b_.size() - 32;
        offset_size_ = byte(t + 6);
        ref_size_ = byte(t + 7);
        const std::uint64_t count = be(t + 8, 8);
        const std::uint64_t top = be(t + 16, 8);
        table_ = be(t + 24, 8);
        if (offset_size_ < 1 || offset_size_ > 8 || ref_size_ < 1 || ref_size_ > 8)
            fail(origin_, "binary plist trailer: bad offset or reference size");
        if (count == 0 || count > t || top >= count)
            fail(origin_, "binary plist trailer: bad object count or top object");
        if (table_ < 8 || table_ > t || (t - table_) / offset_size_ < count)
            fail(origin_, "binary plist trailer: offset table outside the file");
        count_ = count;
        end_ = table_;  // objects lie between the header and the offset table
        on_stack_.assign(count_, false);
        return object(top, 1);
    }

  private:
    unsigned byte(std::uint64_t at) const { return static_cast<unsigned char>(b_[at]); }

    std::uint64_t be(std::uint64_t at, unsigned n) const {
        std::uint64_t v = 0;
        for (unsigned i = 0; i < n; ++i) v = (v << 8) | byte(at + i);
        return v;
    }

    // [at, at+n) must lie inside the object area.
    void need(std::uint64_t at, std::uint64_t n, const char* what) const {
        if (at > end_ || n > end_ - at)
            fail(origin_, std::string("binary plist: ") + what + " runs past the object area");
    }

    // Element count of a marker: the low nibble, or a following integer object when 0xF.
    std::uint64_t length(std::uint64_t& at, unsigned marker) const {
        const unsigned low = marker & 0x0f;
        if (low != 0x0f) return low;
        need(at, 1, "length");
        const unsigned m = byte(at);
        if ((m & 0xf0) != 0x10 || (m & 0x0f) > 3) fail(origin_, "binary plist: malformed length");
        const unsigned n = 1u << (m & 0x0f);
        need(at + 1, n, "length");
        const std::uint64_t v = be(at + 1, n);
        if (n == 8 && v > static_cast<std::uint64_t>(INT64_MAX))
            fail(origin_, "binary plist: negative length");
        at += 1 + n;
        return v;
    }

    std::uint64_t ref(std::uint64_t at) const {
        const std::uint64_t r = be(at, ref_size_);
        if (r >= count_) fail(origin_, "binary plist: object reference out of range");
        return r;
    }

    Value object(std::uint64_t index, int depth) {
        if (depth > kMaxDepth)
            fail(origin_, "binary plist: nesting deeper than " + std::to_string(kMaxDepth));
        if (on_stack_[index]) fail(origin_, "binary plist: reference cycle");
        budget_.take();
        const std::uint64_t off = be(table_ + index * offset_size_, offset_size_);
        if (off < 8 || off >= end_) fail(origin_, "binary plist: object offset out of range");
        on_stack_[index] = true;
        Value v = decode(off, depth);
        on_stack_[index] = false;
        return v;
    }

    Value decode(std::uint64_t at, int depth) {
        const unsigned marker = byte(at++);
        Value v;
        switch (marker >> 4) {
            case 0x0:
                if (marker == 0x08 || marker == 0x09) {
                    v.type = Value::Type::boolean;
                    v.boolean = marker == 0x09;
                } else if (marker != 0x00) {
                    fail(origin_, "binary plist: unknown marker");
                }
                return v;
            case 0x1: {
                const unsigned n = 1u << (marker & 0x0f);
                if (n > 16) fail(origin_, "binary plist: integer wider than 128 bits");
                need(at, n, "integer");
                v.type = Value::Type::integer;
                if (n == 16) {
                    // 128-bit: plistlib writes values beyond int64 this way; keep int64 only.
                    const std::uint64_t hi = be(at, 8), lo = be(at + 8, 8);
                    const bool fits =
                        (hi == 0 && lo <= static_cast<std::uint64_t>(INT64_MAX)) ||
                        (hi == ~std::uint64_t{0} && lo > static_cast<std::uint64_t>(INT64_MAX));
                    if (!fits) fail(origin_, "binary plist: integer out of the 64-bit range");
                    v.integer = static_cast<std::int64_t>(lo);
                } else {
                    // 1, 2 and 4 bytes are unsigned; 8 bytes are two's complement.
                    v.integer = static_cast<std::int64_t>(be(at, n));
                }
                return v;
            }
            case 0x2: {
                const unsigned n = 1u << (marker & 0x0f);
                if (n != 4 && n != 8) fail(origin_, "binary plist: real of unsupported size");
                need(at, n, "real");
                v.type = Value::Type::real;
                v.real = n == 4 ? static_cast<double>(as_float(be(at, 4))) : as_double(be(at, 8));
                return v;
            }
            case 0x3:
                if (marker != 0x33) fail(origin_, "binary plist: unknown date marker");
                need(at, 8, "date");
                v.type = Value::Type::date;
                v.real = as_double(be(at, 8));
                return v;
            case 0x4: {
                const std::uint64_t n = length(at, marker);
                need(at, n, "data");
                v.type = Value::Type::data;
                v.text.assign(b_.substr(at, n));
                return v;
            }
            case 0x5: {
                const std::uint64_t n = length(at, marker);
                need(at, n, "string");
                v.type = Value::Type::string;
                v.text = text::latin1_to_utf8(b_.substr(at, n));
                return v;
            }
            case 0x6: {
                const std::uint64_t n = length(at, marker);
                if (n > end_ / 2) fail(origin_, "binary plist: string runs past the object area");
                need(at, n * 2, "string");
                v.type = Value::Type::string;
                v.text = text::utf16_to_utf8(b_.substr(at, n * 2), true);
                return v;
            }
            case 0x8: {
                const unsigned n = (marker & 0x0f) + 1;
                if (n > 8) fail(origin_, "binary plist: UID wider than 64 bits");
                need(at, n, "uid");
                v.type = Value::Type::uid;
                v.integer = static_cast<std::int64_t>(be(at, n));
                return v;
            }
            case 0xA: {
                const std::uint64_t n = length(at, marker);
                if (n > end_ / ref_size_)
                    fail(origin_, "binary plist: array runs past the object area");
                need(at, n * ref_size_, "array");
                v.type = Value::Type::array;
                for (std::uint64_t i = 0; i < n; ++i)
                    v.array.push_back(object(ref(at + i * ref_size_), depth + 1));
                return v;
            }
            case 0xD: {
                const std::uint64_t n = length(at, marker);
                if (n > end_ / (2u * ref_size_))
                    fail(origin_, "binary plist: dict runs past the object area");
                need(at, n * 2 * ref_size_, "dict");
                v.type = Value::Type::dict;
                KeyIndex index;
                for (std::uint64_t i = 0; i < n; ++i) {
                    Value key = object(ref(at + i * ref_size_), depth + 1);
                    if (key.type != Value::Type::string)
                        fail(origin_, "binary plist: dict key is not a string");
                    put(v, index, std::move(key.text),
                        object(ref(at + (n + i) * ref_size_), depth + 1));
                }
                return v;
            }
            default:
                fail(origin_, "binary plist: unsupported object type");
        }
    }

    static float as_float(std::uint64_t bits) {
        const auto b = static_cast<std::uint32_t>(bits);
        float f;
        static_assert(sizeof f == 4);
        std::memcpy(&f, &b, 4);
        return f;
    }
    static double as_double(std::uint64_t bits) {
        double d;
        static_assert(sizeof d == 8);
        std::memcpy(&d, &bits, 8);
        return d;
    }

    std::string_view b_;
    Budget budget_;
    std::string_view origin_;
    unsigned offset_size_ = 0, ref_size_ = 0;
    std::uint64_t table_ = 0, count_ = 0, end_ = 0;
    std::vector<bool> on_stack_;
};

}  // namespace

const Value* Value::find(std::string_view key) const {
    if (type != Type::dict) return nullptr;
    for (const auto& [k, v] : dict)
        if (k == key) return &v;
    return nullptr;
}

std::string Value::string_at(std::string_view key) const {
    const Value* v = find(key);
    return v && v->type == Type::string ? v->text : std::string();
}

std::string format_date(double seconds_since_2001) {
    if (!std::isfinite(seconds_since_2001) || std::fabs(seconds_since_2001) > 1e12)
        return "invalid";
    return core::format_utc(static_cast<std::int64_t>(std::floor(seconds_since_2001)) +
                            kAppleEpoch);
}

nlohmann::json Value::to_json() const {
    switch (type) {
        case Type::boolean:
            return boolean;
        case Type::integer:
            return integer;
        case Type::real:
            return std::isfinite(real) ? nlohmann::json(real)
                                       : nlohmann::json(std::to_string(real));
        case Type::string:
            return text;
        case Type::data:
            return {{"data", base64(text)}};
        case Type::date:
            return {{"date", format_date(real)}};
        case Type::uid:
            return {{"uid", integer}};
        case Type::array: {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& v : array) a.push_back(v.to_json());
            return a;
        }
        case Type::dict: {
            nlohmann::json o = nlohmann::json::object();
            for (const auto& [k, v] : dict) o[k] = v.to_json();
            return o;
        }
        case Type::null:
            break;
    }
    return nullptr;
}

Value parse_xml(std::string_view bytes, std::string_view origin) {
    if (bytes.size() > kMaxBytes)
        fail(origin, "plist larger than " + std::to_string(kMaxBytes) + " bytes");
    return XmlReader(bytes, origin).document();
}

Value parse_binary(std::string_view bytes, std::string_view origin) {
    if (bytes.size() > kMaxBytes)
        fail(origin, "plist larger than " + std::to_string(kMaxBytes) + " bytes");
    if (bytes.substr(0, 8) != "bplist00") fail(origin, "not a binary plist (no bplist00 magic)");
    return BinaryReader(bytes, origin).document();
}

Value parse(std::string_view bytes, std::string_view origin) {
    if (bytes.substr(0, 6) == "bplist") return parse_binary(bytes, origin);
    return parse_xml(bytes, origin);
}

}  // namespace audit::plist
