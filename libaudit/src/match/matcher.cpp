#include "audit/match/matcher.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "audit/catalog.h"
#include "audit/core/ascii.h"
#include "audit/core/drive_path.h"
#include "audit/error.h"

namespace audit::match {

using manifest::Confidence;
using manifest::Manifest;
using manifest::Rule;
using manifest::RuleKind;

namespace {

// Where unit files and init scripts live, and module files: the directories the source catalog
// gives the sources answering service and module rules (systemd's and sysv's, kmod's).
const std::vector<std::string>& unit_dirs() {
    static const std::vector<std::string> dirs = catalog::walk_dirs("service");
    return dirs;
}
const std::vector<std::string>& module_dirs() {
    static const std::vector<std::string> dirs = catalog::walk_dirs("module");
    return dirs;
}
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
    const auto& dirs = unit_dirs();
    return std::find(dirs.begin(), dirs.end(), dir) != dirs.end();
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
    return {{"file", {{"path", file.path}, {"type", file.type}, {"sha256", digest}}}};
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
    const bool under = std::any_of(module_dirs().begin(), module_dirs().end(), [&](auto& dir) {
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
constexpr std::size_t kNoItem = static_cast<std::size_t>(-1);

// A matched record and, for an inventory record, the index of its item in match()'s inventory.
struct Entry {
    nlohmann::json record;
    std::size_t item = kNoItem;
};

struct RuleRecords {
    std::map<std::string, Entry> present, residue;
    // Matches the rule's own evidence does not back (a Mach-O team id no verified CMS signer
    // vouches for): reported as a weak finding with lead_reason, never presence or residue.
    std::map<std::string, Entry> leads;
    std::string lead_reason;
    // A path rule matched a regular file, or something that may hold one (a directory that
    // could not be listed or was not descended into, an entry lstat failed on).
    bool may_hold_file = false;
    static std::string key_of(const nlohmann::json& record) {
        const auto cbor = nlohmann::json::to_cbor(record);
        std::string key =
            record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\0';
        key.append(cbor.begin(), cbor.end());
        return key;
    }
    void add(bool is_residue, const nlohmann::json& record, std::size_t item = kNoItem) {
        (is_residue ? residue : present).emplace(key_of(record), Entry{record, item});
    }
    void add_lead(const nlohmann::json& record, std::size_t item) {
        leads.emplace(key_of(record), Entry{record, item});
    }
};

std::size_t index_of(const std::vector<InventoryItem>& inventory, const InventoryItem& item) {
    return static_cast<std::size_t>(&item - inventory.data());
}

// One rule's globs and digests, compiled once for every match() call (see compile_rule).
struct CompiledRule {
    std::vector<Glob> names;     // package, publisher, PE signer/company, Windows service names
    std::vector<Glob> registry;  // registry keys
    std::vector<Glob> products;  // PE product names (pe_version)
    std::vector<Glob> files;     // path, service and module rules on file records
    std::unordered_set<std::string> digests;  // file_hash rules, lower case
    std::vector<Glob> units;    // service and module rules on the sources' units and modules
    std::vector<Glob> launchd;  // service rules on launchd labels
    std::vector<Glob> exclude_paths, exclude_owners;
    // A Windows root: a record on another fixed drive ("/D:/x", core/drive_path.h) is matched by
    // its path on that drive ("/x") too, as a product installed on D: is.
    bool drive_paths = false;
};

// path, and on a Windows root a path on another drive without its drive ("/D:/x" -> "/x").
bool any_path_match(const std::vector<Glob>& globs, std::string_view path, bool drive_paths) {
    if (any_match(globs, path)) return true;
    std::string_view rest;
    return drive_paths && core::windows_drive_of(path, &rest) && any_match(globs, rest);
}

void match_inventory(const Rule& rule, const std::vector<Glob>& globs,
                     const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        if (!rule.ecosystem.empty() && item.ecosystem != rule.ecosystem) continue;
        if (item.state == "not-installed") continue;
        const std::string& field = rule.kind == RuleKind::package ? item.name : item.publisher;
        if (field.empty() || !any_match(globs, field)) continue;
        out.add(rule.residue || !item.installed(), inventory_record(item),
                index_of(inventory, item));
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

// Windows services and drivers from the registry (names are case-insensitive there), and the
// drivers a running Windows has loaded (live source: "kmod" items with extra.windows_driver,
// named by their file without ".sys", as a driver's service key usually is).
bool windows_service_like(const InventoryItem& item) {
    if (item.ecosystem == "windows-service") return true;
    if (item.ecosystem != "kmod") return false;
    const auto it = item.extra.find("windows_driver");
    return it != item.extra.end() && it->is_boolean() && it->get<bool>();
}

void match_windows_services(const Rule& rule, const std::vector<Glob>& globs,
                            const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory)
        if (windows_service_like(item) && any_match(globs, item.name))
            out.add(rule.residue || !item.installed(), inventory_record(item),
                    index_of(inventory, item));
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
        out.add(rule.residue || !item.installed(), record, index_of(inventory, item));
    }
}

void match_files(const Rule& rule, const CompiledRule& compiled,
                 const std::vector<fs::FileRecord>& files, const std::set<std::string>& dangling,
                 RuleRecords& out) {
    const std::vector<Glob>& globs = compiled.files;
    const std::unordered_set<std::string>& digests = compiled.digests;
    for (const auto& file : files) {
        if (file.type == "missing") continue;
        bool hit = false;
        switch (rule.kind) {
            case RuleKind::path:
                hit = any_path_match(globs, file.path, compiled.drive_paths);
                break;
            case RuleKind::file_hash:
                hit = file.digests && (digests.count(core::ascii_lower(file.digests->sha256)) ||
                                       digests.count(core::ascii_lower(file.digests->sha384)));
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
            case RuleKind::macho_team:
            case RuleKind::certificate:
            case RuleKind::all_of:
                break;
        }
        if (hit && (file.type == "file" || file.type == "unknown" ||
                    (file.type == "dir" && (!file.error.empty() || !file.skipped.empty()))))
            out.may_hold_file = true;
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
        if (hit)
            out.add(rule.residue || !item.installed(), inventory_record(item),
                    index_of(inventory, item));
    }
}

// launchd jobs are services too: a service rule matches their Label.
void match_launchd(const std::vector<Glob>& globs, const Rule& rule,
                   const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory)
        if (item.ecosystem == "launchd" && any_match(globs, item.name))
            out.add(rule.residue || !item.installed(), inventory_record(item),
                    index_of(inventory, item));
}

std::string extra_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// PE files (ecosystem "pe"): signer subject (whole DN or its CN) or version-resource strings.
void match_pe(const Rule& rule, const CompiledRule& compiled,
              const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    const std::vector<Glob>& globs = compiled.names;
    const std::vector<Glob>& products = compiled.products;
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
        out.add(rule.residue, record, index_of(inventory, item));
    }
}

// Mach-O files (ecosystem "macho"): the Team ID of any slice's code signature. Only the
// CodeDirectory the load command points at counts (formats/macho.cpp), never the same string
// elsewhere in the file. The match carries the rule's confidence when a slice's team id is
// backed by its CMS signer ("team_signer": verified), or when a CMS signature is there but could
// not be checked ("unchecked": a genuine vendor binary always carries one, and a check we cannot
// make must not read as clean). A team id that no CMS signature backs (ad hoc) or that a
// failed, mismatching or other-team signature contradicts ("refuted") is a lead.
void match_macho(const Rule& rule, const std::vector<Glob>& globs,
                 const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        if (item.ecosystem != "macho") continue;
        const auto teams = item.extra.find("team_ids");
        const auto slices = item.extra.find("slices");
        if (teams == item.extra.end() || !teams->is_array() || slices == item.extra.end() ||
            !slices->is_array())
            continue;
        // The best backing among the slices whose team id the rule names.
        int best = -1;
        std::string backing, why;
        for (const auto& s : *slices) {
            if (!s.is_object()) continue;
            const std::string team = extra_string(s, "team_id");
            if (team.empty() || !any_match(globs, team)) continue;
            const std::string b = extra_string(s, "team_signer");
            const int rank = b == "verified" ? 2 : b == "unchecked" ? 1 : 0;
            if (rank > best) {
                best = rank;
                backing = b.empty() ? std::string("refuted") : b;
                why = extra_string(s, "team_signer_why");
            }
        }
        if (best < 0) continue;
        nlohmann::json record = inventory_record(item);
        record["inventory"]["team_ids"] = *teams;
        record["inventory"]["team_signer"] = backing;
        if (!why.empty()) record["inventory"]["team_signer_why"] = why;
        if (best == 0 && !rule.residue) {
            out.add_lead(record, index_of(inventory, item));
            out.lead_reason =
                "the team id is not backed by a verified CMS signer whose OU is that team (ad "
                "hoc, failed or mismatching signature; see each record's team_signer_why): a "
                "lead, never presence";
        } else {
            out.add(rule.residue, record, index_of(inventory, item));
        }
    }
}

