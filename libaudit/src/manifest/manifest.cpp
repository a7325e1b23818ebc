#include "audit/manifest/manifest.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "audit/catalog.h"
#include "audit/core/ascii.h"
#include "audit/core/glob.h"
#include "audit/core/hex.h"
#include "audit/error.h"
#include "audit/fs/walker.h"
#include "audit/input_file.h"

namespace audit::manifest {

namespace {

// Bounds on untrusted manifest input.
constexpr std::size_t kMaxBytes = 4u << 20;
constexpr std::size_t kMaxRules = 10000;
constexpr std::size_t kMaxPatterns = 100000;   // over all rules of one manifest
constexpr std::size_t kMaxListEntries = 1000;  // aliases, references
constexpr std::size_t kMaxString = 4096;
constexpr std::size_t kMaxId = 64;
constexpr std::int64_t kSchema = 1;

// Ecosystems a rule may name: those some source sets on its items (the source catalog); a typo,
// or a name no source produces ("windows", "macos"), must fail rather than make a rule that
// silently never matches.
bool known_ecosystem(std::string_view e) {
    return catalog::find_ecosystem(e) != nullptr;
}

std::string ecosystem_list() {
    std::string out;
    for (const auto& e : catalog::ecosystem_names()) out += (out.empty() ? "" : ", ") + e;
    return out;
}

struct KindInfo {
    RuleKind kind;
    std::string_view name;
    std::array<std::string_view, 2> pattern_keys;  // "" = unused slot
};
constexpr std::array<KindInfo, 12> kKinds = {{
    {RuleKind::package, "package", {"names", ""}},
    {RuleKind::publisher, "publisher", {"publishers", ""}},
    {RuleKind::path, "path", {"paths", ""}},
    {RuleKind::file_hash, "file_hash", {"sha256", "sha384"}},
    {RuleKind::service, "service", {"units", ""}},
    {RuleKind::module, "module", {"modules", ""}},
    {RuleKind::registry, "registry", {"keys", ""}},
    {RuleKind::pe_signer, "pe_signer", {"signers", ""}},
    {RuleKind::pe_version, "pe_version", {"companies", "products"}},
    {RuleKind::macho_team, "macho_team", {"team_ids", ""}},
    {RuleKind::certificate, "certificate", {"subjects", ""}},
    {RuleKind::all_of, "all_of", {"rules", ""}},
}};

bool is_pattern_key(std::string_view key) {
    for (const auto& info : kKinds)
        for (auto k : info.pattern_keys)
            if (!k.empty() && k == key) return true;
    return false;
}

const char* type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxId) return false;
    auto ok = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (!first && (c == '-' || c == '_' || c == '.'));
    };
    if (!ok(id[0], true)) return false;
    return std::all_of(id.begin() + 1, id.end(), [&](char c) { return ok(c, false); });
}

// Turns TOML nodes into Manifest fields; every refusal names file, line and column.
class Reader {
  public:
    explicit Reader(const std::string& file) : file_(file) {}

    [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
        const auto line = where.begin.line == 0 ? 1u : where.begin.line;
        const auto column = where.begin.column == 0 ? 1u : where.begin.column;
        throw UsageError(file_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message);
    }

    std::string string(const toml::node& node, std::string_view what, bool allow_empty = false,
                       std::size_t max = kMaxString) const {
        const auto* s = node.as_string();
        if (!s)
            fail(node.source(),
                 std::string(what) + " must be a string, not " + type_name(node.type()));
        const std::string& v = s->get();
        if (!allow_empty && v.empty())
            fail(node.source(), std::string(what) + " must not be empty");
        if (v.size() > max)
            fail(node.source(),
                 std::string(what) + " is longer than " + std::to_string(max) + " bytes");
        for (char c : v)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
                fail(node.source(), std::string(what) + " contains a control character");
        return v;
    }

