#include "audit/attest/ledger.h"
#include "json_field.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "attest/report_parts.h"
#include "attest/sqlite_db.h"
#include "audit/core/hex.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"
#include "audit/trust/certificate.h"
#include "audit/trust/state.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::int64_t kApplicationId = 0x41554447;  // "AUDG"
constexpr std::int64_t kSchemaVersion = 4;  // 3: findings columns, views; 4: statement_zst, zdicts
constexpr std::size_t kMaxLedgerStatement = 16u << 20;  // as the bundle reader's bound
constexpr std::size_t kMaxHead = 1u << 20;              // a chain head is a few KiB
constexpr std::size_t kMaxTrustFile = 16u << 20;
constexpr std::size_t kVerifyBatch = 256;  // stored statements verified in parallel per batch
constexpr std::size_t kMaxJsonlLines = 4'000'000;
constexpr std::size_t kMaxPackageCache = 100'000;  // import's package id lookups kept in memory

// Every table is keyed by what it describes, so that importing the same bundle twice is a no-op.
constexpr const char* kSchema = R"sql(
CREATE TABLE hosts(
  host_key TEXT PRIMARY KEY, hostname TEXT NOT NULL, first_scan TEXT NOT NULL,
  last_scan TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE bundles(
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  statement_sha256 TEXT NOT NULL UNIQUE, format INTEGER NOT NULL,
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
  imported_at TEXT NOT NULL,
  -- schema 4: the statement (payload bytes) apart, zstd with the dictionary zdicts(dict): then
  -- envelope_zst holds the envelope with an empty payload. NULL: envelope_zst holds it all.
  statement_zst BLOB, dict INTEGER REFERENCES zdicts(id));
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
  family TEXT NOT NULL DEFAULT '', package TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
  registry_key TEXT NOT NULL DEFAULT '', PRIMARY KEY(bundle, n)) WITHOUT ROWID;
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
CREATE TABLE chain_heads(       -- per kit the highest verified head seen
  kit_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, statement_sha256 TEXT NOT NULL,
  bundle_sha256 TEXT NOT NULL, bundle_file TEXT NOT NULL, file_name TEXT NOT NULL,
  file_sha256 TEXT NOT NULL, envelope TEXT NOT NULL, imported_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE zdicts(            -- compression dictionaries, one per collector certificate
  id INTEGER PRIMARY KEY, certificate_sha256 TEXT NOT NULL UNIQUE,  -- of its payload field
  bytes BLOB NOT NULL);
CREATE TABLE authority(         -- the one authority whose evidence this ledger holds
  id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, version INTEGER NOT NULL,
  sha256 TEXT NOT NULL, envelope TEXT NOT NULL, pinned_at TEXT NOT NULL);
)sql";

// Views for analysts' own queries (schema 3). Like the tables they read, they are conveniences:
// `report` never reads them. host_status says what the latest scan of each host x product found,
// not the attested status (that needs every check of the decision table: see report.json).
constexpr const char* kViews = R"sql(
CREATE VIEW findings_detail AS
SELECT b.host_key, b.hostname, b.bundle_id, b.kit_id, b.sequence, b.scan_finished, f.n, f.product,
  f.family, f.rule, f.confidence, f.residue,
  (f.residue = 0 AND f.confidence IN ('definitive', 'strong')) AS proves_presence,
  f.package, f.version, f.path, f.registry_key
FROM findings f JOIN bundles b ON b.id = f.bundle;
CREATE VIEW host_status AS
SELECT host_key, hostname, product, scans, first_scan, latest_scan, first_found, last_found,
  CASE WHEN last_found IS NULL THEN 'never found'
       WHEN last_found = latest_scan THEN 'found'
       ELSE 'not found since ' || last_found END AS latest_scan_says
FROM (
  SELECT b.host_key AS host_key, h.hostname AS hostname, pc.product AS product,
    count(*) AS scans, min(b.scan_finished) AS first_scan, max(b.scan_finished) AS latest_scan,
    min(CASE WHEN fd.bundle IS NOT NULL THEN b.scan_finished END) AS first_found,
    max(CASE WHEN fd.bundle IS NOT NULL THEN b.scan_finished END) AS last_found
  FROM product_coverage pc JOIN bundles b ON b.id = pc.bundle
  JOIN hosts h ON h.host_key = b.host_key
  LEFT JOIN (SELECT DISTINCT bundle, product FROM findings
             WHERE residue = 0 AND confidence IN ('definitive', 'strong')) fd
    ON fd.bundle = pc.bundle AND fd.product = pc.product
  GROUP BY b.host_key, pc.product);
)sql";

