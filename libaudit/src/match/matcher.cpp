#include "audit/match/matcher.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "audit/error.h"

namespace audit::match {

using manifest::Confidence;
using manifest::Manifest;
using manifest::Rule;
using manifest::RuleKind;

namespace {

// Where unit files and init scripts live; /etc/rc.d/init.d is the real directory on Red Hat
// systems, where /etc/init.d is only a symlink the walker does not follow.
constexpr std::array<std::string_view, 5> kUnitDirs = {"/etc/systemd/system", "/lib/systemd/system",
                                                       "/usr/lib/systemd/system", "/etc/init.d",
                                                       "/etc/rc.d/init.d"};
constexpr std::array<std::string_view, 2> kModuleDirs = {"/lib/modules", "/usr/lib/modules"};
constexpr std::array<std::string_view, 4> kUnitSuffixes = {".service", ".socket", ".timer",
                                                           ".path"};
constexpr std::array<std::string_view, 4> kModuleSuffixes = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};

std::string_view dirname(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return {};
    return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

std::string_view basename(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

bool is_unit_dir(std::string_view dir) {
    return std::find(kUnitDirs.begin(), kUnitDirs.end(), dir) != kUnitDirs.end();
}

// A unit file, an init script, or an enablement link in a systemd "*.wants"/"*.requires" dir.
bool in_unit_dir(std::string_view path) {
    const auto dir = dirname(path);
    if (is_unit_dir(dir)) return true;
    const auto sub = basename(dir);
    return (ends_with(sub, ".wants") || ends_with(sub, ".requires")) && is_unit_dir(dirname(dir)) &&
           !ends_with(dirname(dir), "init.d");
}

// The kernel treats '-' and '_' in module names as the same character.
std::string module_name(std::string_view s) {
    std::string out(s);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

nlohmann::json inventory_record(const InventoryItem& item) {
    nlohmann::json inv = {{"ecosystem", item.ecosystem},
                          {"name", item.name},
                          {"version", item.version},
                          {"state", item.state},
                          {"source", item.source}};
    // What a removal plan and a FAR 52.204-23 report need from the evidence (issue 17).
    if (!item.publisher.empty()) inv["publisher"] = item.publisher;
    for (const char* key : {"uninstall_string", "product_code", "key_name"})
        if (auto it = item.extra.find(key); it != item.extra.end() && it->is_string())
            inv[key] = *it;
    return {{"inventory", inv}};
}

nlohmann::json file_record(const fs::FileRecord& file) {
    nlohmann::json digest = nullptr;
    if (file.digests) digest = file.digests->sha256;
    return {{"file", {{"path", file.path}, {"sha256", digest}}}};
}

std::vector<Glob> compile(const Manifest& m, const Rule& rule, bool case_insensitive,
                          bool as_module = false) {
    std::vector<Glob> globs;
    globs.reserve(rule.patterns.size());
    for (const auto& p : rule.patterns) {
        try {
            globs.emplace_back(as_module ? module_name(p) : p, case_insensitive);
        } catch (const UsageError& e) {
            throw UsageError(m.file + ": rule " + rule.id + ": pattern \"" + p + "\": " + e.what());
        }
    }
    return globs;
}

bool any_match(const std::vector<Glob>& globs, std::string_view text) {
    return std::any_of(globs.begin(), globs.end(), [&](const Glob& g) { return g.matches(text); });
}

// A unit or script name as is, or without its unit-type suffix ("kesl.service" -> "kesl").
bool unit_name_matches(const std::vector<Glob>& globs, std::string_view base) {
    if (any_match(globs, base)) return true;
    for (auto suffix : kUnitSuffixes)
        if (ends_with(base, suffix) &&
            any_match(globs, base.substr(0, base.size() - suffix.size())))
            return true;
    return false;
}

bool service_matches(const std::vector<Glob>& globs, const fs::FileRecord& file) {
    return in_unit_dir(file.path) && unit_name_matches(globs, basename(file.path));
}

bool module_matches(const std::vector<Glob>& globs, const fs::FileRecord& file) {
    const bool under = std::any_of(kModuleDirs.begin(), kModuleDirs.end(), [&](auto dir) {
        return starts_with(file.path, dir) && file.path.size() > dir.size() &&
               file.path[dir.size()] == '/';
    });
    if (!under) return false;
    const auto base = basename(file.path);
    for (auto suffix : kModuleSuffixes)
        if (ends_with(base, suffix) &&
            any_match(globs, module_name(base.substr(0, base.size() - suffix.size()))))
            return true;
    return false;
}

// Records of one rule, split by residue, sorted by their JSON text and unique. Host names need
// not be UTF-8, which dump() refuses: the text key replaces such bytes and the CBOR bytes after
// it keep two names that differ only there apart.
struct RuleRecords {
    std::map<std::string, nlohmann::json> present, residue;
    void add(bool is_residue, const nlohmann::json& record) {
        const auto cbor = nlohmann::json::to_cbor(record);
        std::string key =
            record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\0';
        key.append(cbor.begin(), cbor.end());
        (is_residue ? residue : present).emplace(std::move(key), record);
    }
};

void match_inventory(const Rule& rule, const std::vector<Glob>& globs,
                     const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        if (!rule.ecosystem.empty() && item.ecosystem != rule.ecosystem) continue;
        if (item.state == "not-installed") continue;
        const std::string& field = rule.kind == RuleKind::package ? item.name : item.publisher;
        if (field.empty() || !any_match(globs, field)) continue;
        out.add(rule.residue || !item.installed(), inventory_record(item));
    }
}

// Unit links the systemd source found pointing at nothing (a removal that left its enablement
// behind): their file records are residue, not presence.
std::set<std::string> dangling_unit_links(const std::vector<InventoryItem>& inventory) {
    std::set<std::string> out;
    for (const auto& item : inventory)
        if (item.ecosystem == "systemd" && item.state == "link-only")
            out.insert(item.paths.begin(), item.paths.end());
    return out;
}

// Windows services and drivers from the registry (names are case-insensitive there).
void match_windows_services(const Rule& rule, const std::vector<Glob>& globs,
                            const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory)
        if (item.ecosystem == "windows-service" && any_match(globs, item.name))
            out.add(rule.residue || !item.installed(), inventory_record(item));
}

// Any inventory item that names its registry key (Windows sources set extra.registry_key).
void match_registry(const Rule& rule, const std::vector<Glob>& globs,
                    const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        auto it = item.extra.find("registry_key");
        if (it == item.extra.end() || !it->is_string()) continue;
        if (!any_match(globs, registry_key_text(it->get<std::string>()))) continue;
        nlohmann::json record = inventory_record(item);
        record["inventory"]["registry_key"] = *it;
        out.add(rule.residue || !item.installed(), record);
    }
}

void match_files(const Manifest& m, const Rule& rule, const std::vector<fs::FileRecord>& files,
                 const std::set<std::string>& dangling, RuleRecords& out) {
    std::vector<Glob> globs;
    std::unordered_set<std::string> digests;
    if (rule.kind == RuleKind::file_hash) {
        for (const auto& p : rule.patterns) digests.insert(lower(p));
    } else {
        globs = compile(m, rule, false, rule.kind == RuleKind::module);
    }
    for (const auto& file : files) {
        if (file.type == "missing") continue;
        bool hit = false;
        switch (rule.kind) {
            case RuleKind::path:
                hit = any_match(globs, file.path);
                break;
            case RuleKind::file_hash:
                hit = file.digests && (digests.count(lower(file.digests->sha256)) ||
                                       digests.count(lower(file.digests->sha384)));
                break;
            case RuleKind::service:
                hit = service_matches(globs, file);
                break;
            case RuleKind::module:
                hit = module_matches(globs, file);
                break;
            case RuleKind::package:
            case RuleKind::publisher:
            case RuleKind::registry:
            case RuleKind::pe_signer:
            case RuleKind::pe_version:
                break;
        }
        if (hit)
            out.add(
                rule.residue || (rule.kind == RuleKind::service && dangling.count(file.path) > 0),
                file_record(file));
    }
}

// Service rules also match the systemd/sysv sources' units and scripts (wherever their files
// are), module rules the kmod source's module files and the live source's loaded modules.
void match_units(const Rule& rule, const std::vector<Glob>& globs,
                 const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        if (item.state == "not-installed" || item.name.empty()) continue;
        bool hit = false;
        if (rule.kind == RuleKind::service)
            hit = (item.ecosystem == "systemd" || item.ecosystem == "sysv") &&
                  unit_name_matches(globs, item.name);
        else if (rule.kind == RuleKind::module)
            hit = item.ecosystem == "kmod" && any_match(globs, module_name(item.name));
        if (hit) out.add(rule.residue || !item.installed(), inventory_record(item));
    }
}