    std::string identifier(const toml::node& node, std::string_view what) const {
        std::string v = string(node, what);
        if (!valid_id(v))
            fail(node.source(), std::string(what) + " \"" + v +
                                    "\" must be 1-64 of [a-z0-9._-], starting with a letter "
                                    "or digit");
        return v;
    }

    bool boolean(const toml::node& node, std::string_view what) const {
        const auto* b = node.as_boolean();
        if (!b)
            fail(node.source(),
                 std::string(what) + " must be true or false, not " + type_name(node.type()));
        return b->get();
    }

    // A non-empty array of strings; each element is passed to check with its node.
    template <typename Check>
    std::vector<std::string> strings(const toml::node& node, std::string_view what, std::size_t max,
                                     Check&& check) const {
        const auto* arr = node.as_array();
        if (!arr)
            fail(node.source(),
                 std::string(what) + " must be an array of strings, not " + type_name(node.type()));
        if (arr->empty()) fail(node.source(), std::string(what) + " must not be empty");
        if (arr->size() > max)
            fail(node.source(),
                 std::string(what) + " has more than " + std::to_string(max) + " entries");
        std::vector<std::string> out;
        out.reserve(arr->size());
        for (const auto& element : *arr) {
            std::string v = string(element, std::string(what) + " entry");
            out.push_back(check(element, std::move(v)));
        }
        return out;
    }

    std::vector<std::string> plain_strings(const toml::node& node, std::string_view what) const {
        return strings(node, what, kMaxListEntries,
                       [](const toml::node&, std::string v) { return v; });
    }

    std::string glob(const toml::node& node, std::string value, bool absolute,
                     bool single_segment) const {
        if (absolute && value[0] != '/')
            fail(node.source(), "path \"" + value + "\" must be absolute (start with '/')");
        if (single_segment && value.find('/') != std::string::npos)
            fail(node.source(), "\"" + value + "\" must be a name, without '/'");
        try {
            core::Glob g(value);
        } catch (const UsageError& e) {
            fail(node.source(), "bad glob \"" + value + "\": " + e.what());
        }
        return value;
    }

    // "HKLM\..." or "HKU\...", separated by '\'; '/' may be part of a key name, so refused.
    std::string registry_key(const toml::node& node, std::string value) const {
        auto hive_ok = [&](std::string_view h) {
            return value.size() > h.size() && core::ascii_lower(value.substr(0, h.size())) == h;
        };
        if (!hive_ok("hklm\\") && !hive_ok("hku\\"))
            fail(node.source(), "registry key \"" + value + "\" must start with HKLM\\ or HKU\\");
        if (value.find('/') != std::string::npos)
            fail(node.source(), "registry key \"" + value + "\" must use '\\' between key names");
        try {
            core::Glob g(core::registry_glob_text(value));
        } catch (const UsageError& e) {
            fail(node.source(), "bad glob \"" + value + "\": " + e.what());
        }
        return value;
    }

    std::string digest(const toml::node& node, std::string value, std::size_t hex_length,
                       std::string_view algorithm) const {
        if (value.size() != hex_length || !core::is_hex(value))
            fail(node.source(), std::string(algorithm) + " digest \"" + value + "\" must be " +
                                    std::to_string(hex_length) + " hex digits");
        return core::ascii_lower(std::move(value));
    }

