#include "audit/attest/attest.h"
#include "finding_presence.h"
#include "json_field.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "audit/catalog.h"
#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/evidence/chain_check.h"
#include "audit/fs/walker.h"
#include "audit/strict_json.h"

namespace audit::attest {

namespace {

using nlohmann::json;

const json& member(const json& j, const char* key) {
    static const json null;
    if (!j.is_object()) return null;
    auto it = j.find(key);
    return it == j.end() ? null : *it;
}

// Compare dotted versions numerically where both segments are numbers.
int compare_versions(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        auto seg = [](const std::string& s, std::size_t& k) {
            std::size_t start = k;
            while (k < s.size() && s[k] != '.' && s[k] != '-') ++k;
            std::string out = s.substr(start, k - start);
            if (k < s.size()) ++k;
            return out;
        };
        std::string x = seg(a, i), y = seg(b, j);
        bool nx = !x.empty() && std::all_of(x.begin(), x.end(), ::isdigit);
        bool ny = !y.empty() && std::all_of(y.begin(), y.end(), ::isdigit);
        if (nx && ny) {
            if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
        }
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

// Seconds since the epoch of an RFC 3339 time; nullopt when it is not one.
std::optional<std::int64_t> parse_time(const std::string& s) {
    return core::parse_rfc3339(s);
}

// The identifiers that name a machine (host.ids but the DMI serial, which vendors fill with
// placeholders): the same value under two host keys is an identity conflict.
const std::vector<std::string>& strong_id_keys() {
    static const std::vector<std::string> keys = {
        "machine_id",          "windows_machine_guid", "dmi_product_uuid", "macos_hardware_uuid",
        "windows_machine_sid", "root_fs_uuid",         "ssh_host_keys"};
    return keys;
}

// host.ids as recorded (string values only).
std::map<std::string, std::string> ids_of(const BundleSummary& b) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : b.predicate.host.ids)
        if (!v.empty()) out[k] = v;
    // Summaries built by hand (and v1 readers) may carry the ids in the fields only.
    if (!b.machine_id.empty()) out.emplace("machine_id", b.machine_id);
    if (!b.dmi_product_uuid.empty()) out.emplace("dmi_product_uuid", b.dmi_product_uuid);
    if (!b.windows_machine_guid.empty())
        out.emplace("windows_machine_guid", b.windows_machine_guid);
    return out;
}

std::map<std::string, std::string> strong_ids(const std::map<std::string, std::string>& ids) {
    std::map<std::string, std::string> out;
    for (const auto& k : strong_id_keys()) {
        auto it = ids.find(k);
        if (it != ids.end()) out.insert(*it);
    }
    return out;
}

// Sources that read an operating system's package database (the catalog's): one that read items
// before and reads none now means the scan no longer sees the system it saw.
const std::set<std::string>& package_db_sources() {
    static const std::set<std::string> names = [] {
        const auto v = catalog::system_databases();
        return std::set<std::string>(v.begin(), v.end());
    }();
    return names;
}

struct ChainNode {
    const BundleRef* ref = nullptr;
    std::set<std::string> files;  // file digests of every copy of this statement
};

using KitChains = std::map<std::string, std::map<std::uint64_t, std::map<std::string, ChainNode>>>;

// Gaps, forks, broken links and unclosed chains of each kit, given the verified heads
// (evidence/chain_check.h), as reason codes.
std::vector<ChainIssue> find_chain_issues(const KitChains& kits,
                                          const std::vector<evidence::ChainHead>& heads) {
    using Head = evidence::ChainCheck::Head;
    using Kind = evidence::ChainEvent::Kind;
    std::map<std::string, std::vector<evidence::ChainHead>> heads_by_kit;
    for (const auto& h : heads) heads_by_kit[h.kit_id].push_back(h);
    std::vector<ChainIssue> issues;
    for (const auto& [kit, seqs] : kits) {
        if (seqs.empty()) continue;
        std::vector<evidence::ChainLink> links;
        for (const auto& [seq, nodes] : seqs)
            for (const auto& [statement, node] : nodes)
                links.push_back({seq, statement, node.files, node.ref->format,
                                 node.ref->previous_statement_sha256, node.ref->previous_sha256});
        const auto c = evidence::check_chain(links, heads_by_kit[kit]);
        const std::string newest = std::to_string(c.newest), head = std::to_string(c.head_sequence);
        switch (c.head) {
            case Head::none:
                issues.push_back({kit, 1,
                                  "chain_unclosed: kit " + kit +
                                      " has no verified chain head (newest bundle present: "
                                      "sequence " +
                                      newest + ")"});
                break;
            case Head::several:
                issues.push_back({kit, c.head_sequence,
                                  "chain_fork: kit " + kit + " has " +
                                      std::to_string(c.head_statements) +
                                      " different signed heads at sequence " + head});
                break;
            case Head::ahead:
                issues.push_back({kit, c.newest + 1,
                                  "chain_gap: kit " + kit + "'s chain head is sequence " + head +
                                      " but the newest bundle present is " + newest});
                break;
            case Head::behind:
                issues.push_back({kit, c.head_sequence + 1,
                                  "chain_unclosed: kit " + kit +
                                      "'s newest verified chain head is sequence " + head +
                                      ", older than bundle sequence " + newest});
                break;
            case Head::other_bundle:
                issues.push_back({kit, c.head_sequence,
                                  "chain_fork: kit " + kit +
                                      "'s chain head names another bundle than the one present "
                                      "at sequence " +
                                      head});
                break;
            case Head::closed:
                break;
        }
        for (const auto& e : c.events) {
            const std::string seq = std::to_string(e.from);
            if (e.kind == Kind::gap && !e.trailing)
                issues.push_back({kit, e.from,
                                  "chain_gap: kit " + kit + " is missing sequence " + seq +
                                      (e.to > e.from ? "-" + std::to_string(e.to) : "")});
            else if (e.kind == Kind::fork)
                issues.push_back({kit, e.from,
                                  "chain_fork: kit " + kit + " has " + std::to_string(e.count) +
                                      " different bundles with sequence " + seq});
            else if (e.kind == Kind::first_links)
                issues.push_back(
                    {kit, e.from,
                     "chain_broken: kit " + kit + " sequence 1 names a previous bundle"});
            else if (e.kind == Kind::broken)
                issues.push_back({kit, e.from,
                                  "chain_broken: kit " + kit + " sequence " + seq +
                                      " does not follow sequence " + std::to_string(e.from - 1)});
        }
    }
    return issues;
}

bool finds(const BundleSummary& b, const std::string& product) {
    return b.predicate.findings.finds(product);
}

const evidence::ManifestRecord* manifest_of(const BundleSummary& b, const std::string& product) {
    return b.predicate.manifest(product);
}

// The product's coverage record in b, nullptr when b recorded none.
const evidence::ProductCoverage* product_coverage(const BundleSummary& b,
                                                  const std::string& product) {
    return b.predicate.coverage ? b.predicate.coverage->product(product) : nullptr;
}

bool sufficient(const BundleSummary& b, const std::string& product) {
    const auto* p = product_coverage(b, product);
    return p && p->is_sufficient();
}

// coverage.walk of b, nullptr when not recorded (v1).
const evidence::WalkCoverage* walk_of(const BundleSummary& b) {
    const auto& c = b.predicate.coverage;
    return c && c->walk ? &*c->walk : nullptr;
}

std::vector<std::string> list_or_empty(const std::optional<std::vector<std::string>>& v) {
    return v ? *v : std::vector<std::string>{};
}

// coverage.sources[name] of b ("" when not recorded).
std::string source_status(const BundleSummary& b, const std::string& name) {
    return b.predicate.coverage ? b.predicate.coverage->source_status(name) : "";
}

// coverage.source_items[name] of b (nullopt when not recorded).
std::optional<std::int64_t> source_items(const BundleSummary& b, const std::string& name) {
    return b.predicate.coverage ? b.predicate.coverage->source_item_count(name) : std::nullopt;
}

std::string name_of(const BundleSummary& b) {
    return b.bundle_id.empty() ? b.path : b.bundle_id;
}

// --- item 1: what the scan established about the system -----------------------------------
void system_reasons(const BundleSummary& b, const std::string& key,
                    std::vector<std::string>& reasons) {
    const auto& cov = b.predicate.coverage;
    if (cov && cov->system) {
        for (const auto& gap : list_or_empty(cov->system->gaps))
            reasons.push_back(gap.find(": ") == std::string::npos ? "not_a_system: " + gap : gap);
    } else {
        // v1: judged by what it recorded.
        if (b.predicate.host.os.value_or("").empty())
            reasons.push_back("not_a_system: bundle " + name_of(b) +
                              " recorded no operating system");
        if (strong_ids(ids_of(b)).empty())
            reasons.push_back("no_identity: bundle " + name_of(b) + " recorded no host identifier");
    }
    if (key.rfind("hostname:", 0) == 0)
        reasons.push_back("no_identity: the host is known only by its hostname " +
                          key.substr(std::string("hostname:").size()));
}

// --- item 2: the clean bundle's manifest and kit --------------------------------------------
void provenance_reasons(const BundleSummary& b, const std::string& product,
                        std::vector<std::string>& reasons) {
    const auto* m = manifest_of(b, product);
    std::string sig = m ? m->signature_status() : "";
    if (sig != "verified")
        reasons.push_back("manifest_unsigned: bundle " + name_of(b) + " evaluated " + product +
                          " with a manifest whose signature is " +
                          (sig.empty() ? std::string("not recorded") : "'" + sig + "'"));
    std::string kit = b.predicate.kit.self_check_status();
    if (kit != "none" && kit != "verified")
        reasons.push_back("kit_unverified: bundle " + name_of(b) + " was scanned from a kit " +
                          "whose self-check is " +
                          (kit.empty() ? std::string("not recorded") : "'" + kit + "'"));
}

// --- item 3: the clean bundle covers everything that produced a finding ----------------------
int scope_rank(const BundleSummary& b) {
    const std::string s = b.predicate.walk_scope();
    if (s == "matched") return 0;
    if (s == "packages") return 1;
    if (s == "all") return 2;
    return -1;
}

std::string scope_name(int rank) {
    static const char* names[] = {"matched", "packages", "all"};
    return rank >= 0 && rank <= 2 ? names[rank] : "not recorded";
}

bool path_covers(const std::string& root, const std::string& path) {
    if (root == "/" || root == path) return true;
    std::string r = root;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    return path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/';
}

// The rule ids that made a finding of product in b (presence, not residue).
std::set<std::string> finding_rules(const BundleSummary& b, const std::string& product) {
    std::set<std::string> rules;
    for (const auto& f : b.findings) {
        if (str(f, "product") != product || f.value("residue", false)) continue;
        std::string c = str(f, "confidence");
        if (!c.empty() && c != "definitive" && c != "strong") continue;
        std::string r = str(f, "rule");
        if (!r.empty()) rules.insert(r);
    }
    return rules;
}

void narrower_reasons(const BundleSummary& found, const BundleSummary& clean,
                      const std::string& product, std::vector<std::string>& reasons) {
    const std::string who = "bundle " + name_of(clean);
    const std::string than = " than bundle " + name_of(found) + " that found " + product;
    int fs = scope_rank(found), cs = scope_rank(clean);
    if (fs >= 0 && cs < fs)
        reasons.push_back("coverage_narrower: " + who + " hashed scope " + scope_name(cs) +
                          ", narrower" + than + " (" + scope_name(fs) + ")");

    const auto* fwalk = walk_of(found);
    const auto* cwalk = walk_of(clean);
    if (fwalk && fwalk->digests) {
        auto have = cwalk ? list_or_empty(cwalk->digests) : std::vector<std::string>{};
        for (const auto& d : *fwalk->digests)
            if (std::find(have.begin(), have.end(), d) == have.end())
                reasons.push_back("coverage_narrower: " + who + " did not compute " + d + than);
    }
    if (cs != 2 && fwalk && fwalk->roots) {
        const auto& froots = *fwalk->roots;
        auto ffailed = list_or_empty(fwalk->failed_roots);
        auto croots = cwalk ? list_or_empty(cwalk->roots) : std::vector<std::string>{};
        auto cfailed = cwalk ? list_or_empty(cwalk->failed_roots) : std::vector<std::string>{};
        for (const auto& r : froots) {
            if (std::find(ffailed.begin(), ffailed.end(), r) != ffailed.end()) continue;
            bool covered = std::any_of(croots.begin(), croots.end(), [&](const std::string& c) {
                return path_covers(c, r) &&
                       std::find(cfailed.begin(), cfailed.end(), c) == cfailed.end();
            });
            if (!covered)
                reasons.push_back("coverage_narrower: " + who + " did not walk " + r + than);
        }
    }

    const auto& fcov = found.predicate.coverage;
    if (fcov && fcov->sources)
        for (const auto& [name, status] : *fcov->sources) {
            if (status != "ran") continue;
            std::string now = source_status(clean, name);
            // "absent": it looked and found nothing to read; a package database that vanished
            // is coverage_regressed.
            if (now != "ran" && now != "absent")
                reasons.push_back("coverage_narrower: " + who + " did not run source " + name +
                                  (now.empty() ? std::string() : " (" + now + ")") + than);
        }

    const auto* fm = manifest_of(found, product);
    const auto* cm = manifest_of(clean, product);
    if (!fm || !cm) return;
    std::string fv = fm->version.value_or(""), cv = cm->version.value_or("");
    if (compare_versions(cv, fv) < 0) reasons.push_back("manifest_downgraded: " + fv + " -> " + cv);
    if (!fm->sha256.value_or("").empty() && fm->sha256 == cm->sha256) return;
    auto rules = finding_rules(found, product);
    if (rules.empty()) return;
    if (!cm->rules) {
        reasons.push_back("coverage_narrower: " + who + "'s manifest " + product + " " + cv +
                          " does not list its rules and is not the manifest of bundle " +
                          name_of(found) + " that found " + product);
        return;
    }
    const auto& have = *cm->rules;
    for (const auto& r : rules)
        if (std::find(have.begin(), have.end(), r) == have.end())
            reasons.push_back("coverage_narrower: " + who + "'s manifest " + product + " " + cv +
                              " lacks rule " + r + " that matched in bundle " + name_of(found));
}

// Package-database sources of b that ran, with their item counts (-1: not recorded).
std::map<std::string, std::int64_t> package_dbs(const BundleSummary& b) {
    std::map<std::string, std::int64_t> out;
    const auto& cov = b.predicate.coverage;
    std::set<std::string> names(package_db_sources());
    if (cov && cov->system)
        for (const auto& n : list_or_empty(cov->system->package_databases)) names.insert(n);
    for (const auto& n : names) {
        if (source_status(b, n) != "ran") continue;
        out[n] = source_items(b, n).value_or(-1);
    }
    return out;
}

void regressed_reasons(const std::vector<const BundleSummary*>& earlier, const BundleSummary& clean,
                       std::vector<std::string>& reasons) {
    std::set<std::string> said;
    for (const auto* e : earlier)
        for (const auto& [name, before] : package_dbs(*e)) {
            if (before == 0 || said.count(name)) continue;
            std::string status = source_status(clean, name);
            const auto count = source_items(clean, name);
            std::string what;
            if (status != "ran")
                what = status.empty() ? "did not run" : status;
            else if (before > 0 && count == 0)
                what = "read no items";
            if (what.empty()) continue;
            said.insert(name);
            reasons.push_back("coverage_regressed: package database " + name + " read " +
                              (before > 0 ? std::to_string(before) + " item(s)" : "its items") +
                              " in bundle " + name_of(*e) + " and " + what + " in bundle " +
                              name_of(clean));
        }
}

void sort_unique(std::vector<std::string>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

void hold_back_for_unverified(std::vector<HostProductStatus>& statuses, std::size_t not_verified) {
    if (not_verified == 0) return;
    for (auto& st : statuses) {
        if (st.status != Status::removed && st.status != Status::absent) continue;
        st.status = Status::inconclusive;
        st.removed_at.clear();
        st.clean_since.clear();
        st.reasons.push_back("not_verified: " + std::to_string(not_verified) +
                             " stored statement(s) or chain head(s) of this ledger do not verify; "
                             "any of them could be a later scan or a fork of this host");
        st.reason_codes.push_back("not_verified");
        sort_unique(st.reason_codes);
    }
}

namespace {

std::string identity_of(const BundleRef& b) {
    return b.statement_sha256.empty() ? b.sha256 : b.statement_sha256;
}

std::string identity_of(const BundleSummary& b) {
    return b.statement_sha256.empty() ? b.sha256 : b.statement_sha256;
}

constexpr std::size_t kMaxFindingItems = 100;  // per finding; items_total says how many there were

// The ecosystems whose item name is a unit (service, script, job, driver, module).
bool is_unit_ecosystem(const std::string& e) {
    return e == "systemd" || e == "sysv" || e == "launchd" || e == "windows-service" || e == "kmod";
}

json finding_item(const json& record) {
    json item = json::object();
    auto put = [&](const char* key, const std::string& v) {
        if (!v.empty()) item[key] = v;
    };
    const json& inv = member(record, "inventory");
    const json& file = member(record, "file");
    if (inv.is_object()) {
        const std::string eco = str(inv, "ecosystem");
        put("ecosystem", eco);
        put("name", str(inv, "name"));
        put("version", str(inv, "version"));
        put("state", str(inv, "state"));
        put("publisher", str(inv, "publisher"));
        put("signer", str(member(inv, "signature"), "subject"));
        put("registry_key", str(inv, "registry_key"));
        put("path", str(inv, "path"));
        if (is_unit_ecosystem(eco)) put("unit", str(inv, "name"));
    } else if (file.is_object()) {
        put("path", str(file, "path"));
        put("sha256", str(file, "sha256"));
    } else if (record.is_object()) {
        // A record kind this reader does not know: its string fields, one level down.
        for (const auto& [k, v] : record.items())
            if (v.is_object())
                for (const auto& [k2, v2] : v.items())
                    if (v2.is_string()) item[k2] = v2;
    }
    return item;
}

}  // namespace

std::string reason_code(const std::string& reason) {
    auto pos = reason.find(": ");
    return pos == std::string::npos ? reason : reason.substr(0, pos);
}

std::string host_key(const std::string& machine_id, const std::string& windows_machine_guid,
                     const std::string& dmi_product_uuid, const std::string& hostname) {
    if (!machine_id.empty()) return "machine-id:" + machine_id;
    if (!windows_machine_guid.empty()) return "windows-machine-guid:" + windows_machine_guid;
    if (!dmi_product_uuid.empty()) return "dmi:" + dmi_product_uuid;
    return "hostname:" + hostname;
}

std::string host_key(const BundleSummary& b) {
    auto ids = ids_of(b);
    auto get = [&](const char* k) {
        auto it = ids.find(k);
        return it == ids.end() ? std::string() : it->second;
    };
    std::string key = host_key(get("machine_id"), get("windows_machine_guid"),
                               get("dmi_product_uuid"), b.hostname);
    if (key.rfind("hostname:", 0) != 0) return key;
    // Hosts without those: the next strong identifier they have.
    for (const auto& [k, prefix] : std::vector<std::pair<const char*, const char*>>{
             {"macos_hardware_uuid", "macos-hardware-uuid:"},
             {"windows_machine_sid", "windows-machine-sid:"},
             {"root_fs_uuid", "root-fs-uuid:"},
             {"ssh_host_keys", "ssh-host-keys:"}})
        if (!get(k).empty()) return prefix + get(k);
    return key;
}

std::map<std::string, std::string> BundleRef::counted_ids() const {
    if (ids.empty() && !dmi_product_uuid.empty()) return {{"dmi_product_uuid", dmi_product_uuid}};
    return ids;
}

BundleRef ref_of(const BundleSummary& b) {
    BundleRef r;
    r.sha256 = b.sha256;
    r.statement_sha256 = b.statement_sha256;
    r.previous_statement_sha256 = b.previous_statement_sha256;
    r.format = b.format;
    r.kit_id = b.kit_id;
    r.previous_sha256 = b.previous_sha256;
    r.host_key = host_key(b);
    r.dmi_product_uuid = b.dmi_product_uuid;
    r.sequence = b.sequence;
    r.ids = strong_ids(ids_of(b));
    return r;
}

FleetFacts::FleetFacts(const std::vector<BundleRef>& bundles,
                       const std::vector<evidence::ChainHead>& heads, const MergeOptions& options)
    : options_(options) {
    // One bundle is one statement: copies (recompressed, re-encoded) count once.
    KitChains kits;
    std::set<std::string> seen;
    for (const auto& b : bundles) {
        const std::string id = identity_of(b);
        auto& node = kits[b.kit_id][b.sequence][id];
        if (!node.ref) node.ref = &b;
        if (!b.sha256.empty()) node.files.insert(b.sha256);
        if (!seen.insert(id).second) continue;
        for (const auto& [k, v] : b.counted_ids()) id_hosts_[k + "\x1f" + v].insert(b.host_key);
    }
    chain_issues_ = find_chain_issues(kits, heads);
    for (const auto& issue : chain_issues_) issues_by_kit_[issue.kit].push_back(&issue);
}

std::vector<std::string> FleetFacts::host_reasons(
    const std::vector<const BundleSummary*>& host) const {
    std::vector<std::string> reasons;
    for (const auto* b : host)
        for (const auto& [k, v] : strong_ids(ids_of(*b))) {
            auto it = id_hosts_.find(k + "\x1f" + v);
            if (it != id_hosts_.end() && it->second.size() > 1)
                reasons.push_back("identity_conflict: " + k + " " + v + " appears under " +
                                  std::to_string(it->second.size()) + " hosts");
        }
    // A gap, fork or unclosed chain could hide a bundle of any host the kit scanned.
    std::set<std::string> kits;
    for (const auto* b : host) kits.insert(b->kit_id);
    for (const auto& kit : kits) {
        auto it = issues_by_kit_.find(kit);
        if (it == issues_by_kit_.end()) continue;
        for (const auto* issue : it->second) reasons.push_back(issue->reason);
    }
    sort_unique(reasons);
    return reasons;
}

const char* to_string(Status s) {
    switch (s) {
        case Status::removed:
            return "removed";
        case Status::absent:
            return "absent";
        case Status::present:
            return "present";
        case Status::inconclusive:
            return "inconclusive";
    }
    return "inconclusive";
}

BundleSummary summarize(const std::string& path, const std::string& sha256, json predicate,
                        std::string_view findings_json) {
    return summarize(path, sha256, sha256, std::move(predicate), findings_json);
}

namespace {

// The summary's fields from the typed predicate and findings.json.
BundleSummary summary_of(const std::string& path, const std::string& sha256,
                         const std::string& statement_sha256, evidence::Predicate predicate,
                         std::string_view findings_json) {
    BundleSummary s;
    s.path = path;
    s.sha256 = sha256;
    s.statement_sha256 = statement_sha256;
    s.predicate = std::move(predicate);
    const evidence::Predicate& p = s.predicate;
    s.bundle_id = p.bundle_id;
    s.kit_id = p.kit.id;
    s.sequence = p.kit.sequence;
    s.previous_sha256 = p.kit.previous_bundle_sha256.value_or("");
    if (p.kit.has_previous_statement) {
        s.format = 2;
        s.previous_statement_sha256 = p.kit.previous_statement_sha256.value_or("");
    }
    s.finished = p.scan.finished;
    s.hostname = p.host.hostname;
    s.machine_id = p.host.id("machine_id");
    s.dmi_product_uuid = p.host.id("dmi_product_uuid");
    s.windows_machine_guid = p.host.id("windows_machine_guid");
    const std::string mode = p.scan.mode.value_or("");
    s.live = mode.empty() ? p.host.live.value_or(false) : mode == "live";
    if (!findings_json.empty()) {
        try {
            s.findings = json::parse(findings_json);
        } catch (const json::exception&) {
            throw VerifyError(path + ": findings.json is not JSON");
        }
        if (!s.findings.is_array()) throw VerifyError(path + ": findings.json is not a list");
    }
    return s;
}

}  // namespace

BundleSummary summarize(const std::string& path, const std::string& sha256,
                        const std::string& statement_sha256, json predicate,
                        std::string_view findings_json) {
    evidence::Predicate p;
    try {
        // Read as v1: the v2 link's form is the bundle reader's check, not the summary's.
        p = evidence::Predicate::from_json(predicate, 1);
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": statement predicate is incomplete (" + e.what() + ")");
    }
    return summary_of(path, sha256, statement_sha256, std::move(p), findings_json);
}

BundleSummary summarize(const evidence::Bundle& bundle) {
    auto it = bundle.files.find("findings.json");
    auto s = summary_of(
        bundle.path, bundle.sha256,
        bundle.statement_sha256.empty() ? bundle.sha256 : bundle.statement_sha256, bundle.evidence,
        it == bundle.files.end() ? std::string_view() : std::string_view(it->second));
    s.format = bundle.format;
    return s;
}

json finding_summary(const json& f) {
    json items = json::array();
    std::size_t total = 0;
    for (const auto& r : member(f, "records").is_array() ? member(f, "records") : json::array()) {
        ++total;
        if (items.size() < kMaxFindingItems) items.push_back(finding_item(r));
    }
    std::string family = str(f, "family");
    json out = {{"rule", str(f, "rule")},
                {"confidence", str(f, "confidence")},
                {"family", family.empty() ? "unspecified" : family},
                {"kind", str(f, "kind")},
                {"residue", f.value("residue", false) == true},
                {"lead", !finding_proves_presence(f) && f.value("residue", false) != true},
                {"items", items}};
    if (total > items.size()) out["items_total"] = total;
    return out;
}

json HostProductStatus::to_json() const {
    json ev = json::array();
    for (const auto& e : evidence)
        ev.push_back({{"bundle_id", e.bundle_id},
                      {"statement_sha256", e.statement_sha256},
                      {"sha256", e.sha256},
                      {"role", e.role}});
    return {{"host", host_key},
            {"hostname", hostname},
            {"host_ids", host_ids},
            {"product", product},
            {"product_name", product_name},
            {"status", to_string(status)},
            {"reasons", reasons},
            {"reason_codes", reason_codes},
            {"residue", residue},
            {"evidence", ev},
            {"manifest_versions", manifest_versions},
            {"first_scan", first_scan},
            {"latest_scan", latest_scan},
            {"first_found", first_found},
            {"last_found", last_found},
            {"removed_at", removed_at},
            {"clean_since", clean_since},
            {"family", family.empty() ? "unspecified" : family},
            {"findings", findings},
            {"leads", leads}};
}

std::vector<HostProductStatus> merge(const std::vector<BundleSummary>& all,
                                     const std::vector<evidence::ChainHead>& heads,
                                     const MergeOptions& options, const HostMerged& per_host) {
    // The same bundle given twice (or a copy of it under other bytes) counts once.
    std::vector<const BundleSummary*> bundles;
    std::vector<BundleRef> refs;
    std::set<std::string> seen;
    for (const auto& b : all) {
        refs.push_back(ref_of(b));  // every copy: the chain learns each file digest
        if (seen.insert(identity_of(b)).second) bundles.push_back(&b);
    }
    FleetFacts fleet(refs, heads, options);
    std::map<std::string, std::vector<const BundleSummary*>> hosts;
    for (const auto* b : bundles) hosts[host_key(*b)].push_back(b);
    std::vector<HostProductStatus> out;
    for (auto& [key, list] : hosts) {
        auto statuses = merge_host(list, fleet);
        if (per_host) per_host(list, statuses);
        std::move(statuses.begin(), statuses.end(), std::back_inserter(out));
    }
    return out;
}

std::vector<HostProductStatus> merge_host(std::vector<const BundleSummary*> list,
                                          const FleetFacts& fleet) {
    std::vector<HostProductStatus> out;
    if (list.empty()) return out;
    {
        // The same statement twice counts once.
        std::set<std::string> seen;
        std::vector<const BundleSummary*> unique;
        for (const auto* b : list)
            if (seen.insert(identity_of(*b)).second) unique.push_back(b);
        list = std::move(unique);
    }
    const MergeOptions& options = fleet.options();
    if (!options.as_of.empty()) {
        // A point in time: what had been scanned by then (host clocks; a ledger's import time
        // is not used, so bundles collected later still speak for their scan day). A bundle
        // whose time cannot be read stays (it makes the host inconclusive).
        const auto as_of = parse_time(options.as_of);
        if (!as_of) throw UsageError("'" + options.as_of + "' is not an RFC 3339 time");
        auto after = [&](const std::string& t) {
            auto v = parse_time(t);
            return v && *v > *as_of;
        };
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const BundleSummary* b) { return after(b->finished); }),
                   list.end());
        if (list.empty()) return out;
    }
    std::sort(list.begin(), list.end(), [](const BundleSummary* a, const BundleSummary* b) {
        return std::tie(a->finished, a->kit_id, a->sequence) <
               std::tie(b->finished, b->kit_id, b->sequence);
    });
    const std::string key = host_key(*list.back());
    std::vector<std::string> host_reasons = fleet.host_reasons(list);

    // Within one kit the sequence is authoritative; host clocks that disagree are suspect.
    std::map<std::string, std::uint64_t> last_seq;
    for (const auto* b : list) {
        auto& ls = last_seq[b->kit_id];
        if (b->sequence < ls)
            host_reasons.push_back("clock_disorder: kit " + b->kit_id + " sequence " +
                                   std::to_string(b->sequence) + " has a later scan time than " +
                                   std::to_string(ls));
        ls = std::max(ls, b->sequence);
    }

    // No bundle may be dated after its import or after the attestation.
    const std::string now_text = options.now.empty() ? trust::utc_now() : options.now;
    const auto now = parse_time(now_text);
    std::map<const BundleSummary*, std::int64_t> when;
    for (const auto* b : list) {
        auto t = parse_time(b->finished);
        if (!t) {
            host_reasons.push_back("clock_disorder: bundle " + name_of(*b) +
                                   " has no readable scan time ('" + b->finished + "')");
            continue;
        }
        when[b] = *t;
        if (!now || *t > *now)
            host_reasons.push_back("clock_future: bundle " + name_of(*b) + " finished at " +
                                   b->finished + ", after the attestation time " + now_text);
        if (!b->imported_at.empty()) {
            auto imported = parse_time(b->imported_at);
            if (!imported || *t > *imported)
                host_reasons.push_back("clock_future: bundle " + name_of(*b) + " finished at " +
                                       b->finished + ", after its import at " + b->imported_at);
        }
    }

    // Identity is continuity: an identifier never changes its value, and one that the same kind
    // of scan (live or offline) read before is still read.
    {
        std::map<std::string, std::vector<std::string>> values;           // key -> values in order
        std::map<bool, std::map<std::string, std::string>> seen_by_kind;  // key -> first bundle
        for (const auto* b : list) {
            auto ids = ids_of(*b);
            if (!b->hostname.empty()) ids["hostname"] = b->hostname;
            for (const auto& [k, v] : ids) {
                auto& vs = values[k];
                if (std::find(vs.begin(), vs.end(), v) == vs.end()) vs.push_back(v);
            }
            auto& seen = seen_by_kind[b->live];
            for (const auto& [k, first] : seen)
                if (!ids.count(k))
                    host_reasons.push_back("identity_changed: " + k + " read by the " +
                                           (b->live ? "live" : "offline") + " scan of bundle " +
                                           first + " is missing from bundle " + name_of(*b));
            for (const auto& [k, v] : ids) seen.emplace(k, name_of(*b));
        }
        for (const auto& [k, vs] : values) {
            if (vs.size() < 2) continue;
            std::string all;
            for (const auto& v : vs) all += (all.empty() ? "" : " -> ") + v;
            host_reasons.push_back("identity_changed: " + k + " " + all);
        }
    }
    sort_unique(host_reasons);

    std::map<std::string, std::string> products;  // id -> name
    for (const auto* b : list)
        if (b->predicate.manifests)
            for (const auto& m : *b->predicate.manifests)
                products.emplace(m.id.value_or(""), m.name.value_or(""));
    for (const auto& [product, name_hint] : products) {
        HostProductStatus st;
        st.host_key = key;
        st.hostname = list.back()->hostname;
        st.host_ids = list.back()->predicate.host.ids;
        st.product = product;
        std::vector<const BundleSummary*> evaluated;
        for (const auto* b : list)
            if (manifest_of(*b, product)) evaluated.push_back(b);
        const BundleSummary* latest = evaluated.back();
        st.first_scan = evaluated.front()->finished;
        st.latest_scan = latest->finished;
        const BundleSummary* last_finding = nullptr;
        std::vector<const BundleSummary*> found_in;
        for (const auto* b : evaluated)
            if (finds(*b, product)) {
                last_finding = b;
                found_in.push_back(b);
            }
        for (const auto* b : evaluated) {
            const auto* m = manifest_of(*b, product);
            st.manifest_versions.push_back({{"bundle_id", b->bundle_id},
                                            {"version", m->version.value_or("")},
                                            {"sha256", m->sha256.value_or("")}});
        }
        for (const auto& f : latest->findings)
            if (str(f, "product") == product) {
                if (st.product_name.empty()) st.product_name = str(f, "product_name");
                if (f.value("residue", false)) st.residue.push_back(f);
            }
        if (st.product_name.empty()) st.product_name = name_hint.empty() ? product : name_hint;

        const bool latest_present = last_finding == latest;
        const auto* cov = product_coverage(*latest, product);
        std::vector<std::string> reasons = host_reasons;
        if (!cov || !cov->is_sufficient()) {
            const auto gaps = cov ? list_or_empty(cov->gaps) : std::vector<std::string>{};
            std::string detail = gaps.empty() ? "no coverage record" : gaps[0];
            reasons.push_back("coverage_gap: " + detail);
        }
        // Bundles of different kits closer in time than the tolerance are not ordered by their
        // clocks: a finding and a clean scan among them leave the status open.
        std::vector<std::string> disorder;
        if (when.count(latest))
            for (const auto* b : evaluated) {
                if (b->kit_id == latest->kit_id || finds(*b, product) == latest_present ||
                    !when.count(b))
                    continue;
                std::int64_t d = when[latest] - when[b];
                if (d < 0) d = -d;
                if (d < options.clock_tolerance_s || d == 0)  // the same second: no order
                    disorder.push_back("clock_disorder: bundles " + name_of(*b) + " (kit " +
                                       b->kit_id + ") and " + name_of(*latest) + " (kit " +
                                       latest->kit_id + ") are " + std::to_string(d) +
                                       " s apart, within the clock tolerance of " +
                                       std::to_string(options.clock_tolerance_s) +
                                       " s, and disagree on " + product);
            }
        if (!latest_present) {
            // removed / absent need positive, complete evidence from the latest (clean) bundle.
            system_reasons(*latest, key, reasons);
            provenance_reasons(*latest, product, reasons);
            for (const auto* f : found_in) narrower_reasons(*f, *latest, product, reasons);
            std::vector<const BundleSummary*> earlier;
            for (const auto* b : list) {
                if (b == latest) break;
                earlier.push_back(b);
            }
            regressed_reasons(earlier, *latest, reasons);
        }
        reasons.insert(reasons.end(), disorder.begin(), disorder.end());
        sort_unique(reasons);

        if (latest_present) {
            st.status = disorder.empty() ? Status::present : Status::inconclusive;
            st.evidence.push_back(
                {latest->bundle_id, latest->statement_sha256, latest->sha256, "finding"});
        } else {
            if (last_finding)
                st.evidence.push_back({last_finding->bundle_id, last_finding->statement_sha256,
                                       last_finding->sha256, "finding"});
            st.evidence.push_back(
                {latest->bundle_id, latest->statement_sha256, latest->sha256, "latest"});
            if (!reasons.empty())
                st.status = Status::inconclusive;
            else
                st.status = last_finding ? Status::removed : Status::absent;
        }
        st.reasons = reasons;
        for (const auto& r : reasons) st.reason_codes.push_back(reason_code(r));
        sort_unique(st.reason_codes);

        // What was found, where, and the leads of the latest bundle.
        if (!found_in.empty()) {
            st.first_found = found_in.front()->finished;
            st.last_found = last_finding->finished;
            for (const auto& f : last_finding->findings)
                if (str(f, "product") == product && finding_proves_presence(f))
                    st.findings.push_back(finding_summary(f));
        }
        for (const auto& f : latest->findings)
            if (str(f, "product") == product && !finding_proves_presence(f) &&
                !f.value("residue", false))
                st.leads.push_back(finding_summary(f));
        for (const json* list_of : {&st.findings, &st.leads})
            for (const auto& f : *list_of)
                if (st.family.empty() && str(f, "family") != "unspecified")
                    st.family = str(f, "family");
        for (const auto& f : st.residue)
            if (st.family.empty() && !str(f, "family").empty()) st.family = str(f, "family");
        if (st.family.empty()) st.family = "unspecified";

        // When it became clean: the first clean bundle after the last finding that would
        // itself prove the status (every check above passes for it). Only for a sound status.
        if (st.status == Status::removed || st.status == Status::absent) {
            auto it = evaluated.begin();
            if (last_finding) it = std::find(evaluated.begin(), evaluated.end(), last_finding) + 1;
            for (; it != evaluated.end(); ++it) {
                const BundleSummary* c = *it;
                if (finds(*c, product)) continue;  // cannot happen after the last finding
                std::vector<std::string> why;
                if (!sufficient(*c, product)) why.push_back("coverage_gap");
                system_reasons(*c, key, why);
                provenance_reasons(*c, product, why);
                for (const auto* f : found_in) narrower_reasons(*f, *c, product, why);
                std::vector<const BundleSummary*> before;
                for (const auto* b : list) {
                    if (b == c) break;
                    before.push_back(b);
                }
                regressed_reasons(before, *c, why);
                if (!when.count(c)) why.push_back("clock_disorder");
                for (const auto* f : found_in) {
                    if (f->kit_id == c->kit_id || !when.count(f) || !when.count(c)) continue;
                    std::int64_t d = when[c] - when[f];
                    if (d < options.clock_tolerance_s || d <= 0) why.push_back("clock_disorder");
                }
                if (!why.empty()) continue;
                st.clean_since = c->finished;
                break;
            }
            if (st.clean_since.empty()) st.clean_since = latest->finished;  // not reached
            if (st.status == Status::removed) st.removed_at = st.clean_since;
        }
        out.push_back(std::move(st));
    }
    return out;
}

}  // namespace audit::attest
