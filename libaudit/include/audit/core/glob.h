// Globs over paths and registry key text: '*' (within a path segment), '?', '[...]' and '**' (any
// number of segments), compiled to a bounded NFA. In core because the manifest validates its
// patterns with them and the matcher runs them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace audit::core {

// Glob with '*' (within a path segment), '?', '[...]' and '**' (any number of segments).
// Syntax in manifests/README.md. A malformed pattern never matches (Glob says why).
bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive = false);

// A compiled glob: matching is a bounded state-set simulation, O(pattern x text), never
// backtracking. Throws UsageError (message without position) on a malformed pattern.
class Glob {
  public:
    explicit Glob(std::string_view pattern, bool case_insensitive = false);
    Glob(const Glob&);
    Glob(Glob&&) noexcept;
    Glob& operator=(const Glob&);
    Glob& operator=(Glob&&) noexcept;
    ~Glob();
    bool matches(std::string_view text) const;
    const std::string& pattern() const { return pattern_; }
    // The directory part before the first wildcard, unescaped ("/opt/kaspersky" for
    // "/opt/kaspersky/**", "/opt" for "/opt/kasp*/bin", the whole text when literal).
    const std::string& literal_prefix() const { return prefix_; }

    struct Node;  // one NFA state; defined in glob.cpp

  private:
    std::string pattern_;
    std::string prefix_;
    bool case_insensitive_;
    std::vector<Node> nodes_;
};

// Registry key paths are matched as globs whose separator is '\' (no escapes): a pattern
// "HKLM\SOFTWARE\Kasp*\**" is compiled from registry_glob_text(pattern) and tested against
// registry_key_text(key), where a '/' inside a key name cannot act as a separator.
std::string registry_glob_text(std::string_view pattern);
std::string registry_key_text(std::string_view key);

}  // namespace audit::core
