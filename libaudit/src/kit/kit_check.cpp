#include "audit/kit/kit_check.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_check.h"
#include "audit/evidence/chain_head.h"
#include "audit/evidence/kit_state.h"
#include "audit/evidence/predicate.h"
#include "audit/input_file.h"

namespace audit::kit {

namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

struct EvidenceEntry {
    std::string file;
    std::string sha256;
    std::string statement_sha256;
    std::string previous_statement;
    int format = 1;
    std::string kit_id;
    std::uint64_t sequence = 0;
    std::string previous;
    std::string kit_manifest_sha256;
    std::string self_check = "none";
    std::string error;
};

// The kit id in a name PREFIX<kit>SUFFIX, "" when it is not one.
std::string kit_of(const std::string& n, const std::string& prefix, const std::string& suffix) {
    if (n.size() <= prefix.size() + suffix.size() || !n.starts_with(prefix) || !n.ends_with(suffix))
        return std::string();
    std::string id = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    return evidence::valid_kit_id(id) ? id : std::string();
}

// The scanner's state file in evidence/ (unsigned, small).
constexpr std::size_t kMaxStateFile = 4u << 20;

class Checker {
  public:
    Checker(const std::string& dir, const trust::TrustRoot& trust, const KitCheckOptions& options)
        : dir_(dir),
          ev_dir_(stdfs::path(dir) / std::string(kEvidenceDir)),
          trust_(trust),
          options_(options) {}

    KitCheckReport run();

  private:
    void check_kit();
    void classify_evidence();
    void read_bundles();
    void read_heads();
    void check_chains();
    void check_key_state();

