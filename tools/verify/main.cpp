// audit-verify: check bundles, attestations and trust roots against a trust root.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "audit/attest/attest.h"
#include "audit/attest/evidence_check.h"
#include "audit/attest/report_statement.h"
#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/input_file.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/state.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace {

using nlohmann::json;
namespace attest = audit::attest;

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_bundle(const std::string& p) {
    return ends_with(p, ".tar.zst") || ends_with(p, ".tar");
}

bool is_head(const std::string& p) {
    return ends_with(p, audit::evidence::kChainHeadSuffix);
}

std::string read_small(const std::string& path, std::size_t max) {
    std::string data = audit::read_input_file(path, max, "document");
    if (data.size() > max)
        throw audit::VerifyError(path + ": larger than any document it could be");
    return data;
}

std::string str(const json& j, const char* key) {
    auto it = j.is_object() ? j.find(key) : j.end();
    return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// What a verified bundle cannot support: unsigned manifests, an unverified kit. Either may show
// presence but never proves removed/absent.
json limits_of(const json& predicate) {
    json unsigned_manifests = json::array();
    auto m = predicate.find("manifests");
    if (m != predicate.end() && m->is_array())
        for (const auto& man : *m)
            if (str(man.value("signature", json::object()), "status") != "verified")
                unsigned_manifests.push_back(str(man, "id"));
    std::string self_check = "none";
    auto kit = predicate.find("kit");
    if (kit != predicate.end() && kit->is_object() && kit->contains("self_check"))
        self_check = str((*kit)["self_check"], "status");
    return {{"manifests_unsigned", unsigned_manifests}, {"kit_self_check", self_check}};
}

// What the verifier holds: the trust root given now (and its bytes), the bundles and chain heads
// verified so far (for the attestations given with them).
struct Context {
    const audit::trust::TrustRoot& trust;
    std::string trust_path, trust_bytes;
    bool keep_summaries = false;                    // attestations are among the inputs
    std::map<std::string, std::string> bundle_ids;  // statement and file digest -> bundle id
    std::vector<attest::BundleSummary> summaries;
    std::vector<audit::evidence::ChainHead> heads;
    std::int64_t clock_tolerance_s = 3600;
    // The merge of the bundles given, per attestation time: (host key, product) -> status.
    std::map<std::string, std::map<std::pair<std::string, std::string>, attest::HostProductStatus>>
        merged;
    // --extract / --print-statement (one input): what its verification established.
    bool keep_files = false;
    std::string payload;                       // the verified DSSE payload
    nlohmann::json subjects;                   // a bundle's statement subjects
    std::map<std::string, std::string> files;  // a bundle's content, every digest checked
};

// The status the bundles given compute for the attestation's host and product, under the trust
// root given now and at the attestation's time; refuses a mismatch.
json recompute(const json& statement, Context& ctx) {
    const json& predicate = statement["predicate"];
    const json& result = predicate["result"];
    const std::string host = str(result, "host"), product = str(result, "product"),
                      status = str(result, "status"), at = str(predicate, "attested_at");
    auto cached = ctx.merged.find(at);
    if (cached == ctx.merged.end()) {
        attest::MergeOptions options;
        options.now = at;
        options.clock_tolerance_s = ctx.clock_tolerance_s;
        cached = ctx.merged.emplace(at, decltype(ctx.merged)::mapped_type{}).first;
        for (auto& st : attest::merge(ctx.summaries, ctx.heads, options))
            cached->second.emplace(std::make_pair(st.host_key, st.product), std::move(st));
    }
    auto found = cached->second.find({host, product});
    if (found != cached->second.end()) {
        const auto& st = found->second;
        const std::string got = attest::to_string(st.status);
        if (got != status) {
            std::string why;
            for (const auto& r : st.reasons) why += (why.empty() ? "" : "; ") + r;
            throw audit::VerifyError("attestation says " + status + " for " + host + " " + product +
                                     ", but the bundles given compute " + got +
                                     (why.empty() ? "" : " (" + why + ")"));
        }
        return {{"status", got}, {"reason_codes", st.reason_codes}};
    }
    throw audit::VerifyError("the bundles given do not evaluate " + product + " on " + host +
                             ": the attestation's status cannot be recomputed");
}

// One file: returns a JSON result {file, kind, valid, detail|error}.
json verify_one(const std::string& path, Context& ctx) {
    const auto& trust = ctx.trust;
    json r = {{"file", path}};
    if (is_bundle(path)) {
        r["kind"] = "bundle";
        auto b = audit::evidence::read_bundle(path, trust, ctx.keep_summaries || ctx.keep_files);
        const auto& p = b.predicate();
        if (ctx.keep_files) {
            ctx.payload = b.envelope.payload;
            ctx.subjects = b.statement.value("subject", json::array());
            ctx.files = b.files;
        }
        r["detail"] = {{"bundle_id", p.value("bundle_id", "")},
                       {"sha256", b.sha256},
                       {"statement_sha256", b.statement_sha256},
                       {"kit", p["kit"].value("id", "")},
                       {"sequence", p["kit"].value("sequence", 0)},
                       {"host", p["host"].value("hostname", "")},
                       {"present", p["findings"].value("present", json::array())},
                       {"signers", b.signers},
                       {"limits", limits_of(p)}};
        ctx.bundle_ids[b.sha256] = p.value("bundle_id", "");
        if (!b.statement_sha256.empty())
            ctx.bundle_ids[b.statement_sha256] = p.value("bundle_id", "");
        if (ctx.keep_summaries) {
            ctx.summaries.push_back(attest::summarize(b));
            ctx.summaries.back().path = path;
        }
        return r;
    }
    if (is_head(path)) {
        r["kind"] = "chain-head";
        auto h = audit::evidence::read_chain_head(path, trust);
        r["detail"] = {{"kit", h.kit_id},
                       {"sequence", h.sequence},
                       {"statement_sha256", h.statement_sha256},
                       {"bundle_file", h.bundle_file}};
        ctx.heads.push_back(std::move(h));
        return r;
    }
    if (ends_with(path, ".toml")) {
        r["kind"] = "manifest";
        auto ms = audit::manifest::load_manifests(path);
        auto sig = audit::trust::verify_manifest(trust, ms.at(0), false);
        r["detail"] = {{"id", ms[0].id}, {"version", ms[0].version}, {"signers", sig.signers}};
        return r;
    }
    std::string text = read_small(path, 64u << 20);
    auto env = audit::crypto::Envelope::parse(text);
    if (env.payload_type == audit::trust::kCertificatePayloadType) {
        r["kind"] = "collector-certificate";
        auto c = audit::trust::verify_certificate(trust, text);
        r["detail"] = {{"kit", c.kit_id},
                       {"collector", c.collector.keyid},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after},
                       {"issuer_role", c.issuer_role}};
        return r;
    }
    if (env.payload_type == audit::trust::kPayloadType) {
        r["kind"] = "trust-root";
        // Against the authority pinned now and its history: another authority, an older
        // version, another document of the same version, or a newer one that does not follow
        // through root-history/ is refused.
        auto t = audit::trust::verify_against_trusted(ctx.trust_bytes, path, text);
        t.check_expiry();
        r["detail"] = {{"version", t.version},
                       {"expires", t.expires},
                       {"authority", t.authority},
                       {"relation", t.version == trust.version ? "the trust root in use"
                                                               : "a successor of the one in use"}};
        return r;
    }
    if (attest::is_report_statement(env)) {  // report.statement.dsse.json: the files beside it
        r["kind"] = "report-statement";
        auto dir = std::filesystem::path(path).parent_path().string();
        r["detail"] = attest::verify_report_statement(env, trust, dir.empty() ? "." : dir);
        return r;
    }
    r["kind"] = "attestation";
    auto st = attest::verify_attestation(env, trust);
    ctx.payload = env.payload;
    r["statement"] = st;
    const auto& res = st["predicate"]["result"];
    r["detail"] = {{"host", res.value("hostname", "")},
                   {"product", res.value("product", "")},
                   {"status", res.value("status", "")},
                   {"reasons", res.value("reasons", json::array())}};
    return r;
}