// The query columns of one finding: family, first package (name), its version, first file's path
// (else first path), first registry key.
std::array<std::string, 5> finding_columns(const json& f) {
    std::array<std::string, 5> out;
    if (!f.is_object()) return out;
    json s = finding_summary(f);
    bool file_path = false;
    out[0] = str(f, "family");
    for (const auto& item : s["items"]) {
        if (out[1].empty() && !str(item, "name").empty()) {
            out[1] = str(item, "name");
            out[2] = str(item, "version");
        }
        // A file (it has a digest) says more than the directories above it.
        if (out[3].empty() || (!str(item, "sha256").empty() && !file_path))
            if (!str(item, "path").empty()) {
                out[3] = str(item, "path");
                file_path = !str(item, "sha256").empty();
            }
        if (out[4].empty()) out[4] = str(item, "registry_key");
    }
    return out;
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// zstd, with a raw-content dictionary when dict is not empty.
std::string compress(std::string_view bytes, std::string_view dict = {}) {
    std::string out(ZSTD_compressBound(bytes.size()), '\0');
    std::unique_ptr<ZSTD_CCtx, std::size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    if (!cctx) throw IoError("zstd: out of memory");
    std::size_t n = ZSTD_compress_usingDict(cctx.get(), out.data(), out.size(), bytes.data(),
                                            bytes.size(), dict.data(), dict.size(), 3);
    if (ZSTD_isError(n)) throw IoError(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

std::string decompress(std::string_view bytes, const std::string& what,
                       std::string_view dict = {}) {
    unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > kMaxLedgerStatement)
        throw VerifyError("ledger: stored statement of " + what + " is damaged");
    std::string out(static_cast<std::size_t>(size), '\0');
    std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!dctx) throw IoError("zstd: out of memory");
    std::size_t n = ZSTD_decompress_usingDict(dctx.get(), out.data(), out.size(), bytes.data(),
                                              bytes.size(), dict.data(), dict.size());
    if (ZSTD_isError(n) || n != size)
        throw VerifyError("ledger: stored statement of " + what + " is damaged");
    return out;
}

// The compression dictionaries of a ledger (zdicts), read once: few (one per certificate).
using Dicts = std::map<std::int64_t, std::string>;

// A stored signed statement as it was signed: envelope_zst alone (before schema 4, or without
// a dictionary), or the envelope with its payload from statement_zst. Nothing here is trusted:
// the caller verifies the signature over the payload and its digest.
crypto::Envelope stored_envelope(std::string_view envelope_zst,
                                 const std::optional<std::string>& statement_zst,
                                 std::optional<std::int64_t> dict, const Dicts& dicts,
                                 const std::string& what) {
    auto env = crypto::Envelope::parse(decompress(envelope_zst, what), kMaxLedgerStatement);
    if (!statement_zst) return env;
    std::string_view d;
    if (dict) {
        auto it = dicts.find(*dict);
        if (it == dicts.end())
            throw VerifyError("ledger: the compression dictionary of " + what + " is missing");
        d = it->second;
    }
    if (!env.payload.empty())
        throw VerifyError("ledger: stored statement of " + what + " is damaged");
    env.payload = decompress(*statement_zst, what, d);
    return env;
}

// A bundle's stored bytes, as the two readers of the bundles table (Ledger::verify and
// Ledger::for_each_host) take them from a row.
struct StoredBundle {
    std::string file, sha256, envelope_zst, findings_json;
    std::optional<std::string> statement_zst;
    std::optional<std::int64_t> dict;

    // The columns file_name, sha256, envelope_zst, findings_json, statement_zst, dict (in this
    // order, from column `first`) of q's current row.
    void read(const sql::Stmt& q, int first) {
        file = q.text(first);
        sha256 = q.text(first + 1);
        envelope_zst = q.blob(first + 2);
        findings_json = q.text(first + 3);
        if (!q.is_null(first + 4)) statement_zst = q.blob(first + 4);
        if (!q.is_null(first + 5)) dict = q.integer(first + 5);
    }
    crypto::Envelope envelope(const Dicts& dicts) const {
        return stored_envelope(envelope_zst, statement_zst, dict, dicts, file);
    }
    // Once decoded, the compressed bytes go: a batch keeps only what it still needs.
    void drop_compressed() {
        envelope_zst.clear();
        envelope_zst.shrink_to_fit();
        statement_zst.reset();
    }
};

// Each line of a JSONL content file, parsed; a bad line names the file and line.
template <typename Fn>
void ledger_for_each_line(const std::string& text, const std::string& name, Fn&& fn) {
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
    std::string statement_sha256;
    int format = 1;
    std::uint64_t size = 0;
    std::optional<BundleSummary> summary;
    std::string started, signers, trust_sha256, present, envelope_zst, findings_json;
    std::string statement_zst, certificate_sha256;
    std::shared_ptr<const std::string> dict;  // what statement_zst is compressed with
    // When the certificate had no dictionary yet: statement_zst is made when recorded.
    std::string certificate_text, payload;
    std::int64_t trust_version = 0;
    std::vector<std::array<std::string, 3>> subjects;                       // name, sha256, sha384
    std::vector<std::pair<std::array<std::string, 5>, std::string>> items;  // package, state
    struct FindingRow {
        std::string product, rule, confidence;
        bool residue = false;
        std::array<std::string, 5> columns;  // family, package, version, path, registry_key
    };
    std::vector<FindingRow> findings;
    std::vector<std::array<std::string, 4>> sources;  // name, ecosystem, status, error
    std::vector<std::tuple<std::string, std::string, bool, std::string>> products;
};

// The compression dictionary of each collector certificate: its text followed by the first
// statement it signed here (the ledger's, or the first in this import's input order). A kit's
// statements share the certificate (12 KB of keys and signatures, which compress poorly alone)
// and most of their structure, so each is stored as what differs. Read by the import's workers;
// a dictionary is made only by the thread that records the bundles, in input order, so the
// ledger's bytes do not depend on which worker ran first.
class DictCache {
  public:
    void preload(const std::string& certificate_sha256, std::string bytes) {
        dicts_.emplace(certificate_sha256, std::make_shared<const std::string>(std::move(bytes)));
    }
    // The dictionary of this certificate (SHA-256 of its payload field), or null when there is
    // none yet.
    std::shared_ptr<const std::string> find(const std::string& certificate_sha256) {
        std::lock_guard<std::mutex> g(m_);
        auto it = dicts_.find(certificate_sha256);
        return it == dicts_.end() ? nullptr : it->second;
    }
    // The recording thread: the dictionary, made from certificate_text and payload if missing.
    std::shared_ptr<const std::string> get(const std::string& certificate_sha256,
                                           const std::string& certificate_text,
                                           const std::string& payload) {
        std::lock_guard<std::mutex> g(m_);
        auto& d = dicts_[certificate_sha256];
        if (!d) d = std::make_shared<const std::string>(certificate_text + "\n" + payload);
        return d;
    }

  private:
    std::mutex m_;
    std::map<std::string, std::shared_ptr<const std::string>> dicts_;
};

Prepared prepare(const std::string& path, const trust::TrustRoot& trust, DictCache& dicts) {
    Prepared p;
    p.file = path;
    try {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) p.size = static_cast<std::uint64_t>(st.st_size);
        evidence::Bundle b = evidence::read_bundle(path, trust, true);
        p.sha256 = b.sha256;
        p.statement_sha256 = b.statement_sha256;
        p.format = b.format;
        auto findings_it = b.files.find("findings.json");
        p.findings_json = findings_it == b.files.end() ? "[]" : findings_it->second;
        p.summary = summarize(base_name(path), b.sha256, b.statement_sha256, b.predicate(),
                              p.findings_json);
        const evidence::Predicate& pred = p.summary->predicate;
        p.started = pred.scan.started;
        p.signers = json(b.signers).dump();
        p.trust_sha256 = trust.sha256;
        p.trust_version = trust.version;
        p.present = json(pred.findings.present).dump();
        // The statement apart, compressed with its certificate's dictionary.
        // (The signer check made sure there is one.)
        const json& certificate = b.statement["predicate"]["collector"]["certificate"];
        p.certificate_sha256 = crypto::sha256_hex(str(certificate, "payload"));
        p.dict = dicts.find(p.certificate_sha256);
        if (p.dict) {
            p.statement_zst = compress(b.envelope.payload, *p.dict);
        } else {  // the recording thread makes the dictionary and compresses (finish_statement)
            p.certificate_text = certificate.dump();
            p.payload = b.envelope.payload;
        }
        crypto::Envelope bare = b.envelope;
        bare.payload.clear();
        p.envelope_zst = compress(bare.to_json());
        for (const auto& s : b.statement["subject"])
            p.subjects.push_back({s["name"].get<std::string>(),
                                  s["digest"]["sha256"].get<std::string>(),
                                  s["digest"]["sha384"].get<std::string>()});
        if (auto it = b.files.find("inventory.jsonl"); it != b.files.end())
            ledger_for_each_line(it->second, "inventory.jsonl", [&](const json& j) {
                p.items.push_back({{str(j, "ecosystem"), str(j, "name"), str(j, "version"),
                                    str(j, "arch"), str(j, "publisher")},
                                   str(j, "state")});
            });
        for (const auto& f : p.summary->findings)
            p.findings.push_back({str(f, "product"), str(f, "rule"), str(f, "confidence"),
                                  f.is_object() && f.value("residue", false), finding_columns(f)});
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
// prepared bundles wait in memory, in a ring of `window` slots (bundle i in slot i % window), so
// a large batch does not grow memory.
class Pipeline {
  public:
    Pipeline(const std::vector<std::string>& paths, const trust::TrustRoot& trust, DictCache& dicts)
        : paths_(paths), trust_(trust), dicts_(dicts) {
        unsigned n = detail::worker_threads(8);
        window_ = 4 * n;
        slots_.resize(window_);
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
    // Bundle i, once prepared; called for i = 0, 1, 2, ... in order.
    Prepared take(std::size_t i) {
        std::unique_lock<std::mutex> g(m_);
        auto& slot = slots_[i % window_];
        cv_.wait(g, [&] { return slot.has_value(); });
        Prepared p = std::move(*slot);
        slot.reset();
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
            Prepared p = prepare(paths_[i], trust_, dicts_);
            {
                // Free: i < taken_ + window_, so bundle i - window_ was taken from this slot.
                std::lock_guard<std::mutex> g(m_);
                slots_[i % window_] = std::move(p);
            }
            cv_.notify_all();
        }
    }

    const std::vector<std::string>& paths_;
    const trust::TrustRoot& trust_;
    DictCache& dicts_;
    std::vector<std::optional<Prepared>> slots_;
    std::vector<std::thread> workers_;
    std::mutex m_;
    std::condition_variable cv_;
    std::size_t next_ = 0, taken_ = 0, window_ = 8;
    bool stop_ = false;
};

// Runs fn(i) for i in [0, n) on up to 8 threads; the first exception is rethrown.
template <typename Fn>
void parallel_for(std::size_t n, Fn&& fn) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (std::size_t i = next++; i < n; i = next++) {
            try {
                fn(i);
            } catch (...) {
                std::lock_guard<std::mutex> g(error_mutex);
                if (!error) error = std::current_exception();
                next = n;
            }
        }
    };
    unsigned threads = detail::worker_threads(8);
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, n));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

