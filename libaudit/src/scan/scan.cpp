#include "audit/scan/scan.h"

#include "audit/trust/certificate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "audit/error.h"
#include "audit/evidence/chain_head.h"
#include "audit/evidence/kit_state.h"
#include "audit/evidence/sbom.h"
#include "audit/fs/file_evidence.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "audit/match/file_filter.h"
#include "audit/sources/source.h"

namespace audit::scan {

namespace {

using nlohmann::json;

struct Clock {
    std::string rfc3339;  // 2026-11-23T09:15:00Z
    std::string compact;  // 20261123T091500Z
    std::int64_t epoch = 0;
};

Clock now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char a[32], b[32];
    std::strftime(a, sizeof a, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::strftime(b, sizeof b, "%Y%m%dT%H%M%SZ", &tm);
    return {a, b, static_cast<std::int64_t>(t)};
}

// Text from the host (names, package fields) need not be UTF-8; JSON must be. Bytes that are
// not become U+FFFD here; files.jsonl keeps exact names in "path_hex" besides.
std::string dump(const json& j, int indent = -1) {
    return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string jsonl(const std::vector<json>& lines) {
    std::string out;
    for (const auto& l : lines) out += dump(l) + "\n";
    return out;
}

bool ensure_dir(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw IoError("cannot create output directory " + dir + ": " + std::strerror(errno));
    return true;
}

// Which coverage a manifest's rules need, judged against what this scan could examine.
json product_coverage(const manifest::Manifest& m,
                      const std::vector<sources::SourceReport>& reports,
                      const std::vector<std::string>& failed_walk_roots) {
    // A source may produce several ecosystems (a Windows hive: uninstall entries, MSI products,
    // registry keys), and several sources one ecosystem (machine and user hives).
    std::multimap<std::string, const sources::SourceReport*> by_ecosystem;
    for (const auto& r : reports) {
        by_ecosystem.emplace(r.ecosystem, &r);
        for (const auto& e : r.covers)
            if (e != r.ecosystem) by_ecosystem.emplace(e, &r);
    }
    std::set<std::string> gaps, not_examined;
    auto need = [&](const std::string& ecosystem, bool required) {
        auto [from, to] = by_ecosystem.equal_range(ecosystem);
        if (from == to && required) not_examined.insert(ecosystem);
        for (auto it = from; it != to; ++it)
            if (it->second->status == sources::SourceStatus::failed)
                gaps.insert("source " + it->second->name + " failed: " + it->second->error);
    };
    bool needs_walk = false;
    for (const auto& rule : m.rules) {
        if (rule.kind == manifest::RuleKind::package ||
            rule.kind == manifest::RuleKind::publisher) {
            if (rule.ecosystem.empty()) {
                for (const auto& r : reports)
                    if (r.status == sources::SourceStatus::failed)
                        gaps.insert("source " + r.name + " failed: " + r.error);
                continue;
            }
            need(rule.ecosystem, true);
        } else if (rule.kind == manifest::RuleKind::registry) {
            // Registry rules match every hive's keys: machine, user and SYSTEM hives.
            need("windows-registry", false);
            need("windows-service", false);
        } else if (rule.kind == manifest::RuleKind::pe_signer ||
                   rule.kind == manifest::RuleKind::pe_version) {
            need("pe", true);
        } else {
            // Services are unit files and, on Windows, the SYSTEM hive's services.
            if (rule.kind == manifest::RuleKind::service) need("windows-service", false);
            needs_walk = true;
            // Service and module rules are also evaluated on these sources' items.
            std::vector<std::string> names;
            if (rule.kind == manifest::RuleKind::service) names = {"systemd", "sysv"};
            if (rule.kind == manifest::RuleKind::module) names = {"kmod"};
            for (const auto& r : reports)
                if (r.status == sources::SourceStatus::failed &&
                    std::find(names.begin(), names.end(), r.name) != names.end())
                    gaps.insert("source " + r.name + " failed: " + r.error);
            // Service rules also match launchd jobs, so they need that source too.
            if (rule.kind == manifest::RuleKind::service) need("launchd", false);
        }
    }
    if (needs_walk)
        for (const auto& root : failed_walk_roots) gaps.insert("could not walk " + root);
    return {{"product", m.id},
            {"manifest_version", m.version},
            {"sufficient", gaps.empty()},
            {"gaps", std::vector<std::string>(gaps.begin(), gaps.end())},
            {"ecosystems_not_examined",
             std::vector<std::string>(not_examined.begin(), not_examined.end())}};
}

// What the scan established about the root as a whole (predicate coverage.system): the
// operating system, the package databases it uses that were read, the identifiers found, and
// every reason the root does not prove anything about a host (gaps, "code: detail").
json system_coverage(const host::HostIdentity& h,
                     const std::vector<sources::SourceReport>& reports) {
    static const std::map<std::string, std::vector<std::string>> kDatabases = {
        {"linux", {"dpkg", "rpm", "apk", "pacman"}},
        {"windows", {"windows-software"}},
        {"macos", {"macos-receipts", "macos-apps"}}};
    std::vector<std::string> databases, gaps;
    if (!h.not_a_system.empty()) gaps.push_back("not_a_system: " + h.not_a_system);
    if (auto it = kDatabases.find(h.os_family); it != kDatabases.end()) {
        bool failed = false;
        for (const auto& r : reports) {
            if (std::find(it->second.begin(), it->second.end(), r.name) == it->second.end())
                continue;
            if (r.status == sources::SourceStatus::ran) databases.push_back(r.name);
            if (r.status == sources::SourceStatus::failed) {
                failed = true;
                gaps.push_back("package_db_failed: " + r.name + ": " + r.error);
            }
        }
        if (databases.empty() && !failed && h.not_a_system.empty()) {
            std::string names;
            for (const auto& n : it->second) names += (names.empty() ? "" : ", ") + n;
            gaps.push_back("not_a_system: a " + h.os_family +
                           " root without a package database (none of " + names + " found)");
        }
    }
    std::vector<std::string> identifiers;
    const json ids = h.stable_ids();
    for (const auto& [key, value] : ids.items()) identifiers.push_back(key);
    if (identifiers.empty())
        gaps.push_back(
            "no_identity: no stable host identifier on the root (machine-id, DMI, root "
            "filesystem UUID, SSH host keys, Windows MachineGuid or SID, macOS hardware UUID); "
            "a hostname alone identifies no host");
    return {{"os", h.os_family},
            {"os_evidence", h.os_evidence},
            {"package_databases", databases},
            {"identifiers", identifiers},
            {"gaps", gaps}};
}

std::vector<std::string> rule_ids(const manifest::Manifest& m) {
    std::vector<std::string> ids;
    for (const auto& r : m.rules) ids.push_back(r.id);
    return ids;
}

}  // namespace

HashScope scope_from_string(std::string_view s) {
    if (s == "matched") return HashScope::matched;
    if (s == "packages") return HashScope::packages;
    if (s == "all") return HashScope::all;
    throw UsageError("unknown hash scope '" + std::string(s) + "' (matched, packages or all)");
}

const char* to_string(HashScope s) {
    switch (s) {
        case HashScope::matched:
            return "matched";
        case HashScope::packages:
            return "packages";
        case HashScope::all:
            return "all";
    }
    return "matched";
}

bool ScanResult::attention() const {
    if (std::any_of(findings.begin(), findings.end(),
                    [](const match::Finding& f) { return f.proves_presence(); }))
        return true;
    // A root that is not a whole, identified system shows nothing about a host.
    if (auto it = coverage.find("system"); it != coverage.end() && it->is_object())
        if (auto g = it->find("gaps"); g != it->end() && g->is_array() && !g->empty()) return true;
    // A scan that could not examine what a product needs cannot show its absence.
    if (auto it = coverage.find("products"); it != coverage.end() && it->is_array())
        for (const auto& p : *it)
            if (p.is_object() && p.value("sufficient", true) == false) return true;
    return false;
}

ScanResult run_scan(const ScanOptions& opt, const crypto::SigningKey& collector,
                    const trust::TrustRoot& trust) {
    auto say = [&](std::string_view line) {
        if (opt.progress) opt.progress(line);
    };
    const std::string& keyid = collector.identity().keyid;
    if (opt.collector_certificate.empty())
        throw UsageError("no collector certificate (audit-keys certify makes one)");
    const auto cert = trust::verify_certificate(trust, opt.collector_certificate);
    if (cert.collector.keyid != keyid)
        throw VerifyError("the collector certificate is for key " +
                          cert.collector.keyid.substr(0, 16) + ", not for the given key " +
                          keyid.substr(0, 16));
    if (!opt.kit_id.empty() && opt.kit_id != cert.kit_id)
        throw UsageError("--kit " + opt.kit_id + " differs from the certificate's kit " +
                         cert.kit_id);
    const std::string now_utc = trust::utc_now();
    if (now_utc < cert.not_before || now_utc >= cert.not_after)
        throw VerifyError("the collector certificate is valid " + cert.not_before + " .. " +
                          cert.not_after + ", not now (" + now_utc + ", host clock)");
    if (opt.manifests.empty()) throw UsageError("no product manifests to match against");

    fs::Root root(opt.root);
    ensure_dir(opt.out_dir);
    const std::string kit_id = cert.kit_id;
    std::optional<evidence::KitStateLock> out_dir_lock;
    if (!opt.chain_state) out_dir_lock.emplace(opt.out_dir, kit_id);
    const evidence::KitStateLock& lock = opt.chain_state ? *opt.chain_state : *out_dir_lock;
    if (lock.kit_id() != kit_id)
        throw UsageError("the sequence state " + lock.state_path() + " is of kit " + lock.kit_id() +
                         ", the certificate's kit is " + kit_id);
    evidence::KitState state = lock.load();
    state.kit_id = kit_id;

    std::vector<json> log;
    Clock started = now();
    log.push_back({{"time", started.rfc3339}, {"event", "scan-start"}, {"root", opt.root}});

    ScanResult result;
    result.host = host::identify(root);
    say("host " + result.host.label());

    // Sources.
    std::vector<InventoryItem> inventory;
    std::vector<sources::SourceReport> reports;
    for (const auto& source : sources::all_sources()) {
        say("source " + std::string(source->name()));
        auto report = source->collect(root, inventory);
        log.push_back({{"time", now().rfc3339}, {"event", "source"}, {"report", report.to_json()}});
        reports.push_back(std::move(report));
    }

    // Walk and hash: every record streams into a sorted files.jsonl on disk; only the records a
    // file rule can match stay in memory for the matcher.
    std::vector<std::string> walk_roots = opt.scope == HashScope::all
                                              ? std::vector<std::string>{"/"}
                                              : match::walk_roots(opt.manifests);
    const match::FileFilter filter(opt.manifests);
    fs::WalkOptions wopt;
    wopt.one_filesystem = opt.one_filesystem;
    wopt.digests = opt.digests;
    wopt.digests.add(filter.digests_needed());
    fs::FileEvidence files(root, opt.out_dir, wopt, opt.jobs,
                           [&](const fs::FileRecord& r) { return filter.may_match(r); });
    std::vector<std::string> failed_walk_roots;
    for (const auto& wr : walk_roots) say("walk " + wr);
    files.walk(walk_roots, failed_walk_roots);
    if (opt.scope == HashScope::packages) {
        std::set<std::string> listed;
        for (const auto& item : inventory) listed.insert(item.paths.begin(), item.paths.end());
        say("hash " + std::to_string(listed.size()) + " files the package databases list");
        files.inspect({listed.begin(), listed.end()});
    }

    // Files of matched packages are evidence too: hash what the package database lists.
    auto findings = match::match(opt.manifests, inventory, files.kept());
    std::set<std::string> have;
    for (const auto& f : files.kept()) have.insert(f.path);
    std::set<std::string> package_paths;
    for (const auto& f : findings)
        for (const auto& rec : f.records)
            if (rec.contains("inventory"))
                for (const auto& item : inventory)
                    if (item.ecosystem == rec["inventory"].value("ecosystem", "") &&
                        item.name == rec["inventory"].value("name", ""))
                        for (const auto& p : item.paths)
                            if (!have.count(p)) package_paths.insert(p);
    if (!package_paths.empty() && opt.scope != HashScope::packages) {
        say("hash " + std::to_string(package_paths.size()) + " files of matched packages");
        files.inspect({package_paths.begin(), package_paths.end()});
        findings = match::match(opt.manifests, inventory, files.kept());
    }
    say("sort file records");
    const std::string& files_jsonl = files.finish();
    const fs::WalkStats& stats = files.stats();
    Clock finished = now();
    log.push_back({{"time", finished.rfc3339},
                   {"event", "scan-end"},
                   {"files", files.lines()},
                   {"jobs", files.jobs()}});

    // Coverage.
    json source_json = json::array();
    for (const auto& r : reports) source_json.push_back(r.to_json());
    const json system = system_coverage(result.host, reports);
    json products = json::array();
    for (const auto& m : opt.manifests) {
        json p = product_coverage(m, reports, failed_walk_roots);
        // Any gap of the system makes every product's coverage insufficient.
        if (!system["gaps"].empty()) {
            std::set<std::string> gaps = p["gaps"].get<std::set<std::string>>();
            for (const auto& g : system["gaps"]) gaps.insert(g.get<std::string>());
            p["gaps"] = std::vector<std::string>(gaps.begin(), gaps.end());
            p["sufficient"] = false;
        }
        products.push_back(std::move(p));
    }
    const json walk = {{"scope", to_string(opt.scope)},
                       {"digests", wopt.digests.names()},
                       {"roots", walk_roots},
                       {"failed_roots", failed_walk_roots},
                       {"one_filesystem", opt.one_filesystem}};
    json walk_full = walk;
    walk_full["stats"] = stats.to_json();
    result.coverage = {
        {"sources", source_json}, {"system", system}, {"walk", walk_full}, {"products", products}};

    // Findings summary.
    std::set<std::string> present, residue, leads;
    for (const auto& f : findings) {
        if (f.proves_presence())
            present.insert(f.product);
        else if (f.residue)
            residue.insert(f.product);
        else
            leads.insert(f.product);
    }
    json findings_json = json::array();
    for (const auto& f : findings) findings_json.push_back(f.to_json());

    // Bundle.
    result.sequence = state.last_sequence + 1;
    result.bundle_id = result.host.label() + "_" + finished.compact + "_" + kit_id + "-" +
                       std::to_string(result.sequence);
    std::vector<json> inv_lines;
    for (const auto& i : inventory) inv_lines.push_back(i.to_json());
    json manifests_json = json::array();
    for (const auto& m : opt.manifests)
        manifests_json.push_back(
            {{"id", m.id},
             {"name", m.name},
             {"version", m.version},
             {"file", m.file},
             {"sha256", m.sha256},
             {"sha384", m.sha384},
             {"rules", rule_ids(m)},
             {"signature", opt.manifest_signatures.count(m.id)
                               ? opt.manifest_signatures.at(m.id)
                               : json{{"status", "unsigned"}, {"signers", json::array()}}}});
    json sbom = evidence::cyclonedx(inventory, result.host, result.bundle_id, finished.rfc3339,
                                    AUDIT_VERSION);
    std::map<std::string, std::string> content = {
        {"host.json", dump(result.host.to_json(), 2) + "\n"},
        {"inventory.jsonl", jsonl(inv_lines)},
        {"findings.json", dump(findings_json, 2) + "\n"},
        {"coverage.json", dump(result.coverage, 2) + "\n"},
        {"sbom.cdx.json", dump(sbom, 2) + "\n"},
        {"log.jsonl", jsonl(log)},
    };
    json coverage_summary = json::object();
    for (const auto& r : reports) {
        coverage_summary["sources"][r.name] = sources::to_string(r.status);
        coverage_summary["source_items"][r.name] = r.items;
    }
    coverage_summary["system"] = system;
    coverage_summary["walk"] = walk;
    coverage_summary["products"] = products;
    coverage_summary["files"] = files.lines();
    json predicate = {
        {"bundle_id", result.bundle_id},
        {"kit",
         {{"id", kit_id},
          {"sequence", result.sequence},
          {"previous_bundle_sha256",
           state.last_bundle_sha256.empty() ? json(nullptr) : json(state.last_bundle_sha256)},
          {"previous_statement_sha256",
           state.last_statement_sha256.empty() ? json(nullptr) : json(state.last_statement_sha256)},
          {"kit_manifest_sha256",
           opt.kit_manifest_sha256.empty() ? json(nullptr) : json(opt.kit_manifest_sha256)},
          {"self_check", opt.kit_check.is_object() ? opt.kit_check : json{{"status", "none"}}}}},
        {"host",
         {{"hostname", result.host.hostname},
          {"ids", result.host.stable_ids()},
          {"os", result.host.os_pretty_name},
          {"live", result.host.live}}},
        {"tool",
         {{"name", opt.tool_name}, {"version", AUDIT_VERSION}, {"sha256", opt.tool_sha256}}},
        {"collector_keyid", keyid},
        {"collector", {{"keyid", keyid}, {"certificate", json::parse(opt.collector_certificate)}}},
        {"trust_root", {{"version", trust.version}, {"sha256", trust.sha256}}},
        {"manifests", manifests_json},
        {"scan",
         {{"started", started.rfc3339},
          {"finished", finished.rfc3339},
          {"clock", "host"},
          {"root", opt.root},
          {"mode", result.host.live ? "live" : "offline"},
          {"scope", to_string(opt.scope)}}},
        {"sandbox", opt.confinement.is_null()
                        ? json{{"landlock", false}, {"reason", "not requested"}}
                        : opt.confinement},
        {"coverage", coverage_summary},
        {"findings",
         {{"count", findings.size()},
          {"present", std::vector<std::string>(present.begin(), present.end())},
          {"residue", std::vector<std::string>(residue.begin(), residue.end())},
          {"leads", std::vector<std::string>(leads.begin(), leads.end())}}},
    };
    say("write bundle");
    // The sequence number is reserved where the state lives before the bundle is linked: a
    // scan stopped in between is resolved by the next one (never the same number twice).
    state.pending_sequence = result.sequence;
    state.pending_dir = std::filesystem::absolute(opt.out_dir).lexically_normal().string();
    state.pending_bundle = result.bundle_id + std::string(evidence::kBundleSuffix);
    lock.save(state);
    result.bundle = evidence::write_bundle(
        opt.out_dir, result.bundle_id + std::string(evidence::kBundleSuffix), content,
        {{"files.jsonl", files_jsonl}}, predicate, collector, finished.epoch);
    // Order: bundle linked, head written, state saved. A crash between leaves a head one behind
    // (the chain reads as unclosed until the next scan of this kit writes the head again).
    state.last_sequence = result.sequence;
    state.last_bundle_sha256 = result.bundle.sha256;
    state.last_bundle = result.bundle_id + std::string(evidence::kBundleSuffix);
    state.last_statement_sha256 = result.bundle.statement_sha256;
    state.last_dir = state.pending_dir;
    state.pending_sequence = 0;
    state.pending_dir.clear();
    state.pending_bundle.clear();
    say("write chain head");
    evidence::ChainHead head;
    head.kit_id = kit_id;
    head.sequence = result.sequence;
    head.statement_sha256 = result.bundle.statement_sha256;
    head.bundle_sha256 = result.bundle.sha256;
    head.bundle_file = state.last_bundle;
    head.written = finished.rfc3339;
    // The bundle is complete and linked: a head that cannot be written (a full medium) does not
    // undo it. The chain reads as unclosed until the next scan of this kit writes its head.
    json head_path = nullptr, head_error = nullptr;
    try {
        head_path =
            evidence::write_chain_head(opt.out_dir, head, collector, opt.collector_certificate);
    } catch (const IoError& e) {
        head_error = e.what();
        std::cerr << "audit-scan: warning: the kit's chain head was not written (" << e.what()
                  << "); it stays unclosed until the next scan with this kit\n";
    }
    lock.save(state);

    result.findings = std::move(findings);
    result.summary = {{"bundle", result.bundle.path},
                      {"bundle_sha256", result.bundle.sha256},
                      {"statement_sha256", result.bundle.statement_sha256},
                      {"chain_head", head_path},
                      {"chain_head_error", head_error},
                      {"chain_state", lock.state_path()},
                      {"bundle_id", result.bundle_id},
                      {"kit", kit_id},
                      {"sequence", result.sequence},
                      {"host", result.host.to_json()},
                      {"present", predicate["findings"]["present"]},
                      {"residue", predicate["findings"]["residue"]},
                      {"leads", predicate["findings"]["leads"]},
                      {"findings", findings_json},
                      {"coverage", coverage_summary},
                      {"inventory_items", inventory.size()},
                      {"files", files.lines()}};
    return result;
}

}  // namespace audit::scan