    Rule rule(const toml::table& table, std::size_t& patterns_total) const {
        Rule r;
        const toml::node* id = table.get("id");
        if (!id) fail(table.source(), "rule has no 'id'");
        r.id = identifier(*id, "rule id");
        const std::string where = "rule \"" + r.id + "\"";

        const toml::node* kind = table.get("kind");
        if (!kind) fail(table.source(), where + " has no 'kind'");
        const std::string kind_name = string(*kind, "kind");
        const KindInfo* info = nullptr;
        for (const auto& k : kKinds)
            if (k.name == kind_name) info = &k;
        if (!info)
            fail(kind->source(),
                 "kind \"" + kind_name +
                     "\" is not one of package, publisher, path, file_hash, "
                     "service, module, registry, pe_signer, pe_version, macho_team, "
                     "certificate, all_of");
        r.kind = info->kind;

        const toml::node* confidence = table.get("confidence");
        if (!confidence) fail(table.source(), where + " has no 'confidence'");
        const std::string c = string(*confidence, "confidence");
        if (c == "definitive")
            r.confidence = Confidence::definitive;
        else if (c == "strong")
            r.confidence = Confidence::strong;
        else if (c == "weak")
            r.confidence = Confidence::weak;
        else
            fail(confidence->source(),
                 "confidence \"" + c + "\" is not one of definitive, strong, weak");

        bool has_patterns = false;
        for (auto&& [key, node] : table) {
            const std::string_view k = key.str();
            if (k == "id" || k == "kind" || k == "confidence") continue;
            if (k == "description") {
                r.description = string(node, "description", true, 4 * kMaxString);
            } else if (k == "residue") {
                r.residue = boolean(node, "residue");
            } else if (k == "standalone") {
                r.standalone = boolean(node, "standalone");
            } else if (k == "exclude_paths") {
                r.exclude_paths =
                    strings(node, k, kMaxListEntries, [&](const toml::node& n, std::string v) {
                        return glob(n, std::move(v), true, false);
                    });
            } else if (k == "owner") {
                r.owner = boolean(node, "owner");
            } else if (k == "exclude_owners") {
                r.exclude_owners =
                    strings(node, k, kMaxListEntries, [&](const toml::node& n, std::string v) {
                        return glob(n, std::move(v), false, false);
                    });
                r.owner = true;
            } else if (k == "family") {
                r.family = identifier(node, "family");
            } else if (k == "ecosystem") {
                if (r.kind != RuleKind::package && r.kind != RuleKind::publisher)
                    fail(key.source(), "'ecosystem' applies to package and publisher rules only");
                r.ecosystem = string(node, "ecosystem");
                if (!known_ecosystem(r.ecosystem))
                    fail(node.source(), "ecosystem \"" + r.ecosystem +
                                            "\" is not produced by any source (one of " +
                                            ecosystem_list() + ")");
            } else if (k == info->pattern_keys[0] || k == info->pattern_keys[1]) {
                has_patterns = true;
                const std::size_t room =
                    kMaxPatterns > patterns_total ? kMaxPatterns - patterns_total : 0;
                auto values = strings(node, k, room, [&](const toml::node& n, std::string v) {
                    switch (r.kind) {
                        case RuleKind::path:
                            return glob(n, std::move(v), true, false);
                        case RuleKind::service:
                        case RuleKind::module:
                            return glob(n, std::move(v), false, true);
                        case RuleKind::file_hash:
                            return k == "sha256" ? digest(n, std::move(v), 64, "sha256")
                                                 : digest(n, std::move(v), 96, "sha384");
                        case RuleKind::registry:
                            return registry_key(n, std::move(v));
                        case RuleKind::all_of:
                            return identifier(n, "rule id");
                        case RuleKind::package:
                        case RuleKind::publisher:
                        case RuleKind::pe_signer:
                        case RuleKind::pe_version:
                        case RuleKind::macho_team:
                        case RuleKind::certificate:
                            break;
                    }
                    return glob(n, std::move(v), false, false);
                });
                patterns_total += values.size();
                auto& into = r.kind == RuleKind::pe_version && k == "products" ? r.products
                             : r.kind == RuleKind::all_of                      ? r.all_of
                                                                               : r.patterns;
                into.insert(into.end(), values.begin(), values.end());
            } else if (is_pattern_key(k)) {
                std::string expected(info->pattern_keys[0]);
                if (!info->pattern_keys[1].empty())
                    expected += "' or '" + std::string(info->pattern_keys[1]);
                fail(key.source(), "'" + std::string(k) + "' does not belong in a " +
                                       std::string(info->name) + " rule (use '" + expected + "')");
            } else {
                fail(key.source(), "unknown key '" + std::string(k) + "' in " + where);
            }
        }
        if (!has_patterns) {
            std::string expected(info->pattern_keys[0]);
            if (!info->pattern_keys[1].empty())
                expected += "' or '" + std::string(info->pattern_keys[1]);
            fail(table.source(), where + " has no '" + expected + "'");
        }
        if (r.kind == RuleKind::package && r.ecosystem.empty())
            fail(table.source(), where + " has no 'ecosystem' (package names are per ecosystem)");
        return r;
    }