// One stored statement re-verified: what the report may use of it.
struct Checked {
    std::string statement_sha256;
    std::string findings_sha256;  // as the statement signs it; "" when it lists no findings.json
    BundleSummary summary;
};

// trust::verify_bundle_signer for many statements that share few collector certificates (one
// per kit): each distinct certificate is verified once under this trust root
// (trust::CertificateCache), the rest per statement by trust::check_bundle_signer, the same check
// verify_bundle_signer makes.
class SignerCheck {
  public:
    explicit SignerCheck(const trust::TrustRoot& trust) : trust_(trust) {}

    void verify(const crypto::Envelope& env, const json& predicate) {
        trust::check_bundle_signer(
            certificates_.verify(trust_, trust::bundle_certificate_text(predicate)), env,
            predicate);
    }

  private:
    const trust::TrustRoot& trust_;
    trust::CertificateCache certificates_;
};

// The signed statement of a stored bundle, verified as the bundle reader verifies it (payload
// type, statement type, collector certificate and signature under trust, revocations included),
// its digest recomputed, and the stored findings.json checked against the digest it signs.
// Throws VerifyError with the reason.
Checked check_statement(const std::string& file, const std::string& file_sha256,
                        const crypto::Envelope& env, const std::string& findings_json,
                        SignerCheck& signer) {
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("statement has payloadType '" + env.payload_type.substr(0, 80) + "'");
    json statement = parse_json_strict(env.payload, "stored statement");
    auto is = [&](const char* key, std::string_view want) {
        auto it = statement.find(key);
        return it != statement.end() && it->is_string() && *it == want;
    };
    if (statement.is_discarded() || !statement.is_object() ||
        !is("_type", evidence::kStatementType) ||
        evidence::evidence_format(str(statement, "predicateType")) == 0 ||
        !statement.contains("subject") || !statement["subject"].is_array() ||
        !statement.contains("predicate") || !statement["predicate"].is_object())
        throw VerifyError("stored statement is not an evidence statement");
    signer.verify(env, statement["predicate"]);
    Checked c;
    c.statement_sha256 = crypto::sha256_hex(env.payload);
    for (const auto& subject : statement["subject"]) {
        if (!subject.is_object() || str(subject, "name") != "findings.json") continue;
        c.findings_sha256 = str(subject.value("digest", json::object()), "sha256");
        if (c.findings_sha256.empty())
            throw VerifyError("statement lists findings.json without its sha256");
    }
    if (!c.findings_sha256.empty() && crypto::sha256_hex(findings_json) != c.findings_sha256)
        throw VerifyError("stored findings.json does not match the digest its statement signs");
    try {
        c.summary =
            summarize(file, file_sha256, c.statement_sha256, std::move(statement["predicate"]),
                      c.findings_sha256.empty() ? std::string_view() : findings_json);
    } catch (const json::exception& e) {
        throw VerifyError(std::string("statement predicate is malformed: ") + e.what());
    }
    return c;
}

// A SHA-256 in hex (64 digits) as its 32 bytes; a digest of another form cannot be held.
std::array<unsigned char, 32> digest_bytes(const std::string& hex) {
    std::array<unsigned char, 32> out{};
    auto bytes = core::hex_decode(hex);
    if (!bytes || bytes->size() != out.size())
        throw VerifyError("ledger: a verified digest is not a SHA-256");
    std::memcpy(out.data(), bytes->data(), out.size());
    return out;
}

