// What a scan could examine: the typed form of the predicate's "coverage" and of its parts that
// coverage.json repeats. to/from JSON in evidence/predicate.cpp (the one place the evidence
// model meets JSON); format in README.md ("The evidence bundle").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace audit::evidence {

// How every struct of the model meets JSON (evidence/predicate.cpp):
// - a required member (one the bundle reader's shape check demands) that is missing or of
//   another type is a VerifyError naming it, as the reader has always said;
// - an optional member is read as today's readers read it: missing or of another type is
//   "not recorded" (std::optional empty), a list keeps its entries of the right type;
// - `extra` keeps, verbatim, every member the struct does not name and every member whose
//   typed reading would not write back the same JSON: to_json() of a parsed struct gives the
//   same bytes (nlohmann orders keys), and a newer writer's fields survive.
// Writers fill the typed members and leave `extra` empty.

// A JSON object keyed by name whose values have one type (coverage.sources, source_items).
template <typename T>
using NamedValues = std::map<std::string, T>;

// coverage.system: what the scan established about the root as a whole.
struct SystemCoverage {
    std::optional<std::string> os;           // os family ("" when not recognised)
    std::optional<std::string> os_evidence;  // what the family was read from
    std::optional<std::vector<std::string>> package_databases;  // package databases that ran
    std::optional<std::vector<std::string>> identifiers;        // host.ids keys found
    std::optional<std::vector<std::string>> gaps;               // "code: detail"
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    static SystemCoverage from_json(const nlohmann::json& j);
};

// coverage.walk: which directories were walked and which digests computed.
struct WalkCoverage {
    std::optional<std::string> scope;  // matched, packages, all
    std::optional<std::vector<std::string>> digests, roots, failed_roots;
    std::optional<bool> one_filesystem;
    nlohmann::json extra = nlohmann::json::object();  // coverage.json adds "stats"

    nlohmann::json to_json() const;
    static WalkCoverage from_json(const nlohmann::json& j);
};

// coverage.products[]: whether the scan could examine what one manifest's rules need.
struct ProductCoverage {
    std::optional<std::string> product;              // manifest id
    std::optional<nlohmann::json> manifest_version;  // as the manifest gives it
    std::optional<bool> sufficient;
    std::optional<std::vector<std::string>> gaps;  // sorted, unique
    std::optional<std::vector<std::string>> ecosystems_not_examined;
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    static ProductCoverage from_json(const nlohmann::json& j);
    // Adds gaps (kept sorted and unique) and makes the coverage insufficient.
    void add_gaps(const std::vector<std::string>& more);
    bool is_sufficient() const { return sufficient.value_or(false); }
};

// coverage.not_examined[]: what no scan of this tool examines.
struct NotExamined {
    std::string what, why;
};
// The fixed list every scan records (predicate and coverage.json), as JSON.
nlohmann::json not_examined_json();

// coverage.access in the predicate: {permission_denied, processes (string or null)}.
struct AccessSummary {
    std::optional<std::uint64_t> permission_denied;
    std::optional<nlohmann::json> processes;  // a string, or null when none was refused
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    static AccessSummary from_json(const nlohmann::json& j);
};

// The predicate's coverage summary ("coverage"; v1 bundles may lack it or parts of it).
struct CoverageSummary {
    // Source name -> status ("ran", "absent", "failed", ...) and -> items read; entries of
    // another type are not recorded. Absent when the scan had no sources.
    std::optional<NamedValues<std::string>> sources;
    std::optional<NamedValues<std::int64_t>> source_items;
    std::optional<SystemCoverage> system;  // v2
    std::optional<WalkCoverage> walk;      // v2
    std::optional<AccessSummary> access;   // optional for readers
    std::optional<std::vector<ProductCoverage>> products;
    std::optional<nlohmann::json> not_examined;  // [{what, why}], optional for readers
    std::optional<std::uint64_t> files;          // lines of files.jsonl
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    static CoverageSummary from_json(const nlohmann::json& j);

    // The status a source had ("" when not recorded) and its item count (nullopt: not recorded).
    std::string source_status(const std::string& name) const;
    std::optional<std::int64_t> source_item_count(const std::string& name) const;
    // The product's entry (the first with that id), nullptr when the scan recorded none.
    const ProductCoverage* product(const std::string& id) const;
};

}  // namespace audit::evidence