// Trust-store certificates (ecosystem "certificate"): the subject's CN or the whole subject
// ("C=RU, O=AO Kaspersky Lab, CN=..."), as pe_signer matches a signer. The record names the
// store, the certificate and where it lies (files or registry key), so it can be removed.
void match_certificate(const Rule& rule, const std::vector<Glob>& globs,
                       const std::vector<InventoryItem>& inventory, RuleRecords& out) {
    for (const auto& item : inventory) {
        if (item.ecosystem != "certificate") continue;
        const std::string cn = extra_string(item.extra, "subject_cn");
        const std::string subject = extra_string(item.extra, "subject");
        if (!(!cn.empty() && any_match(globs, cn)) &&
            !(!subject.empty() && any_match(globs, subject)))
            continue;
        nlohmann::json record = inventory_record(item);
        nlohmann::json cert = nlohmann::json::object();
        for (const char* key : {"store", "subject", "issuer", "serial", "sha1", "sha256"})
            cert[key] = extra_string(item.extra, key);
        if (auto it = item.extra.find("files"); it != item.extra.end()) cert["files"] = *it;
        record["inventory"]["certificate"] = cert;
        if (auto it = item.extra.find("registry_key"); it != item.extra.end() && it->is_string())
            record["inventory"]["registry_key"] = *it;
        out.add(rule.residue || !item.installed(), record, index_of(inventory, item));
    }
}

