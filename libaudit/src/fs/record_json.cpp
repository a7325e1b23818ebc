// files.jsonl lines: FileRecord::to_json() and the same bytes written directly (a scan writes one
// line per file, so the direct form is what the hot path uses).
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/core/hex.h"
#include "audit/fs/walker.h"

namespace audit::fs {

namespace {

// Length of the valid UTF-8 sequence at s[i] (strict: no overlongs, surrogates or > U+10FFFF),
// or 0 when the byte there does not start one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    return len;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Every byte that does not start a valid sequence becomes U+FFFD.
std::string replace_invalid(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += "\xef\xbf\xbd";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// As nlohmann::json::dump() writes a (valid UTF-8) string.
void append_string(std::string& out, std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += digits[c >> 4];
                    out += digits[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

template <typename Int>
void append_int(std::string& out, Int v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

struct Key {
    std::string& out;
    bool first = true;
    void operator()(std::string_view k) {
        out += first ? "{\"" : ",\"";
        first = false;
        out += k;
        out += "\":";
    }
};

}  // namespace

// Keys in the order nlohmann's std::map-backed objects print them (byte order).
void FileRecord::append_json(std::string& out) const {
    const bool path_ok = valid_utf8(path);
    const bool is_link = type == "symlink";
    const bool link_ok = !is_link || valid_utf8(link_target);
    Key key{out};
    if (!error.empty()) {
        key("error");
        append_string(out, valid_utf8(error) ? std::string(error) : replace_invalid(error));
    }
    key("gid");
    append_int(out, gid);
    if (is_link) {
        key("link");
        append_string(out, link_ok ? link_target : replace_invalid(link_target));
        if (!link_ok) {
            key("link_hex");
            append_string(out, core::hex_encode(link_target));
        }
    }
    key("mode");
    append_int(out, mode);
    key("mtime");
    append_int(out, mtime);
    key("path");
    append_string(out, path_ok ? path : replace_invalid(path));
    if (!path_ok) {
        key("path_hex");
        append_string(out, core::hex_encode(path));
    }
    if (digests) {
        if (!digests->sha256.empty()) {
            key("sha256");
            append_string(out, digests->sha256);
        }
        if (!digests->sha384.empty()) {
            key("sha384");
            append_string(out, digests->sha384);
        }
        if (!digests->sha512.empty()) {
            key("sha512");
            append_string(out, digests->sha512);
        }
    }
    key("size");
    append_int(out, size);
    if (!skipped.empty()) {
        key("skipped");
        append_string(out, skipped);
    }
    key("type");
    append_string(out, type);
    key("uid");
    append_int(out, uid);
    if (unstable) {
        key("unstable");
        out += "true";
    }
    out += '}';
}

nlohmann::json FileRecord::to_json() const {
    const auto text = [](const std::string& s) { return valid_utf8(s) ? s : replace_invalid(s); };
    nlohmann::json j = {{"path", text(path)}, {"type", type}, {"size", size},  {"mode", mode},
                        {"uid", uid},         {"gid", gid},   {"mtime", mtime}};
    if (!valid_utf8(path)) j["path_hex"] = core::hex_encode(path);
    if (type == "symlink") {
        j["link"] = text(link_target);
        if (!valid_utf8(link_target)) j["link_hex"] = core::hex_encode(link_target);
    }
    if (digests) {
        if (!digests->sha256.empty()) j["sha256"] = digests->sha256;
        if (!digests->sha384.empty()) j["sha384"] = digests->sha384;
        if (!digests->sha512.empty()) j["sha512"] = digests->sha512;
    }
    if (!error.empty()) j["error"] = text(error);
    if (!skipped.empty()) j["skipped"] = skipped;
    if (unstable) j["unstable"] = true;
    return j;
}

}  // namespace audit::fs
