#include "audit/attest/ledger.h"

#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "attest/sqlite_db.h"
#include "audit/error.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::int64_t kApplicationId = 0x41554447;  // "AUDG"
constexpr std::int64_t kSchemaVersion = 1;
constexpr std::size_t kMaxStatement = 16u << 20;  // as the bundle reader's bound
constexpr std::size_t kMaxJsonlLines = 4'000'000;

// Every table is keyed by what it describes, so that importing the same bundle twice is a no-op.
constexpr const char* kSchema = R"sql(
CREATE TABLE hosts(
  host_key TEXT PRIMARY KEY, hostname TEXT NOT NULL, first_scan TEXT NOT NULL,
  last_scan TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE bundles(
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  file_name TEXT NOT NULL, bundle_id TEXT NOT NULL,
  kit_id TEXT NOT NULL, sequence INTEGER NOT NULL, previous_sha256 TEXT NOT NULL,
  host_key TEXT NOT NULL REFERENCES hosts(host_key), hostname TEXT NOT NULL,
  machine_id TEXT NOT NULL, dmi_product_uuid TEXT NOT NULL,
  scan_started TEXT NOT NULL, scan_finished TEXT NOT NULL,
  collector_keyids TEXT NOT NULL, trust_root_version INTEGER NOT NULL,
  trust_root_sha256 TEXT NOT NULL,
  present TEXT NOT NULL,        -- JSON list of products found present
  envelope_zst BLOB NOT NULL,   -- the signed statement (DSSE JSON, zstd): re-verifiable
  findings_json TEXT NOT NULL,  -- findings.json as signed (digest in the statement)
  imported_at TEXT NOT NULL);
CREATE INDEX bundles_host ON bundles(host_key, id);
CREATE INDEX bundles_kit ON bundles(kit_id, sequence);
CREATE TABLE bundle_files(
  bundle INTEGER NOT NULL REFERENCES bundles(id), name TEXT NOT NULL, sha256 TEXT NOT NULL,
  sha384 TEXT NOT NULL, PRIMARY KEY(bundle, name)) WITHOUT ROWID;
CREATE TABLE identities(
  kind TEXT NOT NULL, value TEXT NOT NULL, bundle INTEGER NOT NULL REFERENCES bundles(id),
  host_key TEXT NOT NULL, PRIMARY KEY(kind, value, bundle)) WITHOUT ROWID;
CREATE TABLE packages(
  id INTEGER PRIMARY KEY, ecosystem TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  arch TEXT NOT NULL, publisher TEXT NOT NULL, UNIQUE(ecosystem, name, version, arch, publisher));
CREATE TABLE inventory(
  bundle INTEGER NOT NULL REFERENCES bundles(id), package INTEGER NOT NULL REFERENCES packages(id),
  state TEXT NOT NULL, PRIMARY KEY(bundle, package)) WITHOUT ROWID;
CREATE TABLE findings(
  bundle INTEGER NOT NULL REFERENCES bundles(id), n INTEGER NOT NULL, product TEXT NOT NULL,
  rule TEXT NOT NULL, confidence TEXT NOT NULL, residue INTEGER NOT NULL,
  PRIMARY KEY(bundle, n)) WITHOUT ROWID;
CREATE TABLE source_coverage(
  bundle INTEGER NOT NULL REFERENCES bundles(id), source TEXT NOT NULL, ecosystem TEXT NOT NULL,
  status TEXT NOT NULL, error TEXT NOT NULL, PRIMARY KEY(bundle, source)) WITHOUT ROWID;
CREATE TABLE product_coverage(
  bundle INTEGER NOT NULL REFERENCES bundles(id), product TEXT NOT NULL,
  manifest_version TEXT NOT NULL, sufficient INTEGER NOT NULL, gaps TEXT NOT NULL,
  PRIMARY KEY(bundle, product)) WITHOUT ROWID;
CREATE TABLE conflicts(
  kit_id TEXT NOT NULL, sequence INTEGER NOT NULL, sha256 TEXT NOT NULL,
  other_sha256 TEXT NOT NULL, PRIMARY KEY(kit_id, sequence, sha256, other_sha256)) WITHOUT ROWID;
CREATE TABLE rejected(
  sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, reason TEXT NOT NULL,
  rejected_at TEXT NOT NULL) WITHOUT ROWID;
)sql";