std::string digest_hex(const std::array<unsigned char, 32>& d) {
    return core::hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// An unnamed scratch file in TMPDIR (unlinked from the start), closed with its last owner.
std::shared_ptr<std::FILE> scratch_file() {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = tmp && *tmp ? tmp : "/tmp";
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::string tmpl = dir + "/audit-ledger.XXXXXX";
        fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd < 0) throw IoError("cannot create a scratch file in " + dir);
        ::unlink(tmpl.c_str());
    }
    std::FILE* f = ::fdopen(fd, "w+");
    if (!f) {
        ::close(fd);
        throw IoError("cannot open a scratch file in " + dir);
    }
    return std::shared_ptr<std::FILE>(f, [](std::FILE* p) { std::fclose(p); });
}

// A directory of our own for chain heads re-verified from stored bytes (the head reader takes
// a path); removed with everything in it.
class ScratchDir {
  public:
    ScratchDir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/audit-ledger.XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw IoError("cannot create a temporary directory");
        path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A kit id as a file name (it comes from the ledger's own columns here): no '/' or control
// characters; the head reader may expect the name <kit>.chain-head.dsse.json.
// The fleet-wide facts of Ledger::verify, kept on disk while the statements are verified and
// drawn kit by kit at the end: chain issues (FleetFacts of one kit's bundles and heads at a time),
// kit sequences held by two statements (conflicts), strong identifiers under two or more hosts.
class FleetScratch {
  public:
    FleetScratch() : db_("", true) {
        db_.exec(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -8192; "
            "PRAGMA temp_store = FILE;"
            "CREATE TABLE seen(statement BLOB PRIMARY KEY) WITHOUT ROWID;"
            "CREATE TABLE refs(kit TEXT NOT NULL, n INTEGER NOT NULL, ref TEXT NOT NULL, "
            "PRIMARY KEY(kit, n)) WITHOUT ROWID;"
            "CREATE TABLE ids(kv TEXT NOT NULL, host TEXT NOT NULL, PRIMARY KEY(kv, host)) "
            "WITHOUT ROWID;"
            "BEGIN");
        seen_.emplace(db_, "INSERT OR IGNORE INTO seen VALUES (?1)");
        add_ref_.emplace(db_, "INSERT INTO refs VALUES (?1, ?2, ?3)");
        add_id_.emplace(db_, "INSERT OR IGNORE INTO ids VALUES (?1, ?2)");
    }

    // False when this statement digest was seen before.
    bool first_time(const std::array<unsigned char, 32>& statement) {
        seen_->bind_blob(
            1, std::string_view(reinterpret_cast<const char*>(statement.data()), statement.size()));
        seen_->run();
        return seen_->changes() > 0;
    }

    // One verified statement's fleet-wide facts (its scan end and file name name a conflict).
    void add(const BundleRef& r, const std::string& finished, const std::string& file) {
        json ids = json::object();
        for (const auto& [k, val] : r.ids) ids[k] = val;
        add_ref_->bind(1, r.kit_id)
            .bind(2, n_++)
            .bind(3, json{{"sha256", r.sha256},
                          {"previous_sha256", r.previous_sha256},
                          {"host", r.host_key},
                          {"dmi", r.dmi_product_uuid},
                          {"sequence", r.sequence},
                          {"statement", r.statement_sha256},
                          {"previous_statement", r.previous_statement_sha256},
                          {"format", r.format},
                          {"ids", ids},
                          {"finished", finished},
                          {"file", file}}
                         .dump())
            .run();
        // As FleetFacts counts identifiers.
        for (const auto& [k, val] : r.counted_ids())
            add_id_->bind(1, k + "\x1f" + val).bind(2, r.host_key).run();
    }

    // Into v: chain issues and conflicts kit by kit (kits in byte order, sequences ascending, a
    // sequence's statements in ledger order), and the identifiers under two or more hosts.
    void draw(VerifiedLedger& v) {
        std::map<std::string, std::vector<evidence::ChainHead>> heads;
        for (const auto& h : v.heads) heads[h.kit_id].push_back(h);
        std::vector<BundleRef> refs;
        std::vector<std::pair<std::string, std::string>> finished_file;
        auto kit_done = [&] {
            if (refs.empty()) return;
            const std::string kit = refs.front().kit_id;
            FleetFacts facts(refs, heads[kit], {});
            v.chain_issues.insert(v.chain_issues.end(), facts.chain_issues().begin(),
                                  facts.chain_issues().end());
            // Conflicts from the verified statements alone: a kit sequence held by two.
            std::map<std::uint64_t, std::vector<std::size_t>> by_sequence;
            for (std::size_t i = 0; i < refs.size(); ++i)
                by_sequence[refs[i].sequence].push_back(i);
            for (const auto& [seq, list] : by_sequence)
                for (std::size_t k = 1; k < list.size(); ++k) {
                    const BundleRef& b = refs[list[k]];
                    const BundleRef& first = refs[list[0]];
                    v.conflicts.push_back({{"kit", kit},
                                           {"finished", std::max(finished_file[list[k]].first,
                                                                 finished_file[list[0]].first)},
                                           {"sequence", seq},
                                           {"statement_sha256", b.statement_sha256},
                                           {"other_statement_sha256", first.statement_sha256},
                                           {"sha256", b.sha256},
                                           {"other_sha256", first.sha256},
                                           {"file", finished_file[list[k]].second},
                                           {"host", b.host_key}});
                }
            refs.clear();
            finished_file.clear();
        };
        sql::Stmt q(db_, "SELECT kit, ref FROM refs ORDER BY kit, n");
        while (q.step()) {
            const std::string kit = q.text(0);
            if (!refs.empty() && refs.front().kit_id != kit) kit_done();
            const json j = json::parse(q.text(1));
            BundleRef r;
            r.kit_id = kit;
            r.sha256 = j.at("sha256").get<std::string>();
            r.previous_sha256 = j.at("previous_sha256").get<std::string>();
            r.host_key = j.at("host").get<std::string>();
            r.dmi_product_uuid = j.at("dmi").get<std::string>();
            r.sequence = j.at("sequence").get<std::uint64_t>();
            r.statement_sha256 = j.at("statement").get<std::string>();
            r.previous_statement_sha256 = j.at("previous_statement").get<std::string>();
            r.format = j.at("format").get<int>();
            for (const auto& [k, val] : j.at("ids").items()) r.ids[k] = val.get<std::string>();
            refs.push_back(std::move(r));
            finished_file.emplace_back(j.at("finished").get<std::string>(),
                                       j.at("file").get<std::string>());
        }
        kit_done();
        sql::Stmt ids(db_,
                      "SELECT kv, host FROM ids WHERE kv IN (SELECT kv FROM ids GROUP BY kv "
                      "HAVING count(*) > 1) ORDER BY kv, host");
        while (ids.step()) v.shared_ids[ids.text(0)].insert(ids.text(1));
    }

  private:
    sql::Db db_;
    std::optional<sql::Stmt> seen_, add_ref_, add_id_;
    std::int64_t n_ = 0;
};

std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 96))
        out.push_back(
            std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c
                                                                                            : '_');
    return out.empty() ? "kit" : out;
}