Finding make_finding(const Manifest& m, const Rule& rule, bool residue,
                     const std::map<std::string, Entry>& records, std::string reason = {}) {
    Finding f;
    f.product = m.id;
    f.product_name = m.name;
    f.rule = rule.id;
    f.family = rule.family.empty() ? std::string("unspecified") : rule.family;
    f.confidence = rule.confidence;
    f.kind = rule.kind;
    f.residue = residue;
    f.reason = std::move(reason);
    f.records.reserve(records.size());
    for (const auto& [key, e] : records) {
        f.records.push_back(e.record);
        if (e.item != kNoItem) f.items.push_back(e.item);
    }
    std::sort(f.items.begin(), f.items.end());
    f.items.erase(std::unique(f.items.begin(), f.items.end()), f.items.end());
    return f;
}

// Entries below another entry dropped; sorted.
std::vector<std::string> minimal(const std::set<std::string>& wanted) {
    std::vector<std::string> roots;
    for (const auto& w : wanted) {
        const bool covered = std::any_of(roots.begin(), roots.end(), [&](const std::string& r) {
            return r == "/" || (starts_with(w, r) && w.size() > r.size() && w[r.size()] == '/');
        });
        if (!covered) roots.push_back(w);
    }
    return roots;
}

}  // namespace

bool Finding::proves_presence() const {
    return !residue && (confidence == Confidence::definitive || confidence == Confidence::strong);
}

nlohmann::json Finding::to_json() const {
    nlohmann::json j = {{"product", product},
                        {"product_name", product_name},
                        {"rule", rule},
                        {"family", family},
                        {"confidence", manifest::to_string(confidence)},
                        {"kind", manifest::to_string(kind)},
                        {"residue", residue},
                        {"records", records}};
    if (!reason.empty()) j["reason"] = reason;
    return j;
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
                    for (const auto& d : unit_dirs()) wanted.insert(d);
                    break;
                case RuleKind::module:
                    for (const auto& d : module_dirs()) wanted.insert(d);
                    break;
                default:
                    break;
            }
        }
    }
    return minimal(wanted);
}