std::string str(const json& j, const char* key) {
    if (!j.is_object()) return "";
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string compress(std::string_view bytes) {
    std::string out(ZSTD_compressBound(bytes.size()), '\0');
    std::size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 3);
    if (ZSTD_isError(n)) throw IoError(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

std::string decompress(std::string_view bytes, const std::string& what) {
    unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxStatement)
        throw VerifyError("ledger: stored statement of " + what + " is damaged");
    std::string out(static_cast<std::size_t>(size), '\0');
    std::size_t n = ZSTD_decompress(out.data(), out.size(), bytes.data(), bytes.size());
    if (ZSTD_isError(n) || n != size)
        throw VerifyError("ledger: stored statement of " + what + " is damaged");
    return out;
}

// Each line of a JSONL content file, parsed; a bad line names the file and line.
template <typename Fn>
void for_each_line(const std::string& text, const std::string& name, Fn&& fn) {
    std::size_t start = 0, line = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (++line > kMaxJsonlLines) throw VerifyError(name + " has too many lines");
        if (end > start) {
            json j = json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                 text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
            if (j.is_discarded() || !j.is_object())
                throw VerifyError(name + " line " + std::to_string(line) + " is not a JSON object");
            fn(j);
        }
        start = end + 1;
    }
}

json parse_content(const evidence::Bundle& b, const std::string& name, json fallback) {
    auto it = b.files.find(name);
    if (it == b.files.end()) return fallback;
    json j = json::parse(it->second, nullptr, false);
    if (j.is_discarded()) throw VerifyError(name + " is not JSON");
    return j;
}

// Everything one bundle adds to the ledger, prepared off the database thread.
struct Prepared {
    std::string file, sha256, reject_reason;
    std::uint64_t size = 0;
    std::optional<BundleSummary> summary;
    std::string started, signers, trust_sha256, present, envelope_zst, findings_json;
    std::int64_t trust_version = 0;
    std::vector<std::array<std::string, 3>> subjects;                       // name, sha256, sha384
    std::vector<std::pair<std::array<std::string, 5>, std::string>> items;  // package, state
    std::vector<std::tuple<std::string, std::string, std::string, bool>> findings;
    std::vector<std::array<std::string, 4>> sources;  // name, ecosystem, status, error
    std::vector<std::tuple<std::string, std::string, bool, std::string>> products;
};

Prepared prepare(const std::string& path, const trust::TrustRoot& trust) {
    Prepared p;
    p.file = path;
    try {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) p.size = static_cast<std::uint64_t>(st.st_size);
        evidence::Bundle b = evidence::read_bundle(path, trust, true);
        p.sha256 = b.sha256;
        auto findings_it = b.files.find("findings.json");
        p.findings_json = findings_it == b.files.end() ? "[]" : findings_it->second;
        p.summary = summarize(base_name(path), b.sha256, b.predicate(), p.findings_json);
        const json& pred = p.summary->predicate;
        p.started = str(pred.value("scan", json::object()), "started");
        p.signers = json(b.signers).dump();
        p.trust_sha256 = trust.sha256;
        p.trust_version = trust.version;
        p.present = pred.value("findings", json::object()).value("present", json::array()).dump();
        p.envelope_zst = compress(b.envelope.to_json());
        for (const auto& s : b.statement["subject"])
            p.subjects.push_back({s["name"].get<std::string>(),
                                  s["digest"]["sha256"].get<std::string>(),
                                  s["digest"]["sha384"].get<std::string>()});
        if (auto it = b.files.find("inventory.jsonl"); it != b.files.end())
            for_each_line(it->second, "inventory.jsonl", [&](const json& j) {
                p.items.push_back({{str(j, "ecosystem"), str(j, "name"), str(j, "version"),
                                    str(j, "arch"), str(j, "publisher")},
                                   str(j, "state")});
            });
        for (const auto& f : p.summary->findings)
            p.findings.emplace_back(str(f, "product"), str(f, "rule"), str(f, "confidence"),
                                    f.is_object() && f.value("residue", false));
        json cov = parse_content(b, "coverage.json", json::object());
        if (!cov.is_object()) throw VerifyError("coverage.json is not an object");
        for (const auto& s : cov.value("sources", json::array()))
            p.sources.push_back(
                {str(s, "name"), str(s, "ecosystem"), str(s, "status"), str(s, "error")});
        for (const auto& pc : cov.value("products", json::array()))
            p.products.emplace_back(
                str(pc, "product"), str(pc, "manifest_version"),
                pc.is_object() && pc.value("sufficient", false),
                (pc.is_object() ? pc.value("gaps", json::array()) : json::array()).dump());
    } catch (const Error& e) {
        p.reject_reason = e.what();
        p.summary.reset();
    } catch (const json::exception& e) {
        p.reject_reason = std::string("malformed content: ") + e.what();
        p.summary.reset();
    }
    if (p.sha256.empty()) {
        try {
            p.sha256 = evidence::file_sha256(path);
        } catch (const Error&) {
        }
    }
    return p;
}