// A stored chain head verified from its bytes under trust.
evidence::ChainHead check_head(const ScratchDir& dir, std::size_t n, const std::string& kit,
                               const std::string& envelope, const trust::TrustRoot& trust) {
    const std::string sub = dir.path() + "/" + std::to_string(n);
    if (::mkdir(sub.c_str(), 0700) != 0) throw IoError("cannot create " + sub);
    const std::string path = sub + "/" + safe_name(kit) + std::string(evidence::kChainHeadSuffix);
    evidence::write_file_atomic(path, envelope, true, 0600);
    return evidence::read_chain_head(path, trust);
}

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
            {"rejected", rejected}, {"chain_heads", chain_heads}};
}

json NotVerified::to_json() const {
    return {{"kind", kind},     {"file", file},
            {"sha256", sha256}, {"statement_sha256", statement_sha256},
            {"kit", kit},       {"reason", reason}};
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
    } else if (version == 2 || version == 3) {
        if (version == 2) migrate_2_to_3();
        migrate_3_to_4();
    } else if (version != kSchemaVersion) {
        throw UsageError(path + " has ledger schema " + std::to_string(version) +
                         "; this tool reads schema " + std::to_string(kSchemaVersion) +
                         " (import the bundles into a new ledger)");
    }
    db_->exec("PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY");
}

Ledger::~Ledger() = default;

void Ledger::create_schema() {
    // 2 KiB pages: a bundle row (6-7 KB, most of it the statement's signatures) splits into
    // overflow pages with little left unused; with 4 KiB pages a quarter of the file was empty.
    db_->exec("PRAGMA page_size = 2048");
    sql::Transaction tx(*db_);
    db_->exec(kSchema);
    db_->exec(kViews);
    db_->exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
    db_->exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    tx.commit();
}

// Schema 2 -> 3: the findings columns (filled from each bundle's stored findings.json) and the
// views, in one transaction; an interrupted migration leaves schema 2.
void Ledger::migrate_2_to_3() {
    sql::Transaction tx(*db_);
    db_->exec(
        "ALTER TABLE findings ADD COLUMN family TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE findings ADD COLUMN package TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE findings ADD COLUMN version TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE findings ADD COLUMN path TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE findings ADD COLUMN registry_key TEXT NOT NULL DEFAULT '';");
    {
        sql::Stmt q(*db_, "SELECT id, findings_json FROM bundles ORDER BY id");
        sql::Stmt u(*db_,
                    "UPDATE findings SET family = ?3, package = ?4, version = ?5, path = ?6, "
                    "registry_key = ?7 WHERE bundle = ?1 AND n = ?2");
        while (q.step()) {
            const std::int64_t id = q.integer(0);
            json findings = json::parse(q.text(1), nullptr, false);
            if (!findings.is_array()) continue;  // a damaged row: report will not verify it
            std::int64_t n = 0;
            for (const auto& f : findings) {
                auto c = finding_columns(f);
                u.bind(1, id).bind(2, n++);
                for (int k = 0; k < 5; ++k) u.bind(k + 3, c[static_cast<std::size_t>(k)]);
                u.run();
            }
        }
    }
    db_->exec(kViews);
    db_->exec("PRAGMA user_version = 3");
    tx.commit();
}

// Schema 3 -> 4: statements stored apart with a dictionary (new rows only: older rows keep
// everything in envelope_zst and read as before).
void Ledger::migrate_3_to_4() {
    sql::Transaction tx(*db_);
    db_->exec(
        "CREATE TABLE IF NOT EXISTS zdicts(id INTEGER PRIMARY KEY, certificate_sha256 TEXT NOT "
        "NULL UNIQUE, bytes BLOB NOT NULL);");
    bool has_statement = false;  // a ledger made schema 3 by hand (tests) may have the columns
    {
        sql::Stmt q(*db_,
                    "SELECT 1 FROM pragma_table_info('bundles') WHERE name = 'statement_zst'");
        has_statement = q.step();
    }
    if (!has_statement)
        db_->exec(
            "ALTER TABLE bundles ADD COLUMN statement_zst BLOB;"
            "ALTER TABLE bundles ADD COLUMN dict INTEGER REFERENCES zdicts(id);");
    db_->exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    tx.commit();
}

void Ledger::check_authority(const trust::TrustRoot& trust, const std::string& trust_path,
                             bool pin) {
    if (!pin) {
        check_authority_locked(trust, trust_path, false);
        return;
    }
    sql::Transaction tx(*db_);
    check_authority_locked(trust, trust_path, true);
    tx.commit();
}

void Ledger::check_authority_locked(const trust::TrustRoot& trust, const std::string& trust_path,
                                    bool pin) {
    const std::string bytes = read_input_file(trust_path, kMaxTrustFile, "trust root");
    if (crypto::sha256_hex(bytes) != trust.sha256)
        throw VerifyError(trust_path + " changed while it was being used");
    const std::string& ledger = db_->path();
    sql::Stmt q(*db_, "SELECT name, version, sha256, envelope FROM authority WHERE id = 1");
    if (!q.step()) {
        sql::Stmt any(*db_,
                      "SELECT (SELECT count(*) FROM bundles) + (SELECT count(*) FROM chain_heads)");
        if (any.step() && any.integer(0) > 0)
            throw VerifyError("ledger " + ledger +
                              " holds evidence but records no authority (edited?); refusing it");
        if (pin)
            sql::Stmt(*db_, "INSERT INTO authority VALUES (1, ?1, ?2, ?3, ?4, ?5)")
                .bind(1, trust.authority)
                .bind(2, static_cast<std::int64_t>(trust.version))
                .bind(3, trust.sha256)
                .bind(4, bytes)
                .bind(5, trust::utc_now())
                .run();
        return;
    }
    const std::string name = q.text(0), sha256 = q.text(2), envelope = q.text(3);
    const std::int64_t version = q.integer(1);
    q.reset();
    if (trust.sha256 == sha256) return;
    if (trust.authority != name)
        throw VerifyError("ledger " + ledger + " holds evidence of authority '" + name +
                          "', not of '" + trust.authority.substr(0, 64) + "' (" + trust_path +
                          "); one ledger holds one authority");
    try {
        trust::verify_against_trusted(envelope, trust_path, bytes);
    } catch (const VerifyError& e) {
        throw VerifyError("ledger " + ledger + " (authority '" + name + "', trust root version " +
                          std::to_string(version) + "): " + e.what());
    }
    if (pin && trust.version > version)
        sql::Stmt(*db_,
                  "UPDATE authority SET version = ?1, sha256 = ?2, envelope = ?3, pinned_at = ?4 "
                  "WHERE id = 1")
            .bind(1, static_cast<std::int64_t>(trust.version))
            .bind(2, trust.sha256)
            .bind(3, bytes)
            .bind(4, trust::utc_now())
            .run();
}