    Manifest manifest(const toml::table& root) const {
        Manifest m;
        const std::map<std::string_view, bool> required = {
            {"schema", true},  {"id", true},       {"name", true},        {"vendor", true},
            {"version", true}, {"aliases", false}, {"references", false}, {"rule", true}};
        for (auto&& [key, node] : root) {
            if (!required.count(key.str()))
                fail(key.source(), "unknown top-level key '" + std::string(key.str()) + "'");
        }
        for (const auto& [key, needed] : required)
            if (needed && !root.get(key))
                fail(root.source(), "manifest has no '" + std::string(key) + "'");

        const toml::node& schema = *root.get("schema");
        const auto* version = schema.as_integer();
        if (!version)
            fail(schema.source(),
                 std::string("schema must be an integer, not ") + type_name(schema.type()));
        if (version->get() != kSchema)
            fail(schema.source(), "schema " + std::to_string(version->get()) +
                                      " is not supported (this build reads schema 1)");

        m.id = identifier(*root.get("id"), "id");
        m.name = string(*root.get("name"), "name");
        m.vendor = string(*root.get("vendor"), "vendor");
        m.version = string(*root.get("version"), "version");
        if (const auto* a = root.get("aliases")) m.aliases = plain_strings(*a, "aliases");
        if (const auto* r = root.get("references")) m.references = plain_strings(*r, "references");

        const toml::node& rules = *root.get("rule");
        const auto* arr = rules.as_array();
        if (arr && arr->empty()) fail(rules.source(), "manifest has no rules");
        if (!arr || !arr->is_array_of_tables())
            fail(rules.source(), "'rule' must be an array of tables ([[rule]] sections)");
        if (arr->size() > kMaxRules)
            fail(rules.source(), "manifest has more than " + std::to_string(kMaxRules) + " rules");
        std::size_t patterns_total = 0;
        std::map<std::string, toml::source_position> seen;
        for (const auto& element : *arr) {
            const auto& table = *element.as_table();
            Rule r = rule(table, patterns_total);
            const auto [it, fresh] = seen.emplace(r.id, table.source().begin);
            if (!fresh)
                fail(table.get("id")->source(), "duplicate rule id \"" + r.id +
                                                    "\" (first at line " +
                                                    std::to_string(it->second.line) + ")");
            m.rules.push_back(std::move(r));
        }
        check_all_of(m, *arr);
        return m;
    }

    // all_of rules name two or more distinct rules of this manifest, none of them all_of (so no
    // cycles); a rule that is not standalone is a part of some all_of rule.
    void check_all_of(const Manifest& m, const toml::array& tables) const {
        std::map<std::string, const Rule*> by_id;
        for (const auto& r : m.rules) by_id[r.id] = &r;
        std::set<std::string> parts;
        for (std::size_t i = 0; i < m.rules.size(); ++i) {
            const Rule& r = m.rules[i];
            const auto& table = *tables[i].as_table();
            if (r.kind != RuleKind::all_of) continue;
            const toml::node& where = *table.get("rules");
            std::set<std::string> seen;
            for (const auto& id : r.all_of) {
                auto it = by_id.find(id);
                if (it == by_id.end())
                    fail(where.source(), "all_of rule \"" + r.id + "\" names rule \"" + id +
                                             "\", which this manifest does not have");
                if (it->second->kind == RuleKind::all_of)
                    fail(where.source(), "all_of rule \"" + r.id + "\" names rule \"" + id +
                                             "\", which is all_of itself (no nesting)");
                if (!seen.insert(id).second)
                    fail(where.source(),
                         "all_of rule \"" + r.id + "\" names rule \"" + id + "\" twice");
                parts.insert(id);
            }
            if (seen.size() < 2)
                fail(where.source(), "all_of rule \"" + r.id + "\" needs two or more rules");
        }
        for (std::size_t i = 0; i < m.rules.size(); ++i)
            if (!m.rules[i].standalone && !parts.count(m.rules[i].id))
                fail(tables[i].as_table()->get("standalone")->source(),
                     "rule \"" + m.rules[i].id +
                         "\" is not standalone but no all_of rule names it (it would never count)");
    }