// Verifies bundles on worker threads, handing them back in input order; at most `window`
// prepared bundles wait in memory, so a large batch does not grow memory.
class Pipeline {
  public:
    Pipeline(const std::vector<std::string>& paths, const trust::TrustRoot& trust)
        : paths_(paths), trust_(trust), slots_(paths.size()) {
        unsigned n = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
        window_ = 4 * n;
        for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
    }
    ~Pipeline() {
        {
            std::lock_guard<std::mutex> g(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }
    Prepared take(std::size_t i) {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return slots_[i].has_value(); });
        Prepared p = std::move(*slots_[i]);
        slots_[i].reset();
        taken_ = i + 1;
        cv_.notify_all();
        return p;
    }

  private:
    void work() {
        for (;;) {
            std::size_t i;
            {
                std::unique_lock<std::mutex> g(m_);
                cv_.wait(
                    g, [&] { return stop_ || next_ >= paths_.size() || next_ < taken_ + window_; });
                if (stop_ || next_ >= paths_.size()) return;
                i = next_++;
            }
            Prepared p = prepare(paths_[i], trust_);
            {
                std::lock_guard<std::mutex> g(m_);
                slots_[i] = std::move(p);
            }
            cv_.notify_all();
        }
    }

    const std::vector<std::string>& paths_;
    const trust::TrustRoot& trust_;
    std::vector<std::optional<Prepared>> slots_;
    std::vector<std::thread> workers_;
    std::mutex m_;
    std::condition_variable cv_;
    std::size_t next_ = 0, taken_ = 0, window_ = 8;
    bool stop_ = false;
};

}  // namespace

const char* to_string(ImportResult r) {
    switch (r) {
        case ImportResult::added:
            return "added";
        case ImportResult::duplicate:
            return "duplicate";
        case ImportResult::conflict:
            return "conflict";
        case ImportResult::rejected:
            return "rejected";
    }
    return "rejected";
}

json LedgerStats::to_json() const {
    return {{"bundles", bundles},   {"hosts", hosts},
            {"packages", packages}, {"inventory_rows", inventory_rows},
            {"findings", findings}, {"conflicts", conflicts},
            {"rejected", rejected}};
}

Ledger::Ledger(const std::string& path, bool create) {
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (!exists && !create) throw UsageError("no ledger at " + path);
    if (exists && !S_ISREG(st.st_mode)) throw UsageError(path + " is not a ledger file");
    db_ = std::make_unique<sql::Db>(path, create);
    std::int64_t app = 0, version = 0, tables = 0;
    try {
        sql::Stmt a(*db_, "PRAGMA application_id");
        if (a.step()) app = a.integer(0);
    } catch (const IoError&) {
        throw UsageError(path + " is not a ledger (not an SQLite database)");
    }
    {
        sql::Stmt v(*db_, "PRAGMA user_version");
        if (v.step()) version = v.integer(0);
        sql::Stmt t(*db_, "SELECT count(*) FROM sqlite_schema");
        if (t.step()) tables = t.integer(0);
    }
    if (app == 0 && tables == 0) {
        if (!create) throw UsageError(path + " is an empty database, not a ledger");
        create_schema();
    } else if (app != kApplicationId) {
        throw UsageError(path + " is an SQLite database but not an evidence ledger");
    } else if (version != kSchemaVersion) {
        throw UsageError(path + " has ledger schema " + std::to_string(version) +
                         "; this tool reads schema " + std::to_string(kSchemaVersion));
    }
    db_->exec("PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY");
}