// A directory stands for the bundles and chain heads in it (sorted); other paths, and a
// directory holding none, stay as given.
std::vector<std::string> expand_directories(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::error_code ec;
        if (!std::filesystem::is_directory(a, ec)) {
            out.push_back(a);
            continue;
        }
        std::vector<std::string> found;
        for (const auto& e : std::filesystem::directory_iterator(a, ec)) {
            const std::string name = e.path().filename().string();
            if (!name.empty() && name[0] != '.' &&
                (ends_with(name, audit::evidence::kBundleSuffix) || is_head(name)))
                found.push_back(e.path().string());
        }
        if (ec) throw audit::IoError("cannot read directory " + a + ": " + ec.message());
        std::sort(found.begin(), found.end());
        // A directory with nothing to verify stays as given and is reported INVALID: verifying
        // nothing must never read as OK.
        if (found.empty()) found.push_back(a);
        out.insert(out.end(), found.begin(), found.end());
    }
    return out;
}

// A name a bundle may hold as one file of a flat directory: no separator, no dot names.
bool plain_name(const std::string& n) {
    return !n.empty() && n.size() <= 255 && n != "." && n != ".." &&
           n.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

// Refuses a DIR that exists and is not an empty directory (before anything is verified).
void check_extract_dir(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) return;
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(dir, ec)))
        throw audit::UsageError("--extract " + dir + ": exists and is not a directory");
    if (!std::filesystem::is_empty(dir, ec) || ec)
        throw audit::UsageError("--extract " + dir + ": exists and is not empty");
}