// launchd jobs are services too: a service rule matches their Label.
void match_launchd(const std::vector<Glob>& globs, const Rule& rule,
                   const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory)
        if (item.ecosystem == "launchd" && any_match(globs, item.name))
            out.add(rule.residue || !item.installed(), inventory_record(item));
}

std::string extra_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// PE files (ecosystem "pe"): signer subject (whole DN or its CN) or version-resource strings.
void match_pe(const Manifest& m, const Rule& rule, const std::vector<InventoryItem>& inventory,
              RuleRecords& out) {
    const std::vector<Glob> globs = compile(m, rule, true);
    Rule products_rule = rule;
    products_rule.patterns = rule.products;
    const std::vector<Glob> products = compile(m, products_rule, true);
    for (const auto& item : inventory) {
        if (item.ecosystem != "pe") continue;
        const auto found = item.extra.find("signature");
        const nlohmann::json sig =
            found != item.extra.end() && found->is_object() ? *found : nlohmann::json::object();
        bool hit = false;
        if (rule.kind == RuleKind::pe_signer) {
            for (const char* key : {"subject", "subject_cn"}) {
                const std::string v = extra_string(sig, key);
                hit = hit || (!v.empty() && any_match(globs, v));
            }
        } else {
            const std::string company = extra_string(item.extra, "company_name");
            const std::string product = extra_string(item.extra, "product_name");
            hit = (!company.empty() && any_match(globs, company)) ||
                  (!product.empty() && any_match(products, product));
        }
        if (!hit) continue;
        nlohmann::json record = inventory_record(item);
        // Whether the signature is intact belongs with the match: a subject alone is a claim.
        if (sig.value("present", false))
            record["inventory"]["signature"] = {
                {"subject", extra_string(sig, "subject")},
                {"digest_matches", sig.value("digest_matches", false)},
                {"signature_check", extra_string(sig, "signature_check")}};
        out.add(rule.residue, record);
    }
}

