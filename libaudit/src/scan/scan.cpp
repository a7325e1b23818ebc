#include "audit/scan/scan.h"
#include "audit/scan/stages.h"

#include "audit/trust/certificate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/evidence/chain_head.h"
#include "audit/evidence/inventory_lines.h"
#include "audit/evidence/kit_state.h"
#include "audit/evidence/sbom.h"
#include "audit/fs/file_evidence.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "audit/input_file.h"
#include "audit/match/file_filter.h"
#include "audit/sources/source.h"
#ifdef _WIN32
#include "host/identity_live.h"
#endif

namespace audit::scan {

namespace {

using nlohmann::json;

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

}  // namespace

// Which coverage a manifest's rules need, judged against what this scan could examine.
json product_coverage(const manifest::Manifest& m,
                      const std::vector<sources::SourceReport>& reports,
                      const std::vector<std::string>& failed_walk_roots) {
    // Which sources a rule rests on is the source catalog's: package and publisher rules the
    // sources covering their ecosystem (several for one ecosystem: machine and user hives; all of
    // them when the rule names none), other kinds the sources that answer that kind.
    std::set<std::string> gaps, not_examined;
    bool needs_walk = false;
    for (const auto& rule : m.rules) {
        if (rule.kind == manifest::RuleKind::all_of) continue;  // its parts are rules of their own
        const bool by_ecosystem =
            rule.kind == manifest::RuleKind::package || rule.kind == manifest::RuleKind::publisher;
        const std::string_view kind = manifest::to_string(rule.kind);
        // Path, hash, service and module rules are answered by the walk too.
        const bool walked = !by_ecosystem && rule.kind != manifest::RuleKind::registry &&
                            rule.kind != manifest::RuleKind::pe_signer &&
                            rule.kind != manifest::RuleKind::pe_version &&
                            rule.kind != manifest::RuleKind::macho_team &&
                            rule.kind != manifest::RuleKind::certificate;
        needs_walk = needs_walk || walked;
        bool examined = false;
        for (const auto& r : reports) {
            const catalog::Source* s = catalog::find_source(r.name);
            bool rests_on = false;
            if (!by_ecosystem)
                rests_on = s && catalog::answers(*s, kind);
            else if (rule.ecosystem.empty())
                rests_on = true;
            else
                rests_on = s ? catalog::covers(*s, rule.ecosystem) : r.ecosystem == rule.ecosystem;
            if (!rests_on) continue;
            examined = true;
            if (r.status == sources::SourceStatus::failed)
                gaps.insert("source " + r.name + " failed: " + r.error);
        }
        // A rule no source examined and no walk answers: its ecosystem was not looked at.
        if (!examined && by_ecosystem && !rule.ecosystem.empty())
            not_examined.insert(rule.ecosystem);
        if (!examined && !by_ecosystem && !walked)
            for (const auto& s : catalog::sources())
                if (catalog::answers(s, kind) && !s.ecosystems.empty())
                    not_examined.insert(std::string(s.ecosystems[0]->name));
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
evidence::SystemCoverage system_coverage(const host::HostIdentity& h,
                                         const std::vector<sources::SourceReport>& reports) {
    std::vector<std::string> databases, gaps;
    if (!h.not_a_system.empty()) gaps.push_back("not_a_system: " + h.not_a_system);
    if (const auto known = catalog::system_databases(h.os_family);
        !h.os_family.empty() && !known.empty()) {
        bool failed = false;
        for (const auto& r : reports) {
            if (std::find(known.begin(), known.end(), r.name) == known.end()) continue;
            if (r.status == sources::SourceStatus::ran) databases.push_back(r.name);
            if (r.status == sources::SourceStatus::failed) {
                failed = true;
                gaps.push_back("package_db_failed: " + r.name + ": " + r.error);
            }
        }
        if (databases.empty() && !failed && h.not_a_system.empty()) {
            std::string names;
            for (const auto& n : known) names += (names.empty() ? "" : ", ") + n;
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
    evidence::SystemCoverage system;
    system.os = h.os_family;
    system.os_evidence = h.os_evidence;
    system.package_databases = std::move(databases);
    system.identifiers = std::move(identifiers);
    system.gaps = std::move(gaps);
    return system;
}

namespace {

// Capabilities that decide what a scan can read: files and directories of other users (DAC),
// other users' /proc/PID/exe (ptrace).
struct NamedCap {
    int bit;
    const char* name;
};
constexpr NamedCap kReadCaps[] = {{1, "cap_dac_override"},
                                  {2, "cap_dac_read_search"},
                                  {19, "cap_sys_ptrace"},
                                  {21, "cap_sys_admin"}};

// Bound on the running system's small text files read here (/etc/passwd, /proc/self/status).
constexpr std::size_t kMaxSystemFile = 16u << 20;

// The account name of uid in the running system's /etc/passwd, "" when none.
[[maybe_unused]] std::string passwd_name(std::uint64_t uid) {
    // The running system's account file, bounded: an unreadable or oversized one names nobody.
    std::optional<std::string> text;
    try {
        text = read_input_file_if_exists("/etc/passwd", kMaxSystemFile, "account file");
    } catch (const Error&) {
    }
    if (!text || text->size() > kMaxSystemFile) return "";
    std::istringstream f(*text);
    std::string line;
    for (int n = 0; n < 100000 && std::getline(f, line); ++n) {
        const auto a = line.find(':'), b = line.find(':', a == std::string::npos ? a : a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const auto c = line.find(':', b + 1);
        if (c != std::string::npos && line.substr(b + 1, c - b - 1) == std::to_string(uid))
            return line.substr(0, a);
    }
    return "";
}

// A walk record whose error is the kernel refusing access (not a fault of the medium).
bool permission_denied(const fs::FileRecord& r) {
    if (r.error.empty()) return false;
    static const std::string eacces = std::strerror(EACCES), eperm = std::strerror(EPERM);
    return r.error.find(eacces) != std::string::npos || r.error.find(eperm) != std::string::npos;
}

// Rules judged on what the walk sees (paths, digests, unit files, module files).
bool needs_walk(const manifest::Manifest& m) {
    return std::any_of(m.rules.begin(), m.rules.end(), [](const manifest::Rule& r) {
        return r.kind == manifest::RuleKind::path || r.kind == manifest::RuleKind::file_hash ||
               r.kind == manifest::RuleKind::service || r.kind == manifest::RuleKind::module;
    });
}

// Package or publisher rules on running processes (ecosystem "process").
bool needs_processes(const manifest::Manifest& m) {
    return std::any_of(m.rules.begin(), m.rules.end(),
                       [](const manifest::Rule& r) { return r.ecosystem == "process"; });
}

// Command lines carry passwords and tokens, and bundles travel: keep them (redacted by the live
// source) only for processes a rule matched, by the process item or by its executable's file.
void keep_matched_cmdlines(std::vector<InventoryItem>& inventory,
                           const std::vector<match::Finding>& findings, bool record) {
    std::set<std::pair<std::string, std::string>> items;  // (name, source)
    std::set<std::string> files;
    for (const auto& f : findings) {
        for (const std::size_t i : f.items)
            if (inventory[i].ecosystem == "process")
                items.insert({inventory[i].name, inventory[i].source});
        for (const auto& rec : f.records)
            if (auto fi = rec.find("file"); fi != rec.end() && fi->is_object())
                files.insert(fi->value("path", ""));
    }
    for (auto& item : inventory) {
        if (item.ecosystem != "process" || !item.extra.contains("cmdlines")) continue;
        bool matched = items.count({item.name, item.source}) > 0;
        for (const auto& p : item.paths) matched = matched || files.count(p) > 0;
        if (!record || !matched) item.extra.erase("cmdlines");
    }
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

std::string describe_user(const json& user) {
    if (!user.is_object()) return "an unrecorded user";
    const auto name = user.find("name"), euid = user.find("euid"),
               all = user.find("reads_everything");
    std::string out =
        (name != user.end() && name->is_string() ? name->get<std::string>() + " " : "") + "(uid " +
        (euid != user.end() && euid->is_number_unsigned()
             ? std::to_string(euid->get<std::uint64_t>())
             : std::string("?")) +
        ")";
    if (all == user.end() || !all->is_boolean() || !all->get<bool>())
        out += " without cap_dac_read_search";
    return out;
}

json effective_user() {
#ifdef _WIN32
    // Account, elevation and SeBackupPrivilege (host/identity_live.h): no uid on Windows.
    return host::windows_scan_user();
#else
    std::uint64_t uid = ::getuid(), euid = ::geteuid();
    json cap_eff = nullptr;
    std::uint64_t caps = 0;
    std::string status;
    try {
        status = read_input_file("/proc/self/status", kMaxSystemFile, "process status");
    } catch (const Error&) {
        // no /proc: the getuid() values stay
    }
    if (status.size() > kMaxSystemFile) status.clear();
    std::istringstream f(status);
    std::string line;
    for (int n = 0; n < 1000 && std::getline(f, line); ++n) {
        try {
            if (line.rfind("Uid:", 0) == 0) {
                std::size_t used = 0;
                uid = std::stoull(line.substr(4), &used);
                euid = std::stoull(line.substr(4 + used));
            } else if (line.rfind("CapEff:", 0) == 0) {
                const auto from = line.find_first_not_of(" \t", 7);
                const std::string hex = from == std::string::npos ? "" : line.substr(from);
                caps = std::stoull(hex, nullptr, 16);
                cap_eff = hex;
            }
        } catch (const std::exception&) {
            // a line not as the kernel writes it: the getuid() values stay
        }
    }
    if (cap_eff.is_null() && euid == 0) caps = ~std::uint64_t{0};  // no /proc: root reads all
    json names = json::array();
    for (const auto& c : kReadCaps)
        if (caps & (std::uint64_t{1} << c.bit)) names.push_back(c.name);
    const bool reads_all = (caps & (std::uint64_t{1} << 1)) || (caps & (std::uint64_t{1} << 2));
    const std::string name = passwd_name(euid);
    return {{"uid", uid},
            {"euid", euid},
            {"name", name.empty() ? json(nullptr) : json(name)},
            {"cap_eff", cap_eff},
            {"capabilities", names},
            {"reads_everything", reads_all}};
#endif
}

json AccessReport::to_json() const {
    return {{"user", user},
            {"permission_denied", permission_denied},
            {"examples", examples},
            {"processes", processes.empty() ? json(nullptr) : json(processes)}};
}

bool ScanResult::attention() const {
    if (std::any_of(findings.begin(), findings.end(),
                    [](const match::Finding& f) { return f.proves_presence(); }))
        return true;
    // A scan without its coverage summary shows nothing (the scan always writes one).
    if (!predicate.coverage) return true;
    const auto& cov = *predicate.coverage;
    // A root that is not a whole, identified system shows nothing about a host.
    if (cov.system && cov.system->gaps && !cov.system->gaps->empty()) return true;
    // A scan that could not examine what a product needs cannot show its absence.
    if (cov.products)
        for (const auto& p : *cov.products)
            if (!p.is_sufficient()) return true;
    return false;
}

std::vector<std::string> ScanResult::system_gaps() const {
    if (!predicate.coverage || !predicate.coverage->system) return {};
    return predicate.coverage->system->gaps.value_or(std::vector<std::string>{});
}

json ScanResult::to_json() const {
    json found = json::array();
    for (const auto& f : findings) found.push_back(f.to_json());
    json out = {
        {"bundle", bundle.path},
        {"bundle_sha256", bundle.sha256},
        {"statement_sha256", bundle.statement_sha256},
        {"chain_head", chain_head.empty() ? json(nullptr) : json(chain_head)},
        {"chain_head_error", chain_head_error.empty() ? json(nullptr) : json(chain_head_error)},
        {"chain_state", chain_state},
        {"bundle_id", bundle_id},
        {"kit", kit_id},
        {"sequence", sequence},
        {"host", host.to_json()},
        {"present", predicate.findings.present},
        {"residue", predicate.findings.residue},
        {"leads", predicate.findings.leads},
        {"findings", found},
        {"coverage", predicate.coverage ? predicate.coverage->to_json() : json(nullptr)},
        {"inventory_items", inventory_items},
        {"files", files}};
    if (!kit_check.is_null()) out["kit_check"] = kit_check;
    return out;
}

// --- the stages (audit/scan/stages.h) ----------------------------------------------------------

ScanClock ScanClock::now() {
    const std::int64_t t = core::epoch_now();
    return {core::format_utc(t), core::format_utc_compact(t), t};
}

Meter::Meter(const ScanOptions& opt)
    : progress_(opt.progress),
      interval_(std::chrono::milliseconds(opt.progress_interval_ms)),
      start_(std::chrono::steady_clock::now()) {}

void Meter::phase(std::string name, std::string detail) {
    if (!progress_) return;
    std::lock_guard lk(m_);
    phase_ = std::move(name);
    detail_ = std::move(detail);
    emit();
}

void Meter::record(const fs::FileRecord& r) {
    files_.fetch_add(1, std::memory_order_relaxed);
    if (r.digests) bytes_.fetch_add(r.size, std::memory_order_relaxed);
    if (!progress_) return;
    std::unique_lock lk(m_, std::try_to_lock);
    if (!lk.owns_lock() || std::chrono::steady_clock::now() < next_) return;
    emit();
}

void Meter::emit() {
    const auto now = std::chrono::steady_clock::now();
    next_ = now + interval_;
    Progress p;
    p.phase = phase_;
    p.detail = detail_;
    p.files = files_.load(std::memory_order_relaxed);
    p.bytes = bytes_.load(std::memory_order_relaxed);
    p.seconds = std::chrono::duration<double>(now - start_).count();
    progress_(p);
}

void Denied::add(const fs::FileRecord& r) {
    std::lock_guard lk(m);
    ++count;
    if (examples.size() < 10) examples.push_back(r.path);
}

Collected collect(const fs::Root& root, const ScanOptions& opt, Meter& meter, ScanLog& log) {
    Collected c;
    for (const auto& source : sources::all_sources()) {
        meter.phase("sources", std::string(source->name()));
        sources::SourceReport report;
        if (opt.live && source->name() == opt.live->first.name) {
            report = opt.live->first;
            c.inventory.insert(c.inventory.end(), opt.live->second.begin(), opt.live->second.end());
        } else {
            report = source->collect(root, c.inventory);
        }
        log.push_back({{"time", ScanClock::now().rfc3339},
                       {"event", "source"},
                       {"report", report.to_json()}});
        c.reports.push_back(std::move(report));
    }
    return c;
}

std::vector<std::string> plan_walk(const fs::Root& root, const ScanOptions& opt,
                                   bool windows_root) {
    // NTFS compares names without letter case: on a Windows root path rules do too, and each
    // level of their globs is looked up on the disk to find what to walk.
    std::vector<std::string> roots =
        opt.scope == HashScope::all
            ? std::vector<std::string>{"/"}
            : match::plan_walk_roots(
                  opt.manifests, [&](const std::string& dir) { return root.list_dir(dir); },
                  windows_root);
#ifdef _WIN32
    // A live Windows: every other fixed drive too, as "/X:" (core/drive_path.h), planned the same
    // way; a drive that cannot be listed is walked all the same, so that the walk records it as
    // failed (coverage: "could not walk /X:"), never skipped.
    if (root.is_live()) {
        const auto drives = host::windows_fixed_drives();
        for (std::size_t i = 1; i < drives.size(); ++i) {
            const std::string top = "/" + drives[i];
            bool listable = false;
            try {
                listable = root.list_dir(top).has_value();
            } catch (const Error&) {
            }
            if (!listable || opt.scope == HashScope::all) {
                roots.push_back(top);
                continue;
            }
            const auto planned = match::plan_walk_roots(
                opt.manifests,
                [&](const std::string& dir) { return root.list_dir(dir == "/" ? top : top + dir); },
                windows_root);
            for (const auto& r : planned) roots.push_back(r == "/" ? top : top + r);
        }
    }
#endif
    return roots;
}

ScanRules::ScanRules(const std::vector<manifest::Manifest>& manifests, bool windows_root)
    : rules(manifests, match::MatchOptions{windows_root}), filter(rules) {}

Walked walk(const fs::Root& root, const ScanOptions& opt, std::vector<std::string> roots,
            const ScanRules& rules, const Collected& collected, Meter& meter) {
    // Every record streams into a sorted files.jsonl on disk; only the records a file rule can
    // match stay in memory for the matcher.
    Walked w;
    w.roots = std::move(roots);
    fs::WalkOptions wopt;
    wopt.one_filesystem = opt.one_filesystem;
    wopt.io = opt.io;
    wopt.digests = opt.digests;
    wopt.digests.add(rules.filter.digests_needed());
    w.digests = wopt.digests;
    Denied& denied = *w.denied;
    const match::FileFilter& filter = rules.filter;
    w.files = std::make_unique<fs::FileEvidence>(
        root, opt.out_dir, wopt, opt.jobs, [&denied, &filter, &meter](const fs::FileRecord& r) {
            meter.record(r);
            if (permission_denied(r)) denied.add(r);
            return filter.may_match(r);
        });
    {
        std::string text;
        for (const auto& wr : w.roots) text += (text.empty() ? "" : " ") + wr;
        meter.phase("walk", text);
    }
    w.files->walk(w.roots, w.failed_roots);
    if (opt.scope == HashScope::packages) {
        std::set<std::string> listed;
        for (const auto& item : collected.inventory)
            listed.insert(item.paths.begin(), item.paths.end());
        meter.phase("hash", std::to_string(listed.size()) + " files the package databases list");
        w.files->inspect({listed.begin(), listed.end()});
    }
    return w;
}

std::vector<match::Finding> match(const ScanOptions& opt, const ScanRules& rules,
                                  const Collected& collected, Walked& walked, Meter& meter) {
    meter.phase("match");
    const auto& inventory = collected.inventory;
    auto findings = match::match(rules.rules, inventory, walked.files->kept());
    // Files of matched packages are evidence too: hash what the package database lists for
    // every item of a matched item's ecosystem and name.
    std::set<std::pair<std::string, std::string>> matched;  // (ecosystem, name)
    for (const auto& f : findings)
        for (const std::size_t i : f.items)
            matched.insert({inventory[i].ecosystem, inventory[i].name});
    std::set<std::string> have;
    for (const auto& f : walked.files->kept()) have.insert(f.path);
    std::set<std::string> package_paths;
    for (const auto& item : inventory)
        if (matched.count({item.ecosystem, item.name}))
            for (const auto& p : item.paths)
                if (!have.count(p)) package_paths.insert(p);
    if (!package_paths.empty() && opt.scope != HashScope::packages) {
        meter.phase("hash", std::to_string(package_paths.size()) + " files of matched packages");
        walked.files->inspect({package_paths.begin(), package_paths.end()});
        meter.phase("match");
        findings = match::match(rules.rules, inventory, walked.files->kept());
    }
    return findings;
}

Coverage coverage(const ScanOptions& opt, const host::HostIdentity& host,
                  const Collected& collected, const Walked& walked) {
    const auto& reports = collected.reports;
    Denied& denied = *walked.denied;
    json source_json = json::array();
    for (const auto& r : reports) source_json.push_back(r.to_json());
    const evidence::SystemCoverage system = system_coverage(host, reports);
    // What the kernel refused this user: entries of the walk, other users' processes.
    std::sort(denied.examples.begin(), denied.examples.end());
    std::string processes_denied;
    for (const auto& r : reports)
        if (r.name == "live")
            for (const auto& w : r.warnings)
                if (w.rfind("permission_denied: ", 0) == 0) processes_denied = w;
    const json processes = processes_denied.empty() ? json(nullptr) : json(processes_denied);
    AccessReport access;
    access.user = opt.user;
    access.permission_denied = denied.count;
    access.examples = denied.examples;
    access.processes = processes_denied;
    std::vector<evidence::ProductCoverage> products;
    for (const auto& m : opt.manifests) {
        auto p =
            evidence::ProductCoverage::from_json(product_coverage(m, reports, walked.failed_roots));
        // An entry the scan could not read may be the product: no absence can rest on that walk.
        std::set<std::string> refused;
        if (denied.count > 0 && needs_walk(m))
            refused.insert("permission_denied: " + std::to_string(denied.count) +
                           " entries of the walk could not be read by " + describe_user(opt.user) +
                           " (e.g. " + denied.examples.front() + ")");
        if (!processes_denied.empty() && needs_processes(m))
            refused.insert(processes_denied + " by " + describe_user(opt.user));
        if (!refused.empty()) p.add_gaps({refused.begin(), refused.end()});
        // Any gap of the system makes every product's coverage insufficient.
        if (!system.gaps->empty()) p.add_gaps(*system.gaps);
        products.push_back(std::move(p));
    }
    evidence::WalkCoverage walk_cov;
    walk_cov.scope = to_string(opt.scope);
    walk_cov.digests = walked.digests.names();
    walk_cov.roots = walked.roots;
    walk_cov.failed_roots = walked.failed_roots;
    walk_cov.one_filesystem = opt.one_filesystem;
    if (!walked.drives.empty()) walk_cov.extra["drives"] = walked.drives;

    Coverage c;
    json products_json = json::array();
    for (const auto& p : products) products_json.push_back(p.to_json());
    json walk_full = walk_cov.to_json();
    walk_full["stats"] = walked.files->stats().to_json();
    c.file = {{"sources", source_json},    {"system", system.to_json()},
              {"walk", walk_full},         {"access", access.to_json()},
              {"products", products_json}, {"not_examined", evidence::not_examined_json()}};

    c.access = std::move(access);
    auto& summary = c.summary;
    if (!reports.empty()) {
        summary.sources.emplace();
        summary.source_items.emplace();
        for (const auto& r : reports) {
            (*summary.sources)[r.name] = sources::to_string(r.status);
            (*summary.source_items)[r.name] = static_cast<std::int64_t>(r.items);
        }
    }
    summary.system = system;
    summary.walk = walk_cov;
    summary.access.emplace();
    summary.access->permission_denied = denied.count;
    summary.access->processes = processes;
    summary.products = std::move(products);
    summary.not_examined = evidence::not_examined_json();
    summary.files = walked.files->lines();
    return c;
}

Assembled assemble(const ScanOptions& opt, const std::string& collector_keyid,
                   const trust::TrustRoot& trust, const Chain& chain,
                   const host::HostIdentity& host, const ScanClock& started,
                   const ScanClock& finished, Collected& collected,
                   const std::vector<match::Finding>& findings, const Coverage& cov,
                   const ScanLog& log) {
    Assembled a;
    a.bundle_id = host.label() + "_" + finished.compact + "_" + chain.kit_id + "-" +
                  std::to_string(chain.sequence);
    auto& inventory = collected.inventory;
    keep_matched_cmdlines(inventory, findings, opt.record_cmdlines);

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

    // Bundle format v3: a package's file list only for the items a finding names (the files of
    // those packages were hashed: scan::match); the SBOM without indentation.
    evidence::MatchedItems matched_items;
    for (const auto& f : findings)
        for (const std::size_t i : f.items)
            matched_items.insert({inventory[i].ecosystem, inventory[i].name});
    json sbom = evidence::cyclonedx(inventory, host, a.bundle_id, finished.rfc3339, AUDIT_VERSION);
    a.content = {
        {"host.json", dump(host.to_json(), 2) + "\n"},
        {"inventory.jsonl", evidence::inventory_jsonl(inventory, matched_items)},
        {"findings.json", dump(findings_json, 2) + "\n"},
        {"coverage.json", dump(cov.file, 2) + "\n"},
        {"sbom.cdx.json", dump(sbom) + "\n"},
        {"log.jsonl", jsonl(log)},
    };

    evidence::Predicate& p = a.predicate;
    p.bundle_id = a.bundle_id;
    const evidence::KitState& state = chain.state;
    auto nullable = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    p.kit.id = chain.kit_id;
    p.kit.sequence = chain.sequence;
    if (!state.last_bundle_sha256.empty()) p.kit.previous_bundle_sha256 = state.last_bundle_sha256;
    p.kit.has_previous_statement = true;
    if (!state.last_statement_sha256.empty())
        p.kit.previous_statement_sha256 = state.last_statement_sha256;
    p.kit.kit_manifest_sha256 = nullable(opt.kit_manifest_sha256);
    p.kit.self_check = opt.kit_check.is_object() ? opt.kit_check : json{{"status", "none"}};
    p.host = evidence::HostRecord::of(host);
    p.tool = {{"name", opt.tool_name}, {"version", AUDIT_VERSION}, {"sha256", opt.tool_sha256}};
    p.collector_keyid = collector_keyid;
    p.collector = {{"keyid", collector_keyid},
                   {"certificate", json::parse(opt.collector_certificate)}};
    p.trust_root = {{"version", trust.version}, {"sha256", trust.sha256}};
    p.manifests.emplace();
    for (const auto& m : opt.manifests) {
        evidence::ManifestRecord r;
        r.id = m.id;
        r.name = m.name;
        r.version = m.version;
        r.file = m.file;
        r.sha256 = m.sha256;
        r.sha384 = m.sha384;
        r.rules = rule_ids(m);
        r.signature = opt.manifest_signatures.count(m.id)
                          ? opt.manifest_signatures.at(m.id)
                          : json{{"status", "unsigned"}, {"signers", json::array()}};
        p.manifests->push_back(std::move(r));
    }
    p.scan.started = started.rfc3339;
    p.scan.finished = finished.rfc3339;
    p.scan.clock = "host";
    p.scan.root = opt.root;
    p.scan.mode = host.live ? "live" : "offline";
    p.scan.scope = to_string(opt.scope);
    p.scan.user = opt.user;
    p.sandbox = opt.confinement.is_null() ? json{{"landlock", false}, {"reason", "not requested"}}
                                          : opt.confinement;
    p.coverage = cov.summary;
    p.findings.count = findings.size();
    p.findings.present.assign(present.begin(), present.end());
    p.findings.residue.assign(residue.begin(), residue.end());
    p.findings.leads.assign(leads.begin(), leads.end());
    return a;
}

Written write(const ScanOptions& opt, const crypto::SigningKey& collector,
              const evidence::KitStateLock& lock, evidence::KitState& state,
              const Assembled& assembled, const std::string& files_jsonl, const ScanClock& finished,
              Meter& meter) {
    const std::uint64_t sequence = assembled.predicate.kit.sequence;
    const std::string& kit_id = assembled.predicate.kit.id;
    const std::string file_name = assembled.bundle_id + std::string(evidence::kBundleSuffix);
    meter.phase("write", "bundle");
    // The sequence number is reserved where the state lives before the bundle is linked: a
    // scan stopped in between is resolved by the next one (never the same number twice).
    state.pending_sequence = sequence;
    state.pending_dir = std::filesystem::absolute(opt.out_dir).lexically_normal().string();
    state.pending_bundle = file_name;
    lock.save(state);
    Written w;
    w.bundle = evidence::write_bundle(opt.out_dir, file_name, assembled.content,
                                      {{"files.jsonl", files_jsonl}}, assembled.predicate.to_json(),
                                      collector, finished.epoch);
    // Order: bundle linked, head written, state saved. A crash between leaves a head one behind
    // (the chain reads as unclosed until the next scan of this kit writes the head again).
    state.last_sequence = sequence;
    state.last_bundle_sha256 = w.bundle.sha256;
    state.last_bundle = file_name;
    state.last_statement_sha256 = w.bundle.statement_sha256;
    state.last_dir = state.pending_dir;
    state.pending_sequence = 0;
    state.pending_dir.clear();
    state.pending_bundle.clear();
    meter.phase("write", "chain head");
    evidence::ChainHead head;
    head.kit_id = kit_id;
    head.sequence = sequence;
    head.statement_sha256 = w.bundle.statement_sha256;
    head.bundle_sha256 = w.bundle.sha256;
    head.bundle_file = state.last_bundle;
    head.written = finished.rfc3339;
    // The bundle is complete and linked: a head that cannot be written (a full medium) does not
    // undo it. The chain reads as unclosed until the next scan of this kit writes its head.
    try {
        w.head_path =
            evidence::write_chain_head(opt.out_dir, head, collector, opt.collector_certificate);
    } catch (const IoError& e) {
        w.head_error = e.what();
        std::cerr << "audit-scan: warning: the kit's chain head was not written (" << e.what()
                  << "); it stays unclosed until the next scan with this kit\n";
    }
    lock.save(state);
    return w;
}

namespace {

// The collector key, its certificate and the manifests, checked before anything is read;
// returns the certificate's kit.
std::string preflight(const ScanOptions& opt, const crypto::SigningKey& collector,
                      const trust::TrustRoot& trust) {
    const std::string& keyid = collector.identity().keyid;
    if (opt.collector_certificate.empty())
        throw UsageError("no collector certificate (audit-keys certify makes one)");
    // A key of another role is the operator's mistake (exit 2), not a failed verification.
    for (const auto& [role, spec] : trust.roles)
        if (role != "collector" &&
            std::find(spec.keyids.begin(), spec.keyids.end(), keyid) != spec.keyids.end())
            throw UsageError("key " + keyid.substr(0, 16) + " is the trust root's " + role +
                             " key, not a collector key");
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
    return cert.kit_id;
}

}  // namespace

ScanResult run_scan(const ScanOptions& opt, const crypto::SigningKey& collector,
                    const trust::TrustRoot& trust) {
    Meter meter(opt);
    const std::string kit_id = preflight(opt, collector, trust);

    fs::Root root(opt.root);
    ensure_dir(opt.out_dir);
    std::optional<evidence::KitStateLock> out_dir_lock;
    if (!opt.chain_state) out_dir_lock.emplace(opt.out_dir, kit_id);
    const evidence::KitStateLock& lock = opt.chain_state ? *opt.chain_state : *out_dir_lock;
    if (lock.kit_id() != kit_id)
        throw UsageError("the sequence state " + lock.state_path() + " is of kit " + lock.kit_id() +
                         ", the certificate's kit is " + kit_id);
    evidence::KitState state = lock.load();
    state.kit_id = kit_id;

    ScanLog log;
    const ScanClock started = ScanClock::now();
    log.push_back({{"time", started.rfc3339}, {"event", "scan-start"}, {"root", opt.root}});

    ScanResult result;
    result.host = host::identify(root);
    const bool windows_root = result.host.os_family == "windows";

    Collected collected = collect(root, opt, meter, log);
    const ScanRules rules(opt.manifests, windows_root);
    Walked walked = walk(root, opt, plan_walk(root, opt, windows_root), rules, collected, meter);
#ifdef _WIN32
    if (root.is_live()) walked.drives = host::windows_fixed_drives();
#endif
    auto findings = match(opt, rules, collected, walked, meter);
    meter.phase("write", "sort file records");
    const std::string& files_jsonl = walked.files->finish();
    const ScanClock finished = ScanClock::now();
    log.push_back({{"time", finished.rfc3339},
                   {"event", "scan-end"},
                   {"files", walked.files->lines()},
                   {"jobs", walked.files->jobs()}});

    const Coverage cov = coverage(opt, result.host, collected, walked);
    const Chain chain{kit_id, state.last_sequence + 1, state};
    const Assembled assembled = assemble(opt, collector.identity().keyid, trust, chain, result.host,
                                         started, finished, collected, findings, cov, log);
    const Written written =
        write(opt, collector, lock, state, assembled, files_jsonl, finished, meter);

    result.bundle = written.bundle;
    result.bundle_id = assembled.bundle_id;
    result.kit_id = kit_id;
    result.sequence = chain.sequence;
    result.findings = std::move(findings);
    result.predicate = assembled.predicate;
    result.access = cov.access;
    result.chain_head = written.head_path;
    result.chain_head_error = written.head_error;
    result.chain_state = lock.state_path();
    result.inventory_items = collected.inventory.size();
    result.files = walked.files->lines();
    result.kit_check = opt.kit_check;
    return result;
}

}  // namespace audit::scan