// Writes the verified content of a bundle into dir: each file its statement lists, created new
// (O_EXCL, no link followed) under a directory opened without following links.
void extract_files(const std::string& dir, const json& subjects,
                   const std::map<std::string, std::string>& files) {
    std::vector<std::string> names;
    for (const auto& s : subjects) {
        const std::string name = str(s, "name");
        if (!plain_name(name))
            throw audit::VerifyError("--extract: the statement names '" + name +
                                     "', not a plain file name");
        if (!files.count(name))
            throw audit::UsageError("--extract: " + name +
                                    " is too large to hold in memory; nothing was written");
        names.push_back(name);
    }
    check_extract_dir(dir);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw audit::IoError("cannot create " + dir + ": " + std::strerror(errno));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) throw audit::IoError("cannot open " + dir + ": " + std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> guard(new int(dfd), [](int* fd) {
        ::close(*fd);
        delete fd;
    });
    for (const auto& name : names) {
        const std::string& bytes = files.at(name);
        const int fd =
            ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            throw audit::IoError("cannot create " + dir + "/" + name + ": " + std::strerror(errno));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int e = errno;
                ::close(fd);
                throw audit::IoError("cannot write " + dir + "/" + name + ": " + std::strerror(e));
            }
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd) != 0 || ::close(fd) != 0)
            throw audit::IoError("cannot write " + dir + "/" + name + ": " + std::strerror(errno));
    }
    ::fsync(dfd);
}

