// Small bounded text helpers shared by the format and source parsers (private to libaudit/src).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace audit::sources::text {

constexpr std::size_t kMaxWarnings = 200;

// Warnings are bounded too: a file of junk must not become a gigabyte of warnings.
inline void warn(std::vector<std::string>& w, std::string msg) {
    if (w.size() < kMaxWarnings)
        w.push_back(std::move(msg));
    else if (w.size() == kMaxWarnings)
        w.push_back("further warnings suppressed");
}

inline std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
        --e;
    return std::string(s.substr(b, e - b));
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

inline bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

inline bool ends_with(std::string_view s, std::string_view x) {
    return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

// No control characters other than TAB (and LF when multi_line); no DEL.
inline bool printable(std::string_view s, bool multi_line = false) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u == 0x7f) return false;
        if (u < 0x20 && c != '\t' && !(multi_line && c == '\n')) return false;
    }
    return true;
}

// Calls fn(line, number) for each line (CR stripped), numbering from 1.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    std::size_t pos = 0, n = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        fn(line, ++n);
        pos = nl + 1;
    }
}

inline std::string where(std::string_view origin, std::size_t line) {
    return std::string(origin) + ":" + std::to_string(line);
}

// A path component taken from a directory listing that may be joined into a path.
inline bool safe_component(std::string_view n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
           n.size() <= 255 && printable(n);
}

// JSON nesting deeper than this is refused before parsing (documents we read are shallow).
bool json_depth_ok(std::string_view text, std::size_t max_depth);

}  // namespace audit::sources::text