namespace {

constexpr std::size_t kMaxLevelMatches = 256;

// The segments of an absolute glob ("/a/b*/**" -> "a", "b*", "**"); escapes stay in place.
std::vector<std::string> glob_segments(std::string_view pattern) {
    std::vector<std::string> out;
    std::string cur;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            cur += c;
            cur += pattern[++i];
        } else if (c == '/') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string join_path(const std::string& dir, std::string_view name) {
    return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

// The segment's text when it has no wildcard (escapes removed), nullopt otherwise.
std::optional<std::string> literal_segment(std::string_view segment) {
    std::string out;
    for (std::size_t i = 0; i < segment.size(); ++i) {
        const char c = segment[i];
        if (c == '\\' && i + 1 < segment.size()) {
            out += segment[++i];
        } else if (c == '*' || c == '?' || c == '[') {
            return std::nullopt;
        } else {
            out += c;
        }
    }
    return out;
}

// The directories to walk for one path glob (see plan_walk_roots): levels up to the first "**"
// or the first wildcard below the top; a literal level is taken as written on a case-sensitive
// root and looked up without case otherwise.
void plan_glob(const std::string& pattern, const ListDir& list_dir, bool case_insensitive,
               std::set<std::string>& out) {
    const auto segments = glob_segments(pattern);
    std::vector<std::string> current = {"/"};
    for (const auto& segment : segments) {
        if (segment == "**") break;
        const auto literal = literal_segment(segment);
        if (literal && !case_insensitive) {
            for (auto& dir : current) dir = join_path(dir, *literal);
            continue;
        }
        // A wildcard below the top level may match the product's own directories, which a
        // removal takes away: walk the directory above it, so that a later scan walks what an
        // earlier one did (evidence compares walk roots across scans). At the top it matches
        // system directories ("Program Files*"), and walking "/" is what must not happen.
        if (!literal && !(current.size() == 1 && current[0] == "/")) break;
        const Glob level(segment, case_insensitive);
        std::vector<std::string> next;
        for (const auto& dir : current) {
            std::optional<std::vector<std::string>> names;
            try {
                names = list_dir(dir);
            } catch (const std::exception&) {
                out.insert(dir);  // walked whole: the walker records why it cannot be read
                continue;
            }
            if (!names) {
                out.insert(dir);  // does not exist (or is a file): the walker records what it is
                continue;
            }
            std::size_t hits = 0;
            for (const auto& name : *names)
                if (level.matches(name)) {
                    next.push_back(join_path(dir, name));
                    ++hits;
                }
            if (hits == 0) out.insert(join_path(dir, literal ? *literal : segment));  // nothing
        }
        if (next.size() > kMaxLevelMatches) {
            out.insert(current.begin(), current.end());
            return;
        }
        current = std::move(next);
        if (current.empty()) return;
    }
    out.insert(current.begin(), current.end());
}

}  // namespace

std::vector<std::string> plan_walk_roots(const std::vector<Manifest>& manifests,
                                         const ListDir& list_dir, bool case_insensitive) {
    std::set<std::string> wanted;
    for (const auto& m : manifests) {
        for (const auto& rule : m.rules) {
            if (rule.kind == RuleKind::path) {
                for (const auto& p : rule.patterns)
                    plan_glob(p, list_dir, case_insensitive, wanted);
            } else if (rule.kind == RuleKind::service || rule.kind == RuleKind::module) {
                Manifest one;
                one.rules = {rule};
                for (auto& d : walk_roots({one})) wanted.insert(std::move(d));
            }
        }
    }
    return minimal(wanted);
}

namespace {

// What a record is about, so that rules matching one thing meet in all_of: an inventory item (by
// ecosystem, name, version and source), or a path (a file record, or a PE file, whose source is
// its path).
std::string subject_of(const nlohmann::json& record) {
    std::string key;
    if (auto f = record.find("file"); f != record.end()) {
        key = "path";
        key += '\0';
        key += f->value("path", "");
        return key;
    }
    const auto& inv = record.at("inventory");
    const std::string ecosystem = inv.value("ecosystem", "");
    if (ecosystem == "pe" || ecosystem == "macho") {
        key = "path";
        key += '\0';
        key += inv.value("source", "");
        return key;
    }
    for (const char* field : {"ecosystem", "name", "version", "source"}) {
        key += inv.value(field, "");
        key += '\0';
    }
    return "inv" + std::string(1, '\0') + key;
}

// The path a record is about: a file record's, or a PE or Mach-O item's (its source); "" for
// others.
std::string record_path(const nlohmann::json& record) {
    if (auto f = record.find("file"); f != record.end()) return f->value("path", "");
    const auto& inv = record.at("inventory");
    const std::string ecosystem = inv.value("ecosystem", "");
    return ecosystem == "pe" || ecosystem == "macho" ? inv.value("source", "") : std::string();
}

// Who owns a path: an installed package listing it exactly, or a Windows Uninstall/MSI entry
// whose install folder (one of its paths, compared without case) holds it.
class Owners {
  public:
    explicit Owners(const std::vector<InventoryItem>& inventory) {
        for (const auto& item : inventory) {
            if (!item.installed() || item.ecosystem == "pe" || item.ecosystem == "macho" ||
                item.ecosystem == "process")
                continue;
            const bool folders = item.ecosystem == "windows-uninstall" || item.ecosystem == "msi";
            for (const auto& p : item.paths) {
                if (folders) {
                    std::string dir = core::ascii_lower(p);
                    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
                    if (dir.size() > 1) dirs_.emplace_back(dir, &item);
                } else {
                    exact_.emplace(p, &item);
                }
            }
        }
    }
    const InventoryItem* find(const std::string& path) const {
        if (auto it = exact_.find(path); it != exact_.end()) return it->second;
        const std::string l = core::ascii_lower(path);
        const InventoryItem* best = nullptr;
        std::size_t best_len = 0;
        for (const auto& [dir, item] : dirs_)
            if (dir.size() > best_len && l.size() > dir.size() &&
                l.compare(0, dir.size(), dir) == 0 && l[dir.size()] == '/') {
                best = item;
                best_len = dir.size();
            }
        return best;
    }