json Ledger::authority() {
    sql::Stmt q(*db_, "SELECT name, version, sha256, pinned_at FROM authority WHERE id = 1");
    if (!q.step()) return nullptr;
    return {{"authority", q.text(0)},
            {"version", q.integer(1)},
            {"sha256", q.text(2)},
            {"pinned_at", q.text(3)}};
}

std::vector<ImportOutcome> Ledger::import(const std::vector<std::string>& paths,
                                          const trust::TrustRoot& trust,
                                          const ImportOptions& options) {
    std::vector<ImportOutcome> out;
    // Streamed to the caller when asked (memory does not grow with the batch), else returned.
    auto emit = [&](ImportOutcome&& o) {
        if (options.on_outcome)
            options.on_outcome(std::move(o));
        else
            out.push_back(std::move(o));
    };
    const std::string now = trust::utc_now();
    const auto& progress = options.progress;
    const std::size_t total = paths.size() + options.chain_heads.size();
    sql::Db& db = *db_;
    sql::Stmt find_statement(db, "SELECT id FROM bundles WHERE statement_sha256 = ?1");
    sql::Stmt find_sha(db, "SELECT id FROM bundles WHERE sha256 = ?1");
    sql::Stmt find_seq(db,
                       "SELECT statement_sha256 FROM bundles WHERE kit_id = ?1 AND sequence = ?2");
    sql::Stmt add_conflict(db, "INSERT OR IGNORE INTO conflicts VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt add_reject(db, "INSERT OR IGNORE INTO rejected VALUES (?1, ?2, ?3, ?4)");
    sql::Stmt add_host(db,
                       "INSERT INTO hosts VALUES (?1, ?2, ?3, ?3) ON CONFLICT(host_key) DO UPDATE "
                       "SET hostname = CASE WHEN ?3 >= last_scan THEN ?2 ELSE hostname END, "
                       "first_scan = min(first_scan, ?3), last_scan = max(last_scan, ?3)");
    sql::Stmt add_bundle(db,
                         "INSERT INTO bundles VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                         "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
                         "?24)");
    sql::Stmt add_dict(db, "INSERT INTO zdicts VALUES (NULL, ?1, ?2)");
    std::unordered_map<std::string, std::int64_t> dict_ids;  // certificate sha256 -> id
    DictCache dicts;
    {
        sql::Stmt q(db, "SELECT id, certificate_sha256, bytes FROM zdicts");
        while (q.step()) {
            dict_ids.emplace(q.text(1), q.integer(0));
            dicts.preload(q.text(1), q.blob(2));
        }
    }
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
    sql::Stmt add_finding(
        db, "INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    sql::Stmt add_source(db, "INSERT OR IGNORE INTO source_coverage VALUES (?1, ?2, ?3, ?4, ?5)");
    sql::Stmt add_product(db, "INSERT OR IGNORE INTO product_coverage VALUES (?1, ?2, ?3, ?4, ?5)");
    std::unordered_map<std::string, std::int64_t> package_ids;  // this batch's lookups

    sql::Transaction tx(db);
    if (!options.trust_path.empty()) check_authority_locked(trust, options.trust_path, true);
    Pipeline pipeline(paths, trust, dicts);
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
            emit(std::move(o));
            if (progress) progress(i + 1, total);
            continue;
        }
        // A bundle is its statement: other bytes around the same statement (recompressed,
        // re-encoded) are the same bundle, never a second one.
        find_statement.bind(1, p.statement_sha256);
        bool known = find_statement.step();
        find_statement.reset();
        if (known) {
            o.result = ImportResult::duplicate;
            emit(std::move(o));
            if (progress) progress(i + 1, total);
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
                .bind(3, p.statement_sha256)
                .bind(4, other)
                .run();
            o.result = ImportResult::conflict;
            o.detail = "kit " + s.kit_id + " sequence " + std::to_string(s.sequence) +
                       " is already held by bundle " + other.substr(0, 16);
        }
        add_host.bind(1, key).bind(2, s.hostname).bind(3, s.finished).run();
        if (!p.dict) {
            p.dict = dicts.get(p.certificate_sha256, p.certificate_text, p.payload);
            p.statement_zst = compress(p.payload, *p.dict);
        }
        auto [dict_it, fresh_dict] = dict_ids.try_emplace(p.certificate_sha256, 0);
        if (fresh_dict) {
            add_dict.bind(1, p.certificate_sha256).bind_blob(2, *p.dict).run();
            dict_it->second = sqlite3_last_insert_rowid(db.handle());
        }
        const std::int64_t dict_id = dict_it->second;
        add_bundle.bind(1, p.sha256)
            .bind(2, static_cast<std::int64_t>(p.size))
            .bind(3, p.statement_sha256)
            .bind(4, static_cast<std::int64_t>(p.format))
            .bind(5, s.path)
            .bind(6, s.bundle_id)
            .bind(7, s.kit_id)
            .bind(8, static_cast<std::int64_t>(s.sequence))
            .bind(9, s.previous_sha256)
            .bind(10, key)
            .bind(11, s.hostname)
            .bind(12, s.machine_id)
            .bind(13, s.dmi_product_uuid)
            .bind(14, p.started)
            .bind(15, s.finished)
            .bind(16, p.signers)
            .bind(17, p.trust_version)
            .bind(18, p.trust_sha256)
            .bind(19, p.present)
            .bind_blob(20, p.envelope_zst)
            .bind(21, p.findings_json)
            .bind(22, now)
            .bind_blob(23, p.statement_zst)
            .bind(24, dict_id)
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
                // A cache, bounded: a fleet's distinct packages need not fit in memory.
                if (package_ids.size() >= kMaxPackageCache) package_ids.clear();
                package_ids.emplace(std::move(cache_key), pkg_id);
            }
            add_item.bind(1, id).bind(2, pkg_id).bind(3, state).run();
        }
        std::int64_t n = 0;
        for (const auto& f : p.findings)
            add_finding.bind(1, id)
                .bind(2, n++)
                .bind(3, f.product)
                .bind(4, f.rule)
                .bind(5, f.confidence)
                .bind(6, f.residue ? 1 : 0)
                .bind(7, f.columns[0])
                .bind(8, f.columns[1])
                .bind(9, f.columns[2])
                .bind(10, f.columns[3])
                .bind(11, f.columns[4])
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
        emit(std::move(o));
        if (progress) progress(i + 1, total);
    }

    // Chain heads: per kit the highest verified one is kept; a lower one never replaces it.
    sql::Stmt find_head(db, "SELECT sequence, statement_sha256 FROM chain_heads WHERE kit_id = ?1");
    sql::Stmt put_head(db,
                       "INSERT OR REPLACE INTO chain_heads VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                       "?8, ?9)");
    for (std::size_t i = 0; i < options.chain_heads.size(); ++i) {
        const std::string& path = options.chain_heads[i];
        ImportOutcome o{path, "", ImportResult::added, "", "chain_head"};
        try {
            const std::string bytes = read_input_file(path, kMaxHead, "chain head");
            o.sha256 = crypto::sha256_hex(bytes);
            evidence::ChainHead h = evidence::read_chain_head(path, trust);
            // What is stored must be what verified: refuse a file replaced while being read.
            if (read_input_file(path, kMaxHead, "chain head") != bytes)
                throw VerifyError("changed while it was being read");
            find_head.bind(1, h.kit_id);
            std::optional<std::pair<std::int64_t, std::string>> have;
            if (find_head.step()) have.emplace(find_head.integer(0), find_head.text(1));
            find_head.reset();
            const auto seq = static_cast<std::int64_t>(h.sequence);
            if (have && have->first > seq) {
                o.result = ImportResult::duplicate;
                o.detail = "kit " + h.kit_id + " head " + std::to_string(seq) +
                           " is older than head " + std::to_string(have->first) +
                           " already recorded (kept)";
            } else if (have && have->first == seq && have->second == h.statement_sha256) {
                o.result = ImportResult::duplicate;
            } else if (have && have->first == seq) {
                o.result = ImportResult::conflict;
                o.detail = "kit " + h.kit_id + " head " + std::to_string(seq) +
                           " names another bundle than the head already recorded (kept)";
            } else {
                put_head.bind(1, h.kit_id)
                    .bind(2, seq)
                    .bind(3, h.statement_sha256)
                    .bind(4, h.bundle_sha256)
                    .bind(5, h.bundle_file)
                    .bind(6, base_name(path))
                    .bind(7, o.sha256)
                    .bind(8, bytes)
                    .bind(9, now)
                    .run();
            }
        } catch (const Error& e) {
            o.result = ImportResult::rejected;
            o.detail = e.what();
        }
        emit(std::move(o));
        if (progress) progress(paths.size() + i + 1, total);
    }
    tx.commit();
    return out;
}