// "… (manifest unsigned: cannot support removed/absent)" for the OK line of a bundle.
std::string limits_text(const json& limits) {
    std::string out;
    const auto& unsigned_manifests = limits.value("manifests_unsigned", json::array());
    if (!unsigned_manifests.empty()) {
        std::string ids;
        for (const auto& id : unsigned_manifests)
            ids += (ids.empty() ? "" : ", ") + id.get<std::string>();
        out += "; manifest unsigned (" + ids + "): cannot support removed/absent";
    }
    const std::string kit = limits.value("kit_self_check", "none");
    if (kit != "none" && kit != "verified")
        out += "; kit " + kit + ": cannot support removed/absent";
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-verify", [&] {
        audit::cli::Args args(
            argc, argv, "audit-verify", "--trust TRUST FILE... [--json]",
            {{"trust", "FILE", "trust root (trust.json)"},
             audit::cli::state_option(),
             {"clock-tolerance", "SECONDS",
              "as audit-attest's, for recomputing attestations (default 3600)"},
             {"extract", "DIR",
              "after it verified, write the one bundle's files into DIR (new or empty)"},
             {"print-statement", "",
              "after it verified, print the one bundle's or attestation's signed statement"},
             {"json", "", "print one JSON document on stdout"}},
            "Verifies evidence bundles (*.evidence.tar.zst), chain heads\n"
            "(*.chain-head.dsse.json; a directory stands for the bundles and heads in it),\n"
            "removal attestations (*.dsse.json), report statements (report.statement.dsse.json:\n"
            "every report file beside it must match its signed digest), collector\n"
            "certificates, signed manifests (*.toml with their .dsse.json) and trust roots.\n"
            "A trust-root document must be the trust root in use or a successor of it (same\n"
            "authority, walked through root-history/): another authority's root, an older\n"
            "version or another document of the same version is refused. A bundle signed over\n"
            "unsigned manifests or from an unverified kit verifies, and its OK line says it\n"
            "cannot support removed/absent. Given bundles (and chain heads) with attestations,\n"
            "every attestation's evidence must be among those bundles and its status is\n"
            "recomputed from them under the trust root given now: a mismatch is refused.\n"
            "--extract DIR and --print-statement take one bundle (or, for --print-statement,\n"
            "one attestation) and act only once it verified; their OK/INVALID line goes to\n"
            "stderr. --extract refuses a DIR that exists and is not empty.\n"
            "Exit 0 when all are valid, 3 otherwise.");
        if (args.positional().empty()) throw audit::UsageError("no files to verify (see --help)");
        auto trust = audit::cli::load_trust(args, "audit-verify", "", args.has("json"));
        Context ctx{trust, args.required("trust"), "", false, {}, {}, {}, 3600, {}, false, {}, {},
                    {}};
        ctx.trust_bytes = read_small(ctx.trust_path, 16u << 20);
        if (audit::crypto::sha256_hex(ctx.trust_bytes) != trust.sha256)
            throw audit::VerifyError(ctx.trust_path + " changed while it was being used");
        ctx.clock_tolerance_s = audit::cli::clock_tolerance(args);
        const bool extract = args.has("extract"), print_statement = args.has("print-statement");
        if (extract || print_statement) {
            if (args.positional().size() != 1)
                throw audit::UsageError("--extract and --print-statement take one file");
            if (args.has("json"))
                throw audit::UsageError("--print-statement and --extract do not go with --json");
            if (extract) check_extract_dir(args.get("extract"));
            ctx.keep_files = true;
        }
        json results = json::array();
        audit::Exit worst = audit::Exit::clean;
        // Bundles first, then chain heads, so that attestations can be checked against them.
        std::vector<std::string> paths = expand_directories(args.positional());
        std::stable_sort(paths.begin(), paths.end(),
                         [](const std::string& a, const std::string& b) {
                             auto rank = [](const std::string& p) {
                                 return is_bundle(p) ? 0 : is_head(p) ? 1 : 2;
                             };
                             return rank(a) < rank(b);
                         });
        bool have_bundles = false;
        for (const auto& p : paths) {
            have_bundles = have_bundles || is_bundle(p);
            ctx.keep_summaries =
                ctx.keep_summaries || (!is_bundle(p) && !is_head(p) && !ends_with(p, ".toml"));
        }
        ctx.keep_summaries = ctx.keep_summaries && have_bundles;
        for (const auto& path : paths) {
            json r;
            try {
                r = verify_one(path, ctx);
                if (r["kind"] == "attestation" && have_bundles) {
                    attest::check_evidence(r["statement"], ctx.bundle_ids);
                    r["detail"]["evidence_checked"] = true;
                    r["detail"]["recomputed"] = recompute(r["statement"], ctx);
                }
                r.erase("statement");
                r["valid"] = true;
            } catch (const audit::Error& e) {
                r = {{"file", path}, {"valid", false}, {"error", e.what()}};
                audit::Exit code =
                    e.exit() == audit::Exit::io ? audit::Exit::io : audit::Exit::verification;
                if (static_cast<int>(code) < static_cast<int>(worst) || worst == audit::Exit::clean)
                    worst = code;  // verification failures (3) outrank I/O errors (4)
            }
            results.push_back(r);
        }
        if ((extract || print_statement) && worst == audit::Exit::clean) {
            const auto& r = results.at(0);
            const std::string kind = r["kind"].get<std::string>();
            if (kind != "bundle" && (extract || kind != "attestation"))
                throw audit::UsageError(
                    r["file"].get<std::string>() + " is a " + kind +
                    (extract ? ", not a bundle" : ", not a bundle or attestation"));
            if (extract) extract_files(args.get("extract"), ctx.subjects, ctx.files);
            if (print_statement) std::cout << ctx.payload << std::flush;
            std::cerr << "OK       " << r["file"].get<std::string>() << " (" << kind
                      << (extract ? ", extracted to " + args.get("extract") : std::string())
                      << ")\n";
            return 0;
        }
        if (extract || print_statement) {
            const auto& r = results.at(0);
            std::cerr << "INVALID  " << r["file"].get<std::string>() << ": "
                      << r.value("error", std::string()) << " (nothing extracted or printed)\n";
            return static_cast<int>(worst);
        }
        if (args.has("json")) {
            audit::cli::print_json({{"valid", worst == audit::Exit::clean}, {"results", results}});
        } else {
            for (const auto& r : results) {
                if (!r["valid"].get<bool>()) {
                    std::cout << "INVALID  " << r["file"].get<std::string>() << ": "
                              << r["error"].get<std::string>() << "\n";
                    continue;
                }
                std::cout << "OK       " << r["file"].get<std::string>() << " ("
                          << r["kind"].get<std::string>();
                const auto& d = r["detail"];
                if (r["kind"] == "bundle")
                    std::cout << " " << d["bundle_id"].get<std::string>() << ", kit "
                              << d["kit"].get<std::string>() << " #" << d["sequence"]
                              << ", present "
                              << d["present"].dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace)
                              << limits_text(d["limits"]);
                else if (r["kind"] == "chain-head")
                    std::cout << " of kit " << d["kit"].get<std::string>() << " at #"
                              << d["sequence"];
                else if (r["kind"] == "manifest")
                    std::cout << " " << d["id"].get<std::string>() << " "
                              << d["version"].get<std::string>() << ", signed";
                else if (r["kind"] == "collector-certificate")
                    std::cout << " for kit " << d["kit"].get<std::string>() << ", "
                              << d["not_before"].get<std::string>() << " .. "
                              << d["not_after"].get<std::string>();
                else if (r["kind"] == "attestation")
                    std::cout << " " << d["host"].get<std::string>() << " "
                              << d["product"].get<std::string>() << ": "
                              << d["status"].get<std::string>()
                              << (d.contains("recomputed") ? ", recomputed from the bundles given"
                                                           : "");
                else if (r["kind"] == "report-statement")
                    std::cout << " over " << d["files"].size() << " report files, unchanged";
                else
                    std::cout << " of " << d["authority"].get<std::string>() << ", version "
                              << d["version"] << ", expires " << d["expires"].get<std::string>()
                              << ": " << d["relation"].get<std::string>();
                std::cout << ")\n";
            }
        }
        return static_cast<int>(worst);
    });
}
