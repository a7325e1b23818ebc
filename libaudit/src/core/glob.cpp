// Globs compiled to a small NFA and run as a state-set simulation: time is bounded by
// O(pattern x text) whatever the pattern, so "*a*a*a*a*b" cannot backtrack exponentially.
#include <algorithm>
#include <bitset>
#include <cstdint>

#include "audit/core/glob.h"
#include "audit/error.h"

namespace audit::core {

struct Glob::Node {
    enum class Step : std::uint8_t { none, literal, set };
    enum class Loop : std::uint8_t { none, segment, any };  // segment: any byte but '/'

    Step step = Step::none;  // consuming one byte moves to the next node
    char literal = 0;
    std::bitset<256> set;    // '?' and '[...]'
    Loop loop = Loop::none;  // consuming a byte stays on this node
    int eps[2] = {-1, -1};   // moves without consuming (always forward)
};

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
char upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
unsigned char byte(char c) {
    return static_cast<unsigned char>(c);
}

void add_eps(Glob::Node& n, int target) {
    if (n.eps[0] < 0)
        n.eps[0] = target;
    else
        n.eps[1] = target;
}

}  // namespace

Glob::Glob(std::string_view pattern, bool case_insensitive)
    : pattern_(pattern), case_insensitive_(case_insensitive) {
    using Step = Node::Step;
    using Loop = Node::Loop;
    const std::size_t n = pattern.size();
    std::string literal;  // unescaped literal text before the first wildcard
    bool wildcard_seen = false;
    bool last_was_slash = false;  // the last node consumes an unescaped '/'

    auto push_literal = [&](char c) {
        Node node;
        node.step = Step::literal;
        node.literal = case_insensitive_ ? lower(c) : c;
        nodes_.push_back(node);
        if (!wildcard_seen) literal.push_back(c);
    };

    for (std::size_t i = 0; i < n; ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            if (i + 1 == n) throw UsageError("glob ends with an unfinished escape '\\'");
            push_literal(pattern[++i]);
            last_was_slash = false;
            continue;
        }
        if (c == '*') {
            wildcard_seen = true;
            std::size_t stars = 1;
            while (i + stars < n && pattern[i + stars] == '*') ++stars;
            if (stars == 1) {
                Node node;
                node.loop = Loop::segment;
                node.eps[0] = static_cast<int>(nodes_.size()) + 1;
                nodes_.push_back(node);
                last_was_slash = false;
                continue;
            }
            if (stars > 2) throw UsageError("glob has '***'; use '*' or '**'");
            const bool at_start = i == 0 || (last_was_slash && pattern[i - 1] == '/');
            const std::size_t after = i + 2;
            if (!at_start || (after < n && pattern[after] != '/'))
                throw UsageError(
                    "'**' must be a whole path segment (\"a/**/b\", \"a/**\", \"**/b\")");
            const int self = static_cast<int>(nodes_.size());
            Node node;
            node.loop = Loop::any;
            if (after < n) {
                // "**/": nothing (skip from an entry node), or anything that ends with '/'. The
                // loop node has no epsilon of its own, so "/a/**/b" does not match "/a/xb".
                Node entry;
                entry.eps[0] = self + 2;
                entry.eps[1] = self + 1;
                nodes_.push_back(entry);
                node.step = Step::literal;
                node.literal = '/';
                nodes_.push_back(node);
                i = after;  // the '/' is part of the loop node
                last_was_slash = true;
            } else {
                // Trailing "/**": the directory itself or anything below it.
                node.eps[0] = self + 1;
                if (self > 0 && last_was_slash) add_eps(nodes_[self - 1], self + 1);
                nodes_.push_back(node);
                i = after - 1;
                last_was_slash = false;
            }
            continue;
        }
        if (c == '?') {
            wildcard_seen = true;
            Node node;
            node.step = Step::set;
            node.set.set();
            node.set.reset('/');
            nodes_.push_back(node);
            last_was_slash = false;
            continue;
        }
        if (c == '[') {
            wildcard_seen = true;
            std::size_t j = i + 1;
            bool negate = false;
            if (j < n && (pattern[j] == '!' || pattern[j] == '^')) {
                negate = true;
                ++j;
            }
            std::bitset<256> set;
            bool first = true;
            for (;; first = false) {
                if (j >= n) throw UsageError("glob has an unterminated '[' class");
                char lo = pattern[j];
                if (lo == ']' && !first) break;
                if (lo == '\\') {
                    if (++j >= n) throw UsageError("glob has an unterminated '[' class");
                    lo = pattern[j];
                }
                char hi = lo;
                if (j + 2 < n && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
                    j += 2;
                    hi = pattern[j];
                    if (hi == '\\') {
                        if (++j >= n) throw UsageError("glob has an unterminated '[' class");
                        hi = pattern[j];
                    }
                    if (byte(hi) < byte(lo))
                        throw UsageError(std::string("glob class has a reversed range '") + lo +
                                         "-" + hi + "'");
                }
                for (unsigned b = byte(lo); b <= byte(hi); ++b) {
                    const char ch = static_cast<char>(b);
                    if (ch == '/') throw UsageError("glob class cannot match '/'");
                    set.set(b);
                    if (case_insensitive_) {
                        set.set(byte(lower(ch)));
                        set.set(byte(upper(ch)));
                    }
                }
                ++j;
            }
            if (negate) set.flip();
            set.reset('/');
            Node node;
            node.step = Step::set;
            node.set = set;
            nodes_.push_back(node);
            i = j;  // at the closing ']'
            last_was_slash = false;
            continue;
        }
        push_literal(c);
        last_was_slash = c == '/';
    }

    if (!wildcard_seen) {
        prefix_ = literal;
    } else {
        const auto slash = literal.rfind('/');
        prefix_ = slash == std::string::npos ? std::string() : literal.substr(0, slash);
        if (prefix_.empty() && !literal.empty() && literal[0] == '/') prefix_ = "/";
    }
}