VerifiedLedger Ledger::verify(const trust::TrustRoot& trust, const std::string& now,
                              const std::function<void(std::size_t, std::size_t)>& progress) {
    VerifiedLedger v;
    struct Row : StoredBundle {
        std::int64_t id = 0;
        std::string statement_sha256, kit, imported_at;
        std::optional<Checked> checked;
        std::string reason;
    };
    std::size_t total = 0, done = 0;
    {
        sql::Stmt c(*db_, "SELECT count(*) FROM bundles");
        if (c.step()) total = static_cast<std::size_t>(c.integer(0));
    }
    // What grows with the fleet goes to a scratch database (a private SQLite file, deleted on
    // close, with a bounded cache): the statements seen, each bundle's fleet-wide facts by kit,
    // the strong identifiers by host. Only one kit's bundles are in memory at a time.
    FleetScratch fleet;
    std::unordered_map<std::string, std::uint32_t> host_index, time_index;
    auto intern = [](std::unordered_map<std::string, std::uint32_t>& index,
                     std::vector<std::string>& list, const std::string& s) {
        auto [it, fresh] = index.try_emplace(s, static_cast<std::uint32_t>(list.size()));
        if (fresh) list.push_back(s);
        return it->second;
    };
    v.bundles_ = scratch_file();
    SignerCheck signer(trust);
    sql::Stmt q(*db_,
                "SELECT id, statement_sha256, kit_id, imported_at, file_name, sha256, "
                "envelope_zst, findings_json, statement_zst, dict FROM bundles ORDER BY id");
    const Dicts dicts = load_dicts();
    bool more = true;
    while (more) {
        std::vector<Row> batch;
        while (batch.size() < kVerifyBatch && (more = q.step())) {
            Row r;
            r.id = q.integer(0);
            r.statement_sha256 = q.text(1);
            r.kit = q.text(2);
            r.imported_at = q.text(3);
            r.read(q, 4);
            batch.push_back(std::move(r));
        }
        parallel_for(batch.size(), [&](std::size_t i) {
            Row& r = batch[i];
            try {
                r.checked =
                    check_statement(r.file, r.sha256, r.envelope(dicts), r.findings_json, signer);
            } catch (const Error& e) {
                r.reason = e.what();
            }
            r.drop_compressed();
            r.findings_json.clear();
            r.findings_json.shrink_to_fit();
        });
        for (auto& r : batch) {
            if (!r.checked) {
                v.not_verified.push_back(
                    {"bundle", r.file, r.sha256, r.statement_sha256, r.kit, r.reason});
                continue;
            }
            const Checked& c = *r.checked;
            // The same statement twice (a copied row) is one bundle.
            const auto statement = digest_bytes(c.statement_sha256);
            if (!fleet.first_time(statement)) continue;
            const BundleSummary& s = c.summary;
            // The import time is the ledger's own claim (no key signs it): never later than now.
            const std::string imported_at =
                trust::is_rfc3339_utc(r.imported_at) && r.imported_at <= now ? r.imported_at : now;
            BundleRef ref = ref_of(s);
            VerifiedLedger::Entry e;
            e.id = r.id;
            e.host = intern(host_index, v.hosts_, ref.host_key);
            e.imported_at = intern(time_index, v.times_, imported_at);
            e.statement_sha256 = statement;
            e.has_findings = !c.findings_sha256.empty();
            if (e.has_findings) e.findings_sha256 = digest_bytes(c.findings_sha256);
            v.entries_.push_back(e);
            const std::string line = json{{"file", s.path},
                                          {"bundle_id", s.bundle_id},
                                          {"sha256", s.sha256},
                                          {"statement_sha256", c.statement_sha256},
                                          {"kit", s.kit_id},
                                          {"sequence", s.sequence},
                                          {"host", ref.host_key},
                                          {"finished", s.finished},
                                          {"imported_at", imported_at}}
                                         .dump() +
                                     "\n";
            if (std::fwrite(line.data(), 1, line.size(), v.bundles_.get()) != line.size())
                throw IoError("cannot write a scratch file: " + std::string(std::strerror(errno)));
            ++v.bundle_count_;
            fleet.add(ref, s.finished, s.path);
        }
        done += batch.size();
        if (progress) progress(done, std::max(done, total));
    }
    std::stable_sort(v.entries_.begin(), v.entries_.end(),
                     [&](const VerifiedLedger::Entry& a, const VerifiedLedger::Entry& b) {
                         return v.hosts_[a.host] < v.hosts_[b.host];
                     });

    // Chain heads: re-verified; per kit the highest that verifies counts.
    sql::Stmt h(*db_,
                "SELECT kit_id, file_name, file_sha256, statement_sha256, envelope FROM "
                "chain_heads ORDER BY kit_id");
    std::optional<ScratchDir> scratch;
    std::map<std::string, evidence::ChainHead> heads;
    std::size_t n = 0;
    while (h.step()) {
        const std::string kit = h.text(0), file = h.text(1);
        try {
            if (!scratch) scratch.emplace();
            auto head = check_head(*scratch, n++, kit, h.text(4), trust);
            head.path = file;
            auto [it, fresh] = heads.emplace(head.kit_id, head);
            if (!fresh && it->second.sequence < head.sequence) it->second = head;
        } catch (const Error& e) {
            v.not_verified.push_back({"chain_head", file, h.text(2), h.text(3), kit, e.what()});
        }
    }
    for (auto& [kit, head] : heads) v.heads.push_back(std::move(head));
    fleet.draw(v);
    return v;
}