Finding make_finding(const Manifest& m, const Rule& rule, bool residue,
                     const std::map<std::string, nlohmann::json>& records) {
    Finding f;
    f.product = m.id;
    f.product_name = m.name;
    f.rule = rule.id;
    f.family = rule.family.empty() ? std::string("unspecified") : rule.family;
    f.confidence = rule.confidence;
    f.kind = rule.kind;
    f.residue = residue;
    f.records.reserve(records.size());
    for (const auto& [key, r] : records) f.records.push_back(r);
    return f;
}

}  // namespace

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

bool Finding::proves_presence() const {
    return !residue && (confidence == Confidence::definitive || confidence == Confidence::strong);
}

nlohmann::json Finding::to_json() const {
    return {{"product", product},
            {"product_name", product_name},
            {"rule", rule},
            {"family", family},
            {"confidence", manifest::to_string(confidence)},
            {"kind", manifest::to_string(kind)},
            {"residue", residue},
            {"records", records}};
}

std::vector<std::string> walk_roots(const std::vector<Manifest>& manifests) {
    std::set<std::string> wanted;
    for (const auto& m : manifests) {
        for (const auto& rule : m.rules) {
            switch (rule.kind) {
                case RuleKind::path:
                    for (const auto& p : rule.patterns) {
                        std::string prefix = Glob(p).literal_prefix();
                        while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
                        if (prefix.empty() || prefix[0] != '/') prefix = "/";
                        wanted.insert(prefix);
                    }
                    break;
                case RuleKind::service:
                    for (auto d : kUnitDirs) wanted.emplace(d);
                    break;
                case RuleKind::module:
                    for (auto d : kModuleDirs) wanted.emplace(d);
                    break;
                default:
                    break;
            }
        }
    }
    std::vector<std::string> roots;
    for (const auto& w : wanted) {
        const bool covered = std::any_of(roots.begin(), roots.end(), [&](const std::string& r) {
            return r == "/" || (starts_with(w, r) && w.size() > r.size() && w[r.size()] == '/');
        });
        if (!covered) roots.push_back(w);
    }
    return roots;
}

std::vector<Finding> match(const std::vector<Manifest>& manifests,
                           const std::vector<InventoryItem>& inventory,
                           const std::vector<fs::FileRecord>& files) {
    std::vector<Finding> findings;
    const std::set<std::string> dangling = dangling_unit_links(inventory);
    for (const auto& m : manifests) {
        for (const auto& rule : m.rules) {
            RuleRecords records;
            if (rule.kind == RuleKind::package || rule.kind == RuleKind::publisher) {
                match_inventory(rule, compile(m, rule, true), inventory, records);
            } else if (rule.kind == RuleKind::registry) {
                Rule as_globs = rule;
                for (auto& p : as_globs.patterns) p = registry_glob_text(p);
                match_registry(rule, compile(m, as_globs, true), inventory, records);
            } else if (rule.kind == RuleKind::pe_signer || rule.kind == RuleKind::pe_version) {
                match_pe(m, rule, inventory, records);
            } else {
                match_files(m, rule, files, dangling, records);
                if (rule.kind == RuleKind::service)
                    match_windows_services(rule, compile(m, rule, true), inventory, records);
            }
            if (rule.kind == RuleKind::service || rule.kind == RuleKind::module)
                match_units(rule, compile(m, rule, false, rule.kind == RuleKind::module), inventory,
                            records);
            if (rule.kind == RuleKind::service)
                match_launchd(compile(m, rule, false), rule, inventory, records);
            if (!records.present.empty())
                findings.push_back(make_finding(m, rule, false, records.present));
            if (!records.residue.empty())
                findings.push_back(make_finding(m, rule, true, records.residue));
        }
    }
    std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        return std::tie(a.product, a.rule, a.residue) < std::tie(b.product, b.rule, b.residue);
    });
    return findings;
}

}  // namespace audit::match
