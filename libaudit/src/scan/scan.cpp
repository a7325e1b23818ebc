#include "audit/scan/scan.h"

#include "audit/trust/certificate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "audit/error.h"
#include "audit/evidence/kit_state.h"
#include "audit/evidence/sbom.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
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

std::string jsonl(const std::vector<json>& lines) {
    std::string out;
    for (const auto& l : lines) out += l.dump() + "\n";
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
    std::map<std::string, const sources::SourceReport*> by_ecosystem;
    for (const auto& r : reports) by_ecosystem[r.ecosystem] = &r;
    std::set<std::string> gaps, not_examined;
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
            auto it = by_ecosystem.find(rule.ecosystem);
            if (it == by_ecosystem.end()) {
                not_examined.insert(rule.ecosystem);
            } else if (it->second->status == sources::SourceStatus::failed) {
                gaps.insert("source " + it->second->name + " failed: " + it->second->error);
            }
        } else {
            needs_walk = true;
            // Service and module rules are also evaluated on these sources' items.
            std::vector<std::string> names;
            if (rule.kind == manifest::RuleKind::service) names = {"systemd", "sysv"};
            if (rule.kind == manifest::RuleKind::module) names = {"kmod"};
            for (const auto& r : reports)
                if (r.status == sources::SourceStatus::failed &&
                    std::find(names.begin(), names.end(), r.name) != names.end())
                    gaps.insert("source " + r.name + " failed: " + r.error);
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

}  // namespace

HashScope scope_from_string(std::string_view s) {
    if (s == "matched") return HashScope::matched;
    if (s == "all") return HashScope::all;
    throw UsageError("unknown hash scope '" + std::string(s) + "' (matched or all)");
}

bool ScanResult::attention() const {
    return std::any_of(findings.begin(), findings.end(),
                       [](const match::Finding& f) { return f.proves_presence(); });
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
    evidence::KitStateLock lock(opt.out_dir, kit_id);
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

    // Walk and hash.
    std::vector<std::string> walk_roots = opt.scope == HashScope::all
                                              ? std::vector<std::string>{"/"}
                                              : match::walk_roots(opt.manifests);
    std::vector<fs::FileRecord> files;
    std::vector<std::string> failed_walk_roots;
    fs::WalkStats stats;
    fs::WalkOptions wopt;
    wopt.one_filesystem = opt.one_filesystem;
    for (const auto& wr : walk_roots) {
        say("walk " + wr);
        fs::walk(
            root, wr, wopt,
            [&](fs::FileRecord&& r) {
                if (r.path == wr && r.type == "dir" && !r.error.empty())
                    failed_walk_roots.push_back(wr);
                files.push_back(std::move(r));
            },
            stats);
    }

    // Files of matched packages are evidence too: hash what the package database lists.
    auto findings = match::match(opt.manifests, inventory, files);
    std::set<std::string> have;
    for (const auto& f : files) have.insert(f.path);
    std::set<std::string> package_paths;
    for (const auto& f : findings)
        for (const auto& rec : f.records)
            if (rec.contains("inventory"))
                for (const auto& item : inventory)
                    if (item.ecosystem == rec["inventory"].value("ecosystem", "") &&
                        item.name == rec["inventory"].value("name", ""))
                        for (const auto& p : item.paths)
                            if (!have.count(p)) package_paths.insert(p);
    if (!package_paths.empty()) {
        say("hash " + std::to_string(package_paths.size()) + " files of matched packages");
        for (const auto& p : package_paths) {
            auto r = fs::inspect(root, p, true);
            if (r.digests) stats.bytes_hashed += r.size;
            files.push_back(std::move(r));
        }
        findings = match::match(opt.manifests, inventory, files);
    }
    std::sort(files.begin(), files.end(),
              [](const fs::FileRecord& a, const fs::FileRecord& b) { return a.path < b.path; });
    files.erase(std::unique(files.begin(), files.end(),
                            [](const fs::FileRecord& a, const fs::FileRecord& b) {
                                return a.path == b.path;
                            }),
                files.end());
    Clock finished = now();
    log.push_back({{"time", finished.rfc3339}, {"event", "scan-end"}, {"files", files.size()}});

    // Coverage.
    json source_json = json::array();
    for (const auto& r : reports) source_json.push_back(r.to_json());
    json products = json::array();
    for (const auto& m : opt.manifests)
        products.push_back(product_coverage(m, reports, failed_walk_roots));
    result.coverage = {{"sources", source_json},
                       {"walk",
                        {{"scope", opt.scope == HashScope::all ? "all" : "matched"},
                         {"roots", walk_roots},
                         {"failed_roots", failed_walk_roots},
                         {"one_filesystem", opt.one_filesystem},
                         {"stats", stats.to_json()}}},
                       {"products", products}};

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
    std::vector<json> inv_lines, file_lines;
    for (const auto& i : inventory) inv_lines.push_back(i.to_json());
    for (const auto& f : files) file_lines.push_back(f.to_json());
    json manifests_json = json::array();
    for (const auto& m : opt.manifests)
        manifests_json.push_back(
            {{"id", m.id},
             {"name", m.name},
             {"version", m.version},
             {"file", m.file},
             {"sha256", m.sha256},
             {"sha384", m.sha384},
             {"signature", opt.manifest_signatures.count(m.id)
                               ? opt.manifest_signatures.at(m.id)
                               : json{{"status", "unsigned"}, {"signers", json::array()}}}});
    json sbom = evidence::cyclonedx(inventory, result.host, result.bundle_id, finished.rfc3339,
                                    AUDIT_VERSION);
    std::map<std::string, std::string> content = {
        {"host.json", result.host.to_json().dump(2) + "\n"},
        {"inventory.jsonl", jsonl(inv_lines)},
        {"files.jsonl", jsonl(file_lines)},
        {"findings.json", json(findings_json).dump(2) + "\n"},
        {"coverage.json", result.coverage.dump(2) + "\n"},
        {"sbom.cdx.json", sbom.dump(2) + "\n"},
        {"log.jsonl", jsonl(log)},
    };
    json coverage_summary = json::object();
    for (const auto& r : reports)
        coverage_summary["sources"][r.name] = sources::to_string(r.status);
    coverage_summary["products"] = products;
    coverage_summary["files"] = files.size();
    json predicate = {
        {"bundle_id", result.bundle_id},
        {"kit",
         {{"id", kit_id},
          {"sequence", result.sequence},
          {"previous_bundle_sha256",
           state.last_bundle_sha256.empty() ? json(nullptr) : json(state.last_bundle_sha256)},
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
          {"scope", opt.scope == HashScope::all ? "all" : "matched"}}},
        {"coverage", coverage_summary},
        {"findings",
         {{"count", findings.size()},
          {"present", std::vector<std::string>(present.begin(), present.end())},
          {"residue", std::vector<std::string>(residue.begin(), residue.end())},
          {"leads", std::vector<std::string>(leads.begin(), leads.end())}}},
    };
    say("write bundle");
    result.bundle =
        evidence::write_bundle(opt.out_dir, result.bundle_id + std::string(evidence::kBundleSuffix),
                               content, predicate, collector, finished.epoch);
    state.last_sequence = result.sequence;
    state.last_bundle_sha256 = result.bundle.sha256;
    state.last_bundle = result.bundle_id + std::string(evidence::kBundleSuffix);
    lock.save(state);

    result.findings = std::move(findings);
    result.summary = {{"bundle", result.bundle.path},
                      {"bundle_sha256", result.bundle.sha256},
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
                      {"files", files.size()}};
    return result;
}

}  // namespace audit::scan