FleetFacts::FleetFacts(std::vector<ChainIssue> chain_issues,
                       std::map<std::string, std::set<std::string>> shared_ids,
                       const MergeOptions& options)
    : options_(options), chain_issues_(std::move(chain_issues)), id_hosts_(std::move(shared_ids)) {
    for (const auto& issue : chain_issues_) issues_by_kit_[issue.kit].push_back(&issue);
}

void Ledger::for_each_host(const VerifiedLedger& verified,
                           const std::function<void(std::vector<BundleSummary>&&)>& fn) {
    sql::Stmt q(*db_,
                "SELECT file_name, sha256, envelope_zst, findings_json, statement_zst, dict FROM "
                "bundles WHERE id = ?1");
    const Dicts dicts = load_dicts();
    // The rows are read here (one SQLite connection), a batch at a time; each is decoded,
    // checked against the digests verify saw and summarized on every core; the hosts are handed
    // on here, in entry order, exactly as one thread would.
    struct Row : StoredBundle {
        std::optional<BundleSummary> summary;
    };
    std::vector<BundleSummary> host;
    std::optional<std::uint32_t> current;
    const auto& entries = verified.entries_;
    for (std::size_t from = 0; from < entries.size(); from += kVerifyBatch) {
        const std::size_t count = std::min(kVerifyBatch, entries.size() - from);
        std::vector<Row> rows(count);
        for (std::size_t i = 0; i < count; ++i) {
            Row& r = rows[i];
            q.bind(1, entries[from + i].id);
            if (!q.step())
                throw VerifyError("ledger: a verified bundle vanished during the report");
            r.read(q, 0);
            q.reset();
        }
        parallel_for(count, [&](std::size_t i) {
            Row& r = rows[i];
            const VerifiedLedger::Entry& e = entries[from + i];
            auto env = r.envelope(dicts);
            // Verified a moment ago; these bytes must still be those.
            const std::string statement_sha256 = digest_hex(e.statement_sha256);
            if (crypto::sha256_hex(env.payload) != statement_sha256 ||
                (e.has_findings &&
                 crypto::sha256_hex(r.findings_json) != digest_hex(e.findings_sha256)))
                throw VerifyError("ledger: stored statement of " + r.file +
                                  " changed during the report");
            json statement = parse_json_strict(env.payload, "stored statement of " + r.file);
            if (!statement.is_object() || !statement.contains("predicate"))
                throw VerifyError("ledger: stored statement of " + r.file + " is damaged");
            r.summary =
                summarize(r.file, r.sha256, statement_sha256, std::move(statement["predicate"]),
                          e.has_findings ? std::string_view(r.findings_json) : std::string_view());
            r.summary->imported_at = verified.times_[e.imported_at];
            r.drop_compressed();
        });
        for (std::size_t i = 0; i < count; ++i) {
            const VerifiedLedger::Entry& e = entries[from + i];
            if (current && *current != e.host && !host.empty()) {
                fn(std::move(host));
                host.clear();
            }
            current = e.host;
            host.push_back(std::move(*rows[i].summary));
        }
    }
    if (!host.empty()) fn(std::move(host));
}

void VerifiedLedger::for_each_bundle(const std::function<void(const json&)>& fn) const {
    if (!bundles_) return;
    std::FILE* f = bundles_.get();
    if (std::fflush(f) != 0 || std::fseek(f, 0, SEEK_SET) != 0)
        throw IoError("cannot read a scratch file");
    char* line = nullptr;
    std::size_t cap = 0;
    struct Free {
        char*& p;
        ~Free() { std::free(p); }
    } free_line{line};
    for (ssize_t n; (n = ::getline(&line, &cap, f)) > 0;)
        fn(json::parse(std::string_view(line, static_cast<std::size_t>(n))));
    std::fseek(f, 0, SEEK_END);
}

std::map<std::int64_t, std::string> Ledger::load_dicts() {
    std::map<std::int64_t, std::string> out;
    sql::Stmt q(*db_, "SELECT id, bytes FROM zdicts");
    while (q.step()) out.emplace(q.integer(0), q.blob(1));
    return out;
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
    s.chain_heads = count("SELECT count(*) FROM chain_heads");
    return s;
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

}  // namespace audit::attest