  private:
    std::map<std::string, const InventoryItem*> exact_;
    std::vector<std::pair<std::string, const InventoryItem*>> dirs_;
};

// The owner of each record's file (file records, PE items) added as "owned_by" (null when none);
// records whose owner matches the rule's exclude_owners dropped.
void add_owners(const std::vector<Glob>& exclude, const Owners& owners, RuleRecords& records) {
    RuleRecords out;
    out.may_hold_file = records.may_hold_file;
    out.lead_reason = records.lead_reason;
    for (const auto* side : {&records.present, &records.residue, &records.leads}) {
        for (const auto& [key, entry] : *side) {
            const nlohmann::json& record = entry.record;
            const std::string path = record_path(record);
            nlohmann::json owned = nullptr;
            if (const InventoryItem* o = path.empty() ? nullptr : owners.find(path)) {
                if ((!o->publisher.empty() && any_match(exclude, o->publisher)) ||
                    any_match(exclude, o->name))
                    continue;
                owned = {
                    {"ecosystem", o->ecosystem}, {"name", o->name}, {"publisher", o->publisher}};
            }
            nlohmann::json r = record;
            r["owned_by"] = owned;
            if (side == &records.leads)
                out.add_lead(r, entry.item);
            else
                out.add(side == &records.residue, r, entry.item);
        }
    }
    records = std::move(out);
}

// Records whose path lies under one of the rule's exclude_paths, dropped.
void drop_paths(const std::vector<Glob>& globs, bool drive_paths, RuleRecords& records) {
    for (auto* side : {&records.present, &records.residue, &records.leads})
        for (auto it = side->begin(); it != side->end();) {
            const std::string path = record_path(it->second.record);
            it = !path.empty() && any_path_match(globs, path, drive_paths) ? side->erase(it)
                                                                           : std::next(it);
        }
}

// A rule's globs as match() has always compiled them, each only for the kinds that use it (a
// bad pattern is a UsageError naming the manifest, rule and pattern).
CompiledRule compile_rule(const Manifest& m, const Rule& rule, bool case_insensitive_paths) {
    CompiledRule c;
    c.drive_paths = case_insensitive_paths;
    if (rule.kind == RuleKind::package || rule.kind == RuleKind::publisher) {
        c.names = compile(m, rule, true);
    } else if (rule.kind == RuleKind::registry) {
        Rule as_globs = rule;
        for (auto& p : as_globs.patterns) p = registry_glob_text(p);
        c.registry = compile(m, as_globs, true);
    } else if (rule.kind == RuleKind::pe_signer || rule.kind == RuleKind::pe_version) {
        c.names = compile(m, rule, true);
        Rule products_rule = rule;
        products_rule.patterns = rule.products;
        c.products = compile(m, products_rule, true);
    } else if (rule.kind == RuleKind::macho_team) {
        c.names = compile(m, rule, false);  // Team IDs are upper-case as Apple issues them
    } else if (rule.kind == RuleKind::certificate) {
        c.names = compile(m, rule, true);  // X.500 names compare without case (RFC 5280 7.1)
    } else if (rule.kind != RuleKind::all_of) {
        if (rule.kind == RuleKind::file_hash) {
            for (const auto& p : rule.patterns) c.digests.insert(core::ascii_lower(p));
        } else {
            c.files = compile(m, rule, rule.kind == RuleKind::path && case_insensitive_paths,
                              rule.kind == RuleKind::module);
        }
        if (rule.kind == RuleKind::service) c.names = compile(m, rule, true);
    }
    if (rule.kind == RuleKind::service || rule.kind == RuleKind::module)
        c.units = compile(m, rule, false, rule.kind == RuleKind::module);
    if (rule.kind == RuleKind::service) c.launchd = compile(m, rule, false);
    if (!rule.exclude_paths.empty()) {
        Rule excluded = rule;
        excluded.patterns = rule.exclude_paths;
        c.exclude_paths = compile(m, excluded, case_insensitive_paths);
    }
    if (rule.owner) {
        Rule excluded = rule;
        excluded.patterns = rule.exclude_owners;
        c.exclude_owners = compile(m, excluded, true);
    }
    return c;
}

// One rule's records, as collected by match().
RuleRecords collect(const Rule& rule, const CompiledRule& c,
                    const std::vector<InventoryItem>& inventory,
                    const std::vector<fs::FileRecord>& files, const std::set<std::string>& dangling,
                    std::string& reason) {
    RuleRecords records;
    if (rule.kind == RuleKind::package || rule.kind == RuleKind::publisher) {
        match_inventory(rule, c.names, inventory, records);
    } else if (rule.kind == RuleKind::registry) {
        match_registry(rule, c.registry, inventory, records);
    } else if (rule.kind == RuleKind::pe_signer || rule.kind == RuleKind::pe_version) {
        match_pe(rule, c, inventory, records);
    } else if (rule.kind == RuleKind::macho_team) {
        match_macho(rule, c.names, inventory, records);
    } else if (rule.kind == RuleKind::certificate) {
        match_certificate(rule, c.names, inventory, records);
    } else if (rule.kind != RuleKind::all_of) {
        match_files(rule, c, files, dangling, records);
        if (rule.kind == RuleKind::service)
            match_windows_services(rule, c.names, inventory, records);
    }
    if (rule.kind == RuleKind::service || rule.kind == RuleKind::module)
        match_units(rule, c.units, inventory, records);
    if (rule.kind == RuleKind::service) match_launchd(c.launchd, rule, inventory, records);
    // What a removal leaves behind: the product's directories, empty or holding only links,
    // after the package manager removed every file it owned. Not presence.
    if (rule.kind == RuleKind::path && !records.present.empty() && !records.may_hold_file) {
        records.residue.merge(records.present);
        records.present.clear();
        reason =
            "no regular file matched (only directories or links): what a removal leaves "
            "behind, not an installed product";
    }
    if (!rule.exclude_paths.empty()) drop_paths(c.exclude_paths, c.drive_paths, records);
    if (rule.owner) add_owners(c.exclude_owners, Owners(inventory), records);
    return records;
}

// An all_of rule: the subjects every listed rule matched, with all of their records; residue
// when the rule says so or any part matched the subject only as residue.
RuleRecords corroborate(const Rule& rule, const std::map<std::string, RuleRecords>& parts) {
    RuleRecords out;
    // subject -> (parts that matched it, parts that matched it as presence)
    std::map<std::string, std::pair<std::size_t, std::size_t>> count;
    std::map<std::string, std::vector<const Entry*>> records;
    for (const auto& id : rule.all_of) {
        auto it = parts.find(id);
        if (it == parts.end()) return out;
        std::map<std::string, bool> seen;  // subject -> matched as presence
        for (const auto* side : {&it->second.present, &it->second.residue})
            for (const auto& [key, entry] : *side) {
                const std::string subject = subject_of(entry.record);
                seen[subject] = seen[subject] || side == &it->second.present;
                records[subject].push_back(&entry);
            }
        for (const auto& [subject, present] : seen) {
            ++count[subject].first;
            if (present) ++count[subject].second;
        }
    }
    for (const auto& [subject, n] : count) {
        if (n.first != rule.all_of.size()) continue;
        const bool residue = rule.residue || n.second != rule.all_of.size();
        for (const auto* r : records[subject]) out.add(residue, r->record, r->item);
    }
    return out;
}

}  // namespace

struct CompiledRules::Compiled {
    std::vector<std::vector<CompiledRule>> rules;  // per manifest, per rule (all_of: empty)
    std::vector<const Glob*> path_globs;           // into rules: the path rules' file globs
};

CompiledRules::CompiledRules(const std::vector<Manifest>& manifests, const MatchOptions& options)
    : manifests_(&manifests), case_insensitive_paths_(options.case_insensitive_paths) {
    auto compiled = std::make_shared<Compiled>();
    for (const auto& m : manifests) {
        auto& rules = compiled->rules.emplace_back();
        for (const auto& rule : m.rules)
            rules.push_back(rule.kind == RuleKind::all_of
                                ? CompiledRule{}
                                : compile_rule(m, rule, options.case_insensitive_paths));
    }
    // Pointers taken once every vector has its final size.
    for (std::size_t mi = 0; mi < manifests.size(); ++mi)
        for (std::size_t ri = 0; ri < manifests[mi].rules.size(); ++ri)
            if (manifests[mi].rules[ri].kind == RuleKind::path)
                for (const auto& g : compiled->rules[mi][ri].files)
                    compiled->path_globs.push_back(&g);
    compiled_ = std::move(compiled);
}

std::shared_ptr<const std::vector<const Glob*>> CompiledRules::path_globs() const {
    return {compiled_, &compiled_->path_globs};
}

std::vector<Finding> match(const std::vector<Manifest>& manifests,
                           const std::vector<InventoryItem>& inventory,
                           const std::vector<fs::FileRecord>& files, const MatchOptions& options) {
    return match(CompiledRules(manifests, options), inventory, files);
}

std::vector<Finding> match(const CompiledRules& compiled,
                           const std::vector<InventoryItem>& inventory,
                           const std::vector<fs::FileRecord>& files) {
    const std::vector<Manifest>& manifests = compiled.manifests();
    std::vector<Finding> findings;
    const std::set<std::string> dangling = dangling_unit_links(inventory);
    auto emit = [&](const Manifest& m, const Rule& rule, const RuleRecords& records,
                    const std::string& reason) {
        if (!rule.standalone) return;
        if (!records.present.empty())
            findings.push_back(make_finding(m, rule, false, records.present));
        if (!records.residue.empty())
            findings.push_back(make_finding(m, rule, true, records.residue, reason));
        if (!records.leads.empty()) {
            Finding lead = make_finding(m, rule, false, records.leads, records.lead_reason);
            lead.confidence = Confidence::weak;
            findings.push_back(std::move(lead));
        }
    };
    for (std::size_t mi = 0; mi < manifests.size(); ++mi) {
        const Manifest& m = manifests[mi];
        std::map<std::string, RuleRecords> by_rule;
        for (std::size_t ri = 0; ri < m.rules.size(); ++ri) {
            const Rule& rule = m.rules[ri];
            if (rule.kind == RuleKind::all_of) continue;
            std::string reason;
            RuleRecords records = collect(rule, compiled.compiled_->rules[mi][ri], inventory, files,
                                          dangling, reason);
            emit(m, rule, records, reason);
            by_rule.emplace(rule.id, std::move(records));
        }
        for (const auto& rule : m.rules)
            if (rule.kind == RuleKind::all_of) emit(m, rule, corroborate(rule, by_rule), "");
    }
    std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        return std::tie(a.product, a.rule, a.residue) < std::tie(b.product, b.rule, b.residue);
    });
    return findings;
}

}  // namespace audit::match