Ledger::~Ledger() = default;

void Ledger::create_schema() {
    sql::Transaction tx(*db_);
    db_->exec(kSchema);
    db_->exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
    db_->exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    tx.commit();
}

std::vector<ImportOutcome> Ledger::import(
    const std::vector<std::string>& paths, const trust::TrustRoot& trust,
    const std::function<void(std::size_t, std::size_t)>& progress) {
    std::vector<ImportOutcome> out;
    const std::string now = trust::utc_now();
    sql::Db& db = *db_;
    sql::Stmt find_sha(db, "SELECT id FROM bundles WHERE sha256 = ?1");
    sql::Stmt find_seq(db, "SELECT sha256 FROM bundles WHERE kit_id = ?1 AND sequence = ?2");
    sql::Stmt add_conflict(db, "INSERT OR IGNORE INTO conflicts VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt add_reject(db, "INSERT OR IGNORE INTO rejected VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt add_host(db,
                       "INSERT INTO hosts VALUES (?1, ?2, ?3, ?3) ON CONFLICT(host_key) DO UPDATE "
                       "SET hostname = CASE WHEN ?3 >= last_scan THEN ?2 ELSE hostname END, "
                       "first_scan = min(first_scan, ?3), last_scan = max(last_scan, ?3)");
    sql::Stmt add_bundle(db,
                         "INSERT INTO bundles VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                         "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
    sql::Stmt add_file(db, "INSERT OR IGNORE INTO bundle_files VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt add_id(db, "INSERT OR IGNORE INTO identities VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt other_host(db,
                         "SELECT host_key FROM identities WHERE kind = ?1 AND value = ?2 AND "
                         "host_key <> ?3 LIMIT 1");
    sql::Stmt find_pkg(db,
                       "SELECT id FROM packages WHERE ecosystem = ?1 AND name = ?2 AND version = "
                       "?3 AND arch = ?4 AND publisher = ?5");
    sql::Stmt add_pkg(db, "INSERT INTO packages VALUES (NULL, ?1, ?2, ?3, ?4, ?5)");
    sql::Stmt add_item(db, "INSERT OR IGNORE INTO inventory VALUES (?1, ?2, ?3)");
    sql::Stmt add_finding(db, "INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    sql::Stmt add_source(db, "INSERT OR IGNORE INTO source_coverage VALUES (?1, ?2, ?3, ?4, ?5)");
    sql::Stmt add_product(db, "INSERT OR IGNORE INTO product_coverage VALUES (?1, ?2, ?3, ?4, ?5)");
    std::unordered_map<std::string, std::int64_t> package_ids;  // this batch's lookups

    sql::Transaction tx(db);
    Pipeline pipeline(paths, trust);
    for (std::size_t i = 0; i < paths.size(); ++i) {
        Prepared p = pipeline.take(i);
        ImportOutcome o{p.file, p.sha256, ImportResult::added, ""};
        if (!p.summary) {
            o.result = ImportResult::rejected;
            o.detail = p.reject_reason;
            if (!p.sha256.empty()) {
                find_sha.bind(1, p.sha256);
                bool known = find_sha.step();
                find_sha.reset();
                if (!known)
                    add_reject.bind(1, p.sha256)
                        .bind(2, base_name(p.file))
                        .bind(3, p.reject_reason)
                        .bind(4, now)
                        .run();
            }
            out.push_back(std::move(o));
            if (progress) progress(i + 1, paths.size());
            continue;
        }
        find_sha.bind(1, p.sha256);
        bool known = find_sha.step();
        find_sha.reset();
        if (known) {
            o.result = ImportResult::duplicate;
            out.push_back(std::move(o));
            if (progress) progress(i + 1, paths.size());
            continue;
        }
        const BundleSummary& s = *p.summary;
        const std::string key = host_key(s);
        std::vector<std::string> others;
        find_seq.bind(1, s.kit_id).bind(2, static_cast<std::int64_t>(s.sequence));
        while (find_seq.step()) others.push_back(find_seq.text(0));
        find_seq.reset();
        for (const auto& other : others) {
            add_conflict.bind(1, s.kit_id)
                .bind(2, static_cast<std::int64_t>(s.sequence))
                .bind(3, p.sha256)
                .bind(4, other)
                .run();
            o.result = ImportResult::conflict;
            o.detail = "kit " + s.kit_id + " sequence " + std::to_string(s.sequence) +
                       " is already held by bundle " + other.substr(0, 16);
        }
        add_host.bind(1, key).bind(2, s.hostname).bind(3, s.finished).run();
        add_bundle.bind(1, p.sha256)
            .bind(2, static_cast<std::int64_t>(p.size))
            .bind(3, s.path)
            .bind(4, s.bundle_id)
            .bind(5, s.kit_id)
            .bind(6, static_cast<std::int64_t>(s.sequence))
            .bind(7, s.previous_sha256)
            .bind(8, key)
            .bind(9, s.hostname)
            .bind(10, s.machine_id)
            .bind(11, s.dmi_product_uuid)
            .bind(12, p.started)
            .bind(13, s.finished)
            .bind(14, p.signers)
            .bind(15, p.trust_version)
            .bind(16, p.trust_sha256)
            .bind(17, p.present)
            .bind_blob(18, p.envelope_zst)
            .bind(19, p.findings_json)
            .bind(20, now)
            .run();
        const std::int64_t id = sqlite3_last_insert_rowid(db.handle());
        for (const auto& [name, sha256, sha384] : p.subjects)
            add_file.bind(1, id).bind(2, name).bind(3, sha256).bind(4, sha384).run();
        for (const auto& [kind, value] :
             {std::pair<std::string, std::string>{"machine_id", s.machine_id},
              {"dmi_product_uuid", s.dmi_product_uuid},
              {"hostname", s.hostname}}) {
            if (value.empty()) continue;
            if (kind != "hostname") {
                other_host.bind(1, kind).bind(2, value).bind(3, key);
                if (other_host.step() && o.detail.empty())
                    o.detail = "identity conflict: " + kind + " " + value + " also belongs to " +
                               other_host.text(0);
                other_host.reset();
            }
            add_id.bind(1, kind).bind(2, value).bind(3, id).bind(4, key).run();
        }
        for (const auto& [pkg, state] : p.items) {
            std::string cache_key;
            for (const auto& f : pkg) cache_key += f + '\x1f';
            auto it = package_ids.find(cache_key);
            std::int64_t pkg_id = 0;
            if (it != package_ids.end()) {
                pkg_id = it->second;
            } else {
                for (int k = 0; k < 5; ++k) find_pkg.bind(k + 1, pkg[static_cast<std::size_t>(k)]);
                if (find_pkg.step()) pkg_id = find_pkg.integer(0);
                find_pkg.reset();
                if (pkg_id == 0) {
                    for (int k = 0; k < 5; ++k)
                        add_pkg.bind(k + 1, pkg[static_cast<std::size_t>(k)]);
                    add_pkg.run();
                    pkg_id = sqlite3_last_insert_rowid(db.handle());
                }
                package_ids.emplace(std::move(cache_key), pkg_id);
            }
            add_item.bind(1, id).bind(2, pkg_id).bind(3, state).run();
        }
        std::int64_t n = 0;
        for (const auto& [product, rule, confidence, residue] : p.findings)
            add_finding.bind(1, id)
                .bind(2, n++)
                .bind(3, product)
                .bind(4, rule)
                .bind(5, confidence)
                .bind(6, residue ? 1 : 0)
                .run();
        for (const auto& src : p.sources)
            add_source.bind(1, id)
                .bind(2, src[0])
                .bind(3, src[1])
                .bind(4, src[2])
                .bind(5, src[3])
                .run();
        for (const auto& [product, version, sufficient, gaps] : p.products)
            add_product.bind(1, id)
                .bind(2, product)
                .bind(3, version)
                .bind(4, sufficient ? 1 : 0)
                .bind(5, gaps)
                .run();
        out.push_back(std::move(o));
        if (progress) progress(i + 1, paths.size());
    }
    tx.commit();
    return out;
}

std::vector<BundleRef> Ledger::bundle_refs() {
    std::vector<BundleRef> refs;
    sql::Stmt q(*db_,
                "SELECT sha256, kit_id, sequence, previous_sha256, host_key, dmi_product_uuid "
                "FROM bundles");
    while (q.step()) {
        BundleRef r;
        r.sha256 = q.text(0);
        r.kit_id = q.text(1);
        r.sequence = static_cast<std::uint64_t>(q.integer(2));
        r.previous_sha256 = q.text(3);
        r.host_key = q.text(4);
        r.dmi_product_uuid = q.text(5);
        refs.push_back(std::move(r));
    }
    return refs;
}

void Ledger::for_each_host(const std::function<void(std::vector<BundleSummary>&&)>& fn) {
    sql::Stmt q(*db_,
                "SELECT host_key, file_name, sha256, envelope_zst, findings_json FROM bundles "
                "ORDER BY host_key, id");
    std::vector<BundleSummary> host;
    std::string current;
    while (q.step()) {
        std::string key = q.text(0), file = q.text(1), sha256 = q.text(2);
        if (key != current && !host.empty()) {
            fn(std::move(host));
            host.clear();
        }
        current = key;
        auto env = crypto::Envelope::parse(decompress(q.blob(3), file), kMaxStatement);
        json statement = json::parse(env.payload, nullptr, false);
        if (statement.is_discarded() || !statement.is_object() || !statement.contains("predicate"))
            throw VerifyError("ledger: stored statement of " + file + " is damaged");
        host.push_back(summarize(file, sha256, std::move(statement["predicate"]), q.text(4)));
    }
    if (!host.empty()) fn(std::move(host));
}

LedgerStats Ledger::stats() {
    LedgerStats s;
    auto count = [&](const char* sql) {
        sql::Stmt q(*db_, sql);
        return q.step() ? q.integer(0) : 0;
    };
    s.bundles = count("SELECT count(*) FROM bundles");
    s.hosts = count("SELECT count(*) FROM hosts");
    s.packages = count("SELECT count(*) FROM packages");
    s.inventory_rows = count("SELECT count(*) FROM inventory");
    s.findings = count("SELECT count(*) FROM findings");
    s.conflicts = count("SELECT count(*) FROM conflicts");
    s.rejected =
        count("SELECT count(*) FROM rejected WHERE sha256 NOT IN (SELECT sha256 FROM bundles)");
    return s;
}

json Ledger::bundles() {
    json out = json::array();
    sql::Stmt q(*db_,
                "SELECT file_name, bundle_id, sha256, kit_id, sequence, host_key FROM bundles "
                "ORDER BY id");
    while (q.step())
        out.push_back({{"file", q.text(0)},
                       {"bundle_id", q.text(1)},
                       {"sha256", q.text(2)},
                       {"kit", q.text(3)},
                       {"sequence", q.integer(4)},
                       {"host", q.text(5)}});
    return out;
}

json Ledger::conflicts() {
    json out = json::array();
    sql::Stmt q(*db_,
                "SELECT c.kit_id, c.sequence, c.sha256, c.other_sha256, b.file_name, b.host_key "
                "FROM conflicts c JOIN bundles b ON b.sha256 = c.sha256 ORDER BY 1, 2, 3");
    while (q.step())
        out.push_back({{"kit", q.text(0)},
                       {"sequence", q.integer(1)},
                       {"sha256", q.text(2)},
                       {"other_sha256", q.text(3)},
                       {"file", q.text(4)},
                       {"host", q.text(5)}});
    return out;
}

json Ledger::rejected() {
    json out = json::array();
    sql::Stmt q(*db_,
                "SELECT file_name, sha256, reason, rejected_at FROM rejected WHERE sha256 NOT IN "
                "(SELECT sha256 FROM bundles) ORDER BY file_name");
    while (q.step())
        out.push_back({{"file", q.text(0)},
                       {"sha256", q.text(1)},
                       {"reason", q.text(2)},
                       {"rejected_at", q.text(3)}});
    return out;
}

std::string Ledger::earliest_scan() {
    sql::Stmt q(*db_, "SELECT min(scan_finished) FROM bundles");
    return q.step() ? q.text(0) : "";
}

}  // namespace audit::attest