    std::string dir_;
    stdfs::path ev_dir_;
    const trust::TrustRoot& trust_;
    const KitCheckOptions& options_;
    std::vector<std::string> problems_, notes_;
    std::optional<SealedKit> kit_;
    json tree_ = json::array();
    bool modes_compared_ = false;
    std::vector<std::string> names_, head_names_;
    std::map<std::string, std::string> state_files_;  // kit id -> file name
    json unexpected_ = json::array();
    std::vector<EvidenceEntry> evidence_;
    bool unverified_kit_ = false;
    std::map<std::string, evidence::ChainHead> heads_;
    json heads_json_ = json::array();
    std::map<std::string, std::vector<const EvidenceEntry*>> chains_;
    json chain_json_ = json::object();
};

void Checker::check_kit() {
    if (options_.own_trust)
        notes_.push_back(
            "checked against the kit's own trust root: compare its fingerprints "
            "(audit-keys show) or give --trust");
    try {
        kit_ = load_kit(dir_, trust_, options_.verify);
        for (auto& n : check_kit_version(*kit_, options_.state_path)) notes_.push_back(n);
    } catch (const VerifyError& e) {
        problems_.push_back(e.what());
    }
    if (kit_)
        for (const auto& p : compare_tree(dir_, kit_->manifest, &modes_compared_)) {
            tree_.push_back({{"path", p.path}, {"problem", p.what}});
            problems_.push_back(p.path + ": " + p.what);
        }
    if (kit_ && !modes_compared_)
        notes_.push_back(
            "executable bits not compared: this copy keeps none (FAT, or copied off FAT)");
}

// Every entry of evidence/ is accounted for (hidden ones included).
void Checker::classify_evidence() {
    if (!stdfs::is_directory(ev_dir_)) return;
    for (const auto& e : stdfs::directory_iterator(ev_dir_)) {
        const auto n = e.path().filename().string();
        struct stat st {};
        if (::lstat(e.path().c_str(), &st) != 0) {
            problems_.push_back("evidence/" + n + ": cannot be examined");
            continue;
        }
        if (st.st_mode & (S_ISUID | S_ISGID))
            problems_.push_back("evidence/" + n + ": setuid or setgid bit set");
        const bool regular = S_ISREG(st.st_mode);
        if (S_ISDIR(st.st_mode) && n.starts_with(".scan-work-")) {
            notes_.push_back("evidence/" + n +
                             ": scratch directory of an interrupted scan (not evidence)");
        } else if (regular && n.front() != '.' && n.ends_with(evidence::kBundleSuffix)) {
            names_.push_back(n);
        } else if (regular && n.front() != '.' && n.ends_with(evidence::kChainHeadSuffix)) {
            head_names_.push_back(n);
        } else if (regular && !kit_of(n, ".kit-", ".state.json").empty()) {
            state_files_[kit_of(n, ".kit-", ".state.json")] = n;
        } else if (regular && (!kit_of(n, ".kit-", ".lock").empty() || n == ".trust-state.json" ||
                               n == ".trust-state.json.lock")) {
            // the scanner's lock files and its trust rollback state (unsigned, no evidence)
        } else if (regular && n.front() == '.' && n.find(".tmp-") != std::string::npos) {
            notes_.push_back("evidence/" + n + ": an unfinished temporary file (not a bundle)");
        } else {
            problems_.push_back("evidence/" + n +
                                ": unexpected (not a bundle, chain head or kit state)");
            unexpected_.push_back(n);
        }
    }
    std::sort(names_.begin(), names_.end());
    std::sort(head_names_.begin(), head_names_.end());
}

void Checker::read_bundles() {
    for (const auto& n : names_) {
        EvidenceEntry ent;
        ent.file = n;
        try {
            auto b = evidence::read_bundle((ev_dir_ / n).string(), trust_, false);
            const evidence::KitRecord& k = b.evidence.kit;  // typed by the reader
            ent.sha256 = b.sha256;
            ent.statement_sha256 = b.statement_sha256;
            ent.format = b.format;
            ent.kit_id = k.id;
            ent.sequence = k.sequence;
            ent.previous = k.previous_bundle_sha256.value_or("");
            ent.previous_statement = k.previous_statement_sha256.value_or("");
            ent.kit_manifest_sha256 = k.kit_manifest_sha256_or_empty();
            if (k.self_check && k.self_check->is_object())
                ent.self_check = k.self_check->value("status", "none");
            if (ent.self_check == "unverified") unverified_kit_ = true;
        } catch (const Error& e) {
            ent.error = e.what();
            problems_.push_back("evidence/" + n + ": " + e.what());
        }
        evidence_.push_back(std::move(ent));
    }
}

// Chain heads: signed by the kit's collector; one per kit, named after it.
void Checker::read_heads() {
    for (const auto& n : head_names_) {
        try {
            auto h = evidence::read_chain_head((ev_dir_ / n).string(), trust_);
            if (n != h.kit_id + std::string(evidence::kChainHeadSuffix))
                throw VerifyError("evidence/" + n + ": the head of kit " + h.kit_id +
                                  " under another kit's name");
            heads_json_.push_back({{"file", n},
                                   {"kit", h.kit_id},
                                   {"sequence", h.sequence},
                                   {"statement_sha256", h.statement_sha256},
                                   {"bundle", h.bundle_file},
                                   {"written", h.written},
                                   {"verified", true}});
            heads_[h.kit_id] = std::move(h);
        } catch (const Error& e) {
            heads_json_.push_back({{"file", n}, {"verified", false}, {"error", e.what()}});
            problems_.push_back(e.what());
        }
    }
}

// Each kit's chain: sequences 1..head without gaps or forks, each naming its predecessor (v2: by
// statement digest), closed by a head naming the newest bundle (evidence/chain_check.h).
void Checker::check_chains() {
    std::map<std::string, std::map<std::uint64_t, const EvidenceEntry*>> first;  // for copies
    for (const auto& e : evidence_) {
        if (!e.error.empty()) continue;
        chains_[e.kit_id].push_back(&e);
        auto [it, fresh] = first[e.kit_id].emplace(e.sequence, &e);
        if (fresh) continue;
        if (it->second->statement_sha256 == e.statement_sha256)
            notes_.push_back("evidence/" + e.file + ": the same bundle as " + it->second->file +
                             " (a copy; counted once)");
        else
            problems_.push_back("chain of kit " + e.kit_id + ": two bundles with sequence " +
                                std::to_string(e.sequence) + " (fork)");
    }
    for (const auto& [id, h] : heads_) chains_[id];  // a head without bundles is a chain too
    for (const auto& [id, entries] : chains_) {
        const auto head_it = heads_.find(id);
        const evidence::ChainHead* head = head_it == heads_.end() ? nullptr : &head_it->second;
        std::vector<evidence::ChainLink> links;
        for (const auto* e : entries)
            links.push_back({e->sequence,
                             e->statement_sha256,
                             {e->sha256},
                             e->format,
                             e->previous_statement,
                             e->previous});
        const auto c = evidence::check_chain(links, head ? std::vector<evidence::ChainHead>{*head}
                                                         : std::vector<evidence::ChainHead>{});
        const std::uint64_t newest = c.newest;
        const std::uint64_t top = std::max(newest, head ? head->sequence : 0);
        bool ok = true;
        for (const auto& ev : c.events) {
            using Kind = evidence::ChainEvent::Kind;
            if (ev.kind == Kind::gap) {
                problems_.push_back("chain of kit " + id + ": sequence " + std::to_string(ev.from) +
                                    (ev.to > ev.from ? "-" + std::to_string(ev.to) : "") +
                                    " missing (a deleted bundle?)");
                ok = false;
            } else if (ev.kind == Kind::broken || ev.kind == Kind::first_links) {
                problems_.push_back("chain of kit " + id + ": bundle " + std::to_string(ev.from) +
                                    " does not name its predecessor's digest (broken chain)");
                ok = false;
            }  // forks: said above, bundle by bundle
        }
        using Head = evidence::ChainCheck::Head;
        if (!head) {
            if (newest > 0) {
                problems_.push_back("chain of kit " + id + ": no chain head (evidence/" + id +
                                    std::string(evidence::kChainHeadSuffix) +
                                    " is missing), so deleted newest bundles would go unseen");
                ok = false;
            }
        } else if (c.head == Head::behind) {
            problems_.push_back("chain of kit " + id + ": the chain head names sequence " +
                                std::to_string(head->sequence) + " but bundle " +
                                std::to_string(newest) +
                                " exists (an older head, or a scan stopped before writing it)");
            ok = false;
        } else if (c.head == Head::other_bundle) {
            problems_.push_back("chain of kit " + id + ": the chain head names another bundle " +
                                std::to_string(newest) + " than the one present (fork)");
            ok = false;
        }
        // The scanner's own (unsigned) state: it never records more than the evidence shows.
        if (auto sf = state_files_.find(id); sf != state_files_.end()) {
            auto st = json::parse(
                read_input_file_within<UsageError>((ev_dir_ / sf->second).string(), kMaxStateFile,
                                                   "kit state", ": larger than 4 MiB"),
                nullptr, false);
            if (!st.is_object() || !st.contains("last_sequence") ||
                !st["last_sequence"].is_number_unsigned()) {
                problems_.push_back("evidence/" + sf->second + ": not a kit state file");
                ok = false;
            } else if (st["last_sequence"].get<std::uint64_t>() > top) {
                problems_.push_back("chain of kit " + id + ": the kit's state records sequence " +
                                    std::to_string(st["last_sequence"].get<std::uint64_t>()) +
                                    ", the evidence present ends at " + std::to_string(top) +
                                    " (bundles deleted?)");
                ok = false;
            }
        }
        std::set<std::uint64_t> sequences;
        for (const auto* e : entries) sequences.insert(e->sequence);
        chain_json_[id] = {{"bundles", sequences.size()},
                           {"last_sequence", newest},
                           {"head_sequence", head ? json(head->sequence) : json(nullptr)},
                           {"closed", head && head->sequence == newest && ok},
                           {"intact", ok}};
        if (kit_ && id != kit_->manifest.kit_id)
            notes_.push_back("evidence of another kit (" + id + ") is on this kit");
        if (head) try {
                for (auto& n : check_chain_head_seen(*head, trust_.authority, options_.state_path))
                    notes_.push_back(n);
            } catch (const VerifyError& e) {
                problems_.push_back(e.what());
            }
    }
}

void Checker::check_key_state() {
    // The kit's sequence state in keys/ (kits made since it moved there): it never records more
    // than the evidence shows, and nothing was left half-written.
    if (kit_ && !kit_->manifest.state_file.empty() &&
        stdfs::is_regular_file(stdfs::path(dir_) / kit_->manifest.state_file)) {
        const std::string rel = kit_->manifest.state_file;
        const std::string& id = kit_->manifest.kit_id;
        try {
            auto st = evidence::read_state_file((stdfs::path(dir_) / rel).string());
            std::uint64_t top = 0;
            if (chain_json_.contains(id)) {
                top = chain_json_[id]["last_sequence"].get<std::uint64_t>();
                if (chain_json_[id]["head_sequence"].is_number())
                    top = std::max(top, chain_json_[id]["head_sequence"].get<std::uint64_t>());
            }
            if (st.kit_id != id)
                problems_.push_back(rel + ": the sequence state of kit " + st.kit_id);
            else if (st.last_sequence > top)
                problems_.push_back("chain of kit " + id + ": the kit's state records sequence " +
                                    std::to_string(st.last_sequence) + " (" + rel +
                                    "), the evidence present ends at " + std::to_string(top) +
                                    " (bundles deleted, or written to another --out folder: "
                                    "check them together)");
            // The bundle the state names is the one present at that sequence (not a fork).
            for (const auto& e : evidence_)
                if (e.error.empty() && e.kit_id == id && e.sequence == st.last_sequence &&
                    st.kit_id == id && !st.last_statement_sha256.empty() &&
                    e.statement_sha256 != st.last_statement_sha256)
                    problems_.push_back("chain of kit " + id + ": the kit's state (" + rel +
                                        ") names another bundle " +
                                        std::to_string(st.last_sequence) + " than " + e.file +
                                        " (fork)");
            if (st.pending_sequence > st.last_sequence)
                notes_.push_back(rel + ": a scan was interrupted writing sequence " +
                                 std::to_string(st.pending_sequence) + " to " + st.pending_dir);
        } catch (const Error& e) {
            problems_.push_back(rel + ": " + e.what());
        }
    }
    if (kit_)
        if (auto sf = state_files_.find(kit_->manifest.kit_id);
            sf != state_files_.end() && !chains_.count(kit_->manifest.kit_id))
            notes_.push_back("evidence/" + sf->second + ": a kit state without evidence");
}

KitCheckReport Checker::run() {
    check_kit();
    classify_evidence();
    read_bundles();
    read_heads();
    check_chains();
    check_key_state();
    json ev_json = json::array();
    for (const auto& e : evidence_)
        ev_json.push_back({{"file", e.file},
                           {"sha256", e.sha256},
                           {"statement_sha256", e.statement_sha256},
                           {"format", e.format},
                           {"kit", e.kit_id},
                           {"sequence", e.sequence},
                           {"kit_manifest_sha256", e.kit_manifest_sha256},
                           {"self_check", e.self_check},
                           {"verified", e.error.empty()},
                           {"error", e.error}});
    KitCheckReport r;
    r.code = !problems_.empty() ? 3 : unverified_kit_ ? 1 : 0;
    r.doc = {{"status", r.code == 0   ? "verified"
                        : r.code == 1 ? "attention"
                                      : "failed"},
             {"problems", problems_},
             {"notes", notes_},
             {"tree", tree_},
             {"modes_compared", modes_compared_},
             {"evidence", ev_json},
             {"heads", heads_json_},
             {"unexpected", unexpected_},
             {"chains", chain_json_}};
    if (kit_)
        r.doc["kit"] = {{"kit_id", kit_->manifest.kit_id},
                        {"version", kit_->manifest.version},
                        {"created", kit_->manifest.created},
                        {"expires", kit_->manifest.expires},
                        {"files", kit_->manifest.files.size()},
                        {"kit_manifest_sha256", kit_->sha256},
                        {"signers", kit_->signers},
                        {"lms_sealed", kit_->lms_sealed}};
    r.problems = std::move(problems_);
    r.notes = std::move(notes_);
    return r;
}

}  // namespace

KitCheckReport check_kit_dir(const std::string& dir, const trust::TrustRoot& trust,
                             const KitCheckOptions& options) {
    return Checker(dir, trust, options).run();
}

}  // namespace audit::kit
