#include "audit/scan/scan.h"

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
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
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
        if (rule.kind == manifest::RuleKind::all_of) continue;  // its parts are rules of their own
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
        } else if (rule.kind == manifest::RuleKind::macho_team) {
            need("macho", true);
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

// What no scan examines at all, so that "absent" is never read as covering it (predicate
// coverage.not_examined; optional for readers).
json not_examined() {
    return json::array(
        {{{"what", "containers and container images"},
          {"why",
           "image layers and container file systems (Docker, Podman, containerd) are not "
           "opened; a product inside an image or a stopped container is not seen"}},
         {{"what", "browser extensions"},
          {"why",
           "no source reads browser profiles; vendor extensions installed per user are "
           "not seen"}},
         {{"what", "mobile devices"},
          {"why",
           "only the scanned root is examined; phones and tablets managed elsewhere are "
           "not"}},
         {{"what", "network appliances"},
          {"why",
           "appliances and their firmware (e.g. a vendor's web-traffic appliance image) are "
           "not hosts this tool scans"}},
         {{"what", "files outside the walk roots"},
          {"why",
           "only the directories the manifests' path, service and module rules need are "
           "walked (coverage.walk.roots), unless the hash scope is 'all'; PE files are read "
           "under Program Files, ProgramData and the drivers folder only"}}});
}

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

// The account name of uid in the running system's /etc/passwd, "" when none.
std::string passwd_name(std::uint64_t uid) {
    std::ifstream f("/etc/passwd");
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

// Entries the scan was refused (permission denied), counted from concurrent walk workers.
struct Denied {
    std::mutex m;
    std::uint64_t count = 0;
    std::vector<std::string> examples;  // the first few paths, sorted at the end
    void add(const fs::FileRecord& r) {
        std::lock_guard lk(m);
        ++count;
        if (examples.size() < 10) examples.push_back(r.path);
    }
};

// Counts what the walk recorded and reports it through ScanOptions::progress, at phase changes
// and at most every interval from the workers.
class Meter {
  public:
    explicit Meter(const ScanOptions& opt)
        : progress_(opt.progress),
          interval_(std::chrono::milliseconds(opt.progress_interval_ms)),
          start_(std::chrono::steady_clock::now()) {}
    void phase(std::string name, std::string detail = "") {
        if (!progress_) return;
        std::lock_guard lk(m_);
        phase_ = std::move(name);
        detail_ = std::move(detail);
        emit();
    }
    void record(const fs::FileRecord& r) {
        files_.fetch_add(1, std::memory_order_relaxed);
        if (r.digests) bytes_.fetch_add(r.size, std::memory_order_relaxed);
        if (!progress_) return;
        std::unique_lock lk(m_, std::try_to_lock);
        if (!lk.owns_lock() || std::chrono::steady_clock::now() < next_) return;
        emit();
    }

  private:
    void emit() {
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
    const std::function<void(const Progress&)>& progress_;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point start_, next_{};
    std::mutex m_;
    std::string phase_, detail_;
    std::atomic<std::uint64_t> files_{0}, bytes_{0};
};

// Command lines carry passwords and tokens, and bundles travel: keep them (redacted by the live
// source) only for processes a rule matched, by the process item or by its executable's file.
void keep_matched_cmdlines(std::vector<InventoryItem>& inventory,
                           const std::vector<match::Finding>& findings, bool record) {
    std::set<std::pair<std::string, std::string>> items;  // (name, source)
    std::set<std::string> files;
    for (const auto& f : findings)
        for (const auto& rec : f.records) {
            if (auto it = rec.find("inventory"); it != rec.end() && it->is_object()) {
                if (it->value("ecosystem", "") == "process")
                    items.insert({it->value("name", ""), it->value("source", "")});
            } else if (auto fi = rec.find("file"); fi != rec.end() && fi->is_object()) {
                files.insert(fi->value("path", ""));
            }
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
    std::uint64_t uid = ::getuid(), euid = ::geteuid();
    json cap_eff = nullptr;
    std::uint64_t caps = 0;
    std::ifstream f("/proc/self/status");
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
    Meter meter(opt);
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

    // Sources.
    std::vector<InventoryItem> inventory;
    std::vector<sources::SourceReport> reports;
    for (const auto& source : sources::all_sources()) {
        meter.phase("sources", std::string(source->name()));
        sources::SourceReport report;
        if (opt.live && source->name() == opt.live->first.name) {
            report = opt.live->first;
            inventory.insert(inventory.end(), opt.live->second.begin(), opt.live->second.end());
        } else {
            report = source->collect(root, inventory);
        }
        log.push_back({{"time", now().rfc3339}, {"event", "source"}, {"report", report.to_json()}});
        reports.push_back(std::move(report));
    }

    // Walk and hash: every record streams into a sorted files.jsonl on disk; only the records a
    // file rule can match stay in memory for the matcher.
    // NTFS compares names without letter case: on a Windows root path rules do too, and each
    // level of their globs is looked up on the disk to find what to walk.
    const bool windows_root = result.host.os_family == "windows";
    std::vector<std::string> walk_roots =
        opt.scope == HashScope::all
            ? std::vector<std::string>{"/"}
            : match::plan_walk_roots(
                  opt.manifests, [&](const std::string& dir) { return root.list_dir(dir); },
                  windows_root);
    const match::FileFilter filter(opt.manifests, windows_root);
    const match::MatchOptions match_options{windows_root};
    fs::WalkOptions wopt;
    wopt.one_filesystem = opt.one_filesystem;
    wopt.digests = opt.digests;
    wopt.digests.add(filter.digests_needed());
    Denied denied;
    fs::FileEvidence files(root, opt.out_dir, wopt, opt.jobs, [&](const fs::FileRecord& r) {
        meter.record(r);
        if (permission_denied(r)) denied.add(r);
        return filter.may_match(r);
    });
    std::vector<std::string> failed_walk_roots;
    {
        std::string roots;
        for (const auto& wr : walk_roots) roots += (roots.empty() ? "" : " ") + wr;
        meter.phase("walk", roots);
    }
    files.walk(walk_roots, failed_walk_roots);
    if (opt.scope == HashScope::packages) {
        std::set<std::string> listed;
        for (const auto& item : inventory) listed.insert(item.paths.begin(), item.paths.end());
        meter.phase("hash", std::to_string(listed.size()) + " files the package databases list");
        files.inspect({listed.begin(), listed.end()});
    }

    // Files of matched packages are evidence too: hash what the package database lists.
    meter.phase("match");
    auto findings = match::match(opt.manifests, inventory, files.kept(), match_options);
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
        meter.phase("hash", std::to_string(package_paths.size()) + " files of matched packages");
        files.inspect({package_paths.begin(), package_paths.end()});
        meter.phase("match");
        findings = match::match(opt.manifests, inventory, files.kept(), match_options);
    }
    meter.phase("write", "sort file records");
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
    // What the kernel refused this user: entries of the walk, other users' processes.
    std::sort(denied.examples.begin(), denied.examples.end());
    std::string processes_denied;
    for (const auto& r : reports)
        if (r.name == "live")
            for (const auto& w : r.warnings)
                if (w.rfind("permission_denied: ", 0) == 0) processes_denied = w;
    const json access = {
        {"user", opt.user},
        {"permission_denied", denied.count},
        {"examples", denied.examples},
        {"processes", processes_denied.empty() ? json(nullptr) : json(processes_denied)}};
    json products = json::array();
    for (const auto& m : opt.manifests) {
        json p = product_coverage(m, reports, failed_walk_roots);
        // An entry the scan could not read may be the product: no absence can rest on that walk.
        std::set<std::string> refused;
        if (denied.count > 0 && needs_walk(m))
            refused.insert("permission_denied: " + std::to_string(denied.count) +
                           " entries of the walk could not be read by " + describe_user(opt.user) +
                           " (e.g. " + denied.examples.front() + ")");
        if (!processes_denied.empty() && needs_processes(m))
            refused.insert(processes_denied + " by " + describe_user(opt.user));
        if (!refused.empty()) {
            std::set<std::string> gaps = p["gaps"].get<std::set<std::string>>();
            gaps.insert(refused.begin(), refused.end());
            p["gaps"] = std::vector<std::string>(gaps.begin(), gaps.end());
            p["sufficient"] = false;
        }
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
    result.coverage = {{"sources", source_json}, {"system", system},
                       {"walk", walk_full},      {"access", access},
                       {"products", products},   {"not_examined", not_examined()}};

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
    keep_matched_cmdlines(inventory, findings, opt.record_cmdlines);
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
    coverage_summary["access"] = {{"permission_denied", denied.count},
                                  {"processes", access["processes"]}};
    coverage_summary["products"] = products;
    coverage_summary["not_examined"] = result.coverage["not_examined"];
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
          {"scope", to_string(opt.scope)},
          {"user", opt.user}}},
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
    meter.phase("write", "bundle");
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
    meter.phase("write", "chain head");
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
