#include "formats/der.h"

#include "audit/error.h"
#include "formats/utf.h"

namespace audit::der {

namespace {

[[noreturn]] void fail(std::string_view what, const std::string& why) {
    throw UsageError(std::string(what) + ": " + why);
}

// Short names as OpenSSL prints them, for the attributes certificates use.
const char* short_name(const std::string& oid) {
    struct Entry {
        const char* oid;
        const char* name;
    };
    static constexpr Entry kNames[] = {
        {"2.5.4.3", "CN"},
        {"2.5.4.4", "SN"},
        {"2.5.4.5", "serialNumber"},
        {"2.5.4.6", "C"},
        {"2.5.4.7", "L"},
        {"2.5.4.8", "ST"},
        {"2.5.4.9", "street"},
        {"2.5.4.10", "O"},
        {"2.5.4.11", "OU"},
        {"2.5.4.12", "title"},
        {"2.5.4.15", "businessCategory"},
        {"2.5.4.17", "postalCode"},
        {"2.5.4.42", "GN"},
        {"1.2.840.113549.1.9.1", "emailAddress"},
        {"1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"},
        {"1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"},
        {"1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"},
        {"0.9.2342.19200300.100.1.25", "DC"},
        {"0.9.2342.19200300.100.1.1", "UID"},
    };
    for (const auto& e : kNames)
        if (oid == e.oid) return e.name;
    return nullptr;
}

// A directory string as UTF-8, control characters replaced: it is shown and matched as text.
std::string directory_string(const Element& e) {
    std::string s;
    switch (e.tag) {
        case kBmpString:
            s = text::utf16_to_utf8(e.content, true);
            break;
        case kUniversalString:
            for (std::size_t i = 0; i + 3 < e.content.size(); i += 4) {
                std::uint32_t cp = 0;
                for (std::size_t k = 0; k < 4; ++k)
                    cp = (cp << 8) | static_cast<unsigned char>(e.content[i + k]);
                text::append_utf8(s, cp);
            }
            break;
        case kT61String:
            s = text::latin1_to_utf8(e.content);
            break;
        case kUtf8String:
        case kPrintableString:
        case kIa5String:
            s = text::clean_utf8(e.content);
            break;
        default:
            s = "#" + hex(e.whole);
    }
    for (auto& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return s;
}

template <typename Fn>
void for_each_attribute(std::string_view name_content, std::string_view what, Fn&& fn) {
    Reader rdns(name_content, what);
    std::size_t count = 0;
    while (!rdns.done()) {
        Element rdn = rdns.expect(kSet, "RelativeDistinguishedName");
        Reader atvs(rdn.content, what);
        bool first = true;
        while (!atvs.done()) {
            if (++count > 256) fail(what, "Name with more than 256 attributes");
            Element atv = atvs.expect(kSequence, "AttributeTypeAndValue");
            Reader parts(atv.content, what);
            const std::string type = oid(parts.expect(kOid, "attribute type").content);
            const Element value = parts.next();
            fn(type, value, first);
            first = false;
        }
    }
}

// The offset just past the end-of-contents marker that closes an indefinite-length value whose
// content starts at pos. Iterative (nesting is a counter, bounded by the input), so a deep
// nesting costs no stack.
std::size_t indefinite_end(std::string_view s, std::size_t pos, std::string_view what) {
    std::size_t depth = 1;
    while (depth > 0) {
        if (s.size() - pos < 2) fail(what, "indefinite length without its end-of-contents marker");
        const auto tag = static_cast<unsigned char>(s[pos++]);
        std::size_t len = static_cast<unsigned char>(s[pos++]);
        if (tag == 0) {
            if (len != 0) fail(what, "malformed end-of-contents marker");
            --depth;
            continue;
        }
        if ((tag & 0x1f) == 0x1f) fail(what, "multi-byte DER tags are not used here");
        if (len == 0x80) {
            if (!(tag & 0x20)) fail(what, "indefinite length of a primitive value");
            ++depth;
            continue;
        }
        if (len & 0x80) {
            const std::size_t n = len & 0x7f;
            if (n > 4) fail(what, "DER length wider than 4 bytes");
            if (s.size() - pos < n) fail(what, "truncated DER length");
            len = 0;
            for (std::size_t i = 0; i < n; ++i)
                len = (len << 8) | static_cast<unsigned char>(s[pos++]);
        }
        if (len > s.size() - pos) fail(what, "DER element longer than what encloses it");
        pos += len;
    }
    return pos;
}

}  // namespace

std::uint8_t Reader::peek() const {
    return done() ? 0 : static_cast<std::uint8_t>(s_[pos_]);
}

Element Reader::next() {
    const std::size_t start = pos_;
    if (s_.size() - pos_ < 2) fail(what_, "truncated DER element");
    Element e;
    e.tag = static_cast<std::uint8_t>(s_[pos_++]);
    if ((e.tag & 0x1f) == 0x1f) fail(what_, "multi-byte DER tags are not used here");
    std::size_t len = static_cast<unsigned char>(s_[pos_++]);
    if (len == 0x80 && ber_) {
        if (!(e.tag & 0x20)) fail(what_, "indefinite length of a primitive value");
        const std::size_t end = indefinite_end(s_, pos_, what_);
        e.content = s_.substr(pos_, end - 2 - pos_);
        pos_ = end;
        e.whole = s_.substr(start, pos_ - start);
        return e;
    }
    if (len & 0x80) {
        const std::size_t n = len & 0x7f;
        if (n == 0) fail(what_, "indefinite length (BER) where DER is required");
        if (n > 4) fail(what_, "DER length wider than 4 bytes");
        if (s_.size() - pos_ < n) fail(what_, "truncated DER length");
        len = 0;
        for (std::size_t i = 0; i < n; ++i)
            len = (len << 8) | static_cast<unsigned char>(s_[pos_++]);
    }
    if (len > s_.size() - pos_) fail(what_, "DER element longer than what encloses it");
    e.content = s_.substr(pos_, len);
    pos_ += len;
    e.whole = s_.substr(start, pos_ - start);
    return e;
}

Element Reader::expect(std::uint8_t tag, std::string_view name) {
    if (done()) fail(what_, "missing " + std::string(name));
    if (peek() != tag)
        fail(what_, std::string(name) + ": unexpected tag 0x" +
                        hex(std::string(1, static_cast<char>(peek()))));
    return next();
}

bool Reader::optional(std::uint8_t tag, Element& out) {
    if (done() || peek() != tag) return false;
    out = next();
    return true;
}

std::string oid(std::string_view c) {
    if (c.empty() || c.size() > 64) return "invalid";
    std::string out;
    std::uint64_t v = 0;
    bool first = true;
    for (char ch : c) {
        const auto b = static_cast<unsigned char>(ch);
        if (v > (UINT64_MAX >> 7)) return "invalid";
        v = (v << 7) | (b & 0x7f);
        if (b & 0x80) continue;
        if (first) {
            const std::uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
            out = std::to_string(a) + "." + std::to_string(v - a * 40);
            first = false;
        } else {
            out += "." + std::to_string(v);
        }
        v = 0;
    }
    return (static_cast<unsigned char>(c.back()) & 0x80) ? "invalid" : out;
}

std::string name(std::string_view name_content, std::string_view what) {
    std::string out;
    for_each_attribute(name_content, what,
                       [&](const std::string& type, const Element& value, bool first) {
                           if (!out.empty()) out += first ? ", " : " + ";
                           const char* sn = short_name(type);
                           out += sn ? sn : type;
                           out += "=" + directory_string(value);
                       });
    return out;
}

std::string common_name(std::string_view name_content, std::string_view what) {
    std::string cn;
    for_each_attribute(name_content, what,
                       [&](const std::string& type, const Element& value, bool) {
                           if (type == "2.5.4.3") cn = directory_string(value);
                       });
    return cn;
}

std::vector<std::string> attributes(std::string_view name_content, std::string_view type_oid,
                                    std::string_view what) {
    std::vector<std::string> out;
    for_each_attribute(name_content, what,
                       [&](const std::string& type, const Element& value, bool) {
                           if (type == type_oid) out.push_back(directory_string(value));
                       });
    return out;
}

std::string hex(std::string_view bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        out.push_back(digits[static_cast<unsigned char>(c) >> 4]);
        out.push_back(digits[static_cast<unsigned char>(c) & 15]);
    }
    return out;
}

std::string serial_hex(std::string_view c) {
    if (c.size() > 1 && c[0] == 0 && (static_cast<unsigned char>(c[1]) & 0x80)) c.remove_prefix(1);
    return hex(c);
}

}  // namespace audit::der