  private:
    const std::string& file_;
};

std::string read_bounded(const std::filesystem::path& path) {
    return read_input_file(path.string(), kMaxBytes, "manifest");
}

}  // namespace

const char* to_string(Confidence c) {
    switch (c) {
        case Confidence::definitive:
            return "definitive";
        case Confidence::strong:
            return "strong";
        case Confidence::weak:
            return "weak";
    }
    return "weak";
}

const char* to_string(RuleKind k) {
    for (const auto& info : kKinds)
        if (info.kind == k) return info.name.data();
    return "package";
}

std::vector<std::string> known_ecosystems() {
    return catalog::ecosystem_names();
}

Manifest parse_manifest(std::string_view text, const std::string& filename) {
    if (text.size() > kMaxBytes)
        throw UsageError(filename + ":1:1: manifest is larger than " + std::to_string(kMaxBytes) +
                         " bytes");
    Reader reader(filename);
    toml::table root;
    try {
        root = toml::parse(text, filename);
    } catch (const toml::parse_error& e) {
        reader.fail(e.source(), "TOML syntax: " + std::string(e.description()));
    }
    Manifest m = reader.manifest(root);
    m.file = filename;
    m.sha256 = fs::sha256_hex(text);
    m.sha384 = fs::sha384_hex(text);
    return m;
}

std::vector<Manifest> load_manifests(const std::string& path, const BeforeParse& before_parse) {
    namespace stdfs = std::filesystem;
    std::error_code ec;
    const auto status = stdfs::status(path, ec);
    if (ec || !stdfs::exists(status))
        throw UsageError(path + ": no such manifest file or directory");

    std::vector<stdfs::path> files;
    if (stdfs::is_directory(status)) {
        stdfs::directory_iterator it(path, ec), end;
        if (ec) throw IoError(path + ": cannot list manifests: " + ec.message());
        for (; it != end; it.increment(ec)) {
            if (ec) throw IoError(path + ": cannot list manifests: " + ec.message());
            const auto& p = it->path();
            if (p.extension() == ".toml" && it->is_regular_file(ec)) files.push_back(p);
        }
        if (files.empty()) throw UsageError(path + ": no *.toml manifests in this directory");
        std::sort(files.begin(), files.end(), [](const stdfs::path& a, const stdfs::path& b) {
            return a.filename().string() < b.filename().string();
        });
    } else if (stdfs::is_regular_file(status)) {
        files.emplace_back(path);
    } else {
        throw UsageError(path + ": not a manifest file or directory");
    }

    std::vector<Manifest> out;
    std::map<std::string, std::string> ids;  // id -> file
    for (const auto& file : files) {
        const std::string bytes = read_bounded(file);
        if (before_parse) before_parse(file.string(), bytes);
        Manifest m = parse_manifest(bytes, file.string());
        m.path = file.string();
        m.file = file.filename().string();
        const auto [it, fresh] = ids.emplace(m.id, m.path);
        if (!fresh)
            throw UsageError(m.path + ": manifest id \"" + m.id + "\" is already used by " +
                             it->second);
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace audit::manifest
