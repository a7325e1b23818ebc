// One software ecosystem = one Source: given a root, produce inventory records and report coverage.
// What a source is (its ecosystems, the rule kinds it answers, where it runs) is its entry in the
// source catalog (audit/catalog.h), found by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/catalog.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/inventory.h"

namespace audit::sources {

enum class SourceStatus {
    ran,     // the database was there and was read completely
    absent,  // this ecosystem is not present on the root (no database)
    failed,  // present but could not be read (fully): never means "nothing installed"
};
const char* to_string(SourceStatus s);

struct SourceReport {
    std::string name;       // "dpkg"
    std::string ecosystem;  // "deb"
    // Every ecosystem whose items this source produces, when more than `ecosystem` (coverage of
    // a rule on any of them depends on this source).
    std::vector<std::string> covers;
    SourceStatus status = SourceStatus::absent;
    std::string error;  // why it failed
    std::size_t items = 0;
    std::vector<std::string> warnings;  // recoverable oddities (a malformed stanza skipped, ...)
    nlohmann::json to_json() const;
};

class Source {
  public:
    virtual ~Source() = default;
    virtual std::string_view name() const = 0;
    // Its catalog entry; throws std::logic_error when the catalog has none (a test catches that).
    const catalog::Source& info() const;
    // The ecosystem its report names: the first of its catalog entry's ecosystems.
    std::string_view ecosystem() const;
    // Appends this source's items to out; never throws for problems of the root's data (those
    // become status failed / warnings).
    virtual SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const = 0;
};

// One run of a source: what it read, whether its ecosystem is on the root at all, and what it
// could not read. BasicSource turns that into the report's status, so no source sets
// ran/absent/failed itself:
//   any failure (or an Error thrown out of read) -> failed: the first failure is the error
//     ("... (and N more)"), the others become warnings; the items already in `items` are kept
//     (what was read is evidence, the status says the list is incomplete);
//   else items, or `found` -> ran;
//   else -> absent (this ecosystem is not on the root).
struct Collection {
    SourceReport& report;
    std::vector<InventoryItem> items;
    std::vector<std::string> failures;
    bool found = false;

    std::vector<std::string>& warnings() { return report.warnings; }

    // Runs one part of the reading; an Error it throws is a failure of that part ("what: why"),
    // and the reading goes on with the next part.
    template <typename Fn>
    void part(const std::string& what, Fn&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            failures.push_back(what + ": " + e.what());
        }
    }
};

class BasicSource : public Source {
  public:
    SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const final;

  protected:
    // Reads this source's part of root into c; see Collection for how the status follows.
    virtual void read(const fs::Root& root, Collection& c) const = 0;
};

// Every source, in a fixed order.
std::vector<std::unique_ptr<Source>> all_sources();

}  // namespace audit::sources