Glob::Glob(const Glob&) = default;
Glob::Glob(Glob&&) noexcept = default;
Glob& Glob::operator=(const Glob&) = default;
Glob& Glob::operator=(Glob&&) noexcept = default;
Glob::~Glob() = default;

bool Glob::matches(std::string_view text) const {
    using Step = Node::Step;
    using Loop = Node::Loop;
    const std::size_t count = nodes_.size();
    std::vector<std::uint8_t> cur(count + 1, 0), next(count + 1, 0);
    // Epsilon edges only point forward, so one pass in index order closes the set.
    auto close = [&](std::vector<std::uint8_t>& s) {
        for (std::size_t i = 0; i < count; ++i) {
            if (!s[i]) continue;
            for (int e : nodes_[i].eps)
                if (e >= 0) s[static_cast<std::size_t>(e)] = 1;
        }
    };
    cur[0] = 1;
    close(cur);
    for (char raw : text) {
        const char c = case_insensitive_ ? lower(raw) : raw;
        std::fill(next.begin(), next.end(), 0);
        bool any = false;
        for (std::size_t i = 0; i < count; ++i) {
            if (!cur[i]) continue;
            const Node& node = nodes_[i];
            if (node.loop == Loop::any || (node.loop == Loop::segment && c != '/')) {
                next[i] = 1;
                any = true;
            }
            if ((node.step == Step::literal && node.literal == c) ||
                (node.step == Step::set && node.set.test(byte(c)))) {
                next[i + 1] = 1;
                any = true;
            }
        }
        if (!any) return false;
        close(next);
        cur.swap(next);
    }
    return cur[count] != 0;
}

bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
    try {
        return Glob(pattern, case_insensitive).matches(text);
    } catch (const UsageError&) {
        return false;
    }
}

std::string registry_glob_text(std::string_view pattern) {
    std::string out(pattern);
    std::replace(out.begin(), out.end(), '\\', '/');
    return out;
}

std::string registry_key_text(std::string_view key) {
    std::string out(key);
    std::replace(out.begin(), out.end(), '/', '\x1f');
    std::replace(out.begin(), out.end(), '\\', '/');
    return out;
}

}  // namespace audit::core
