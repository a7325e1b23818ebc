// audit-verify: bundles verified by a pool of workers (verify_bundles), each outcome applied to
// the context in input order (apply_bundle).
#include <algorithm>
#include <atomic>
#include <thread>

#include "audit/attest/attest.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/predicate.h"
#include "audit/fs/parallel_walker.h"
#include "verify_tool.h"

namespace audit::verify_tool {

namespace {

json limits_of(const evidence::Predicate& predicate) {
    json unsigned_manifests = json::array();
    for (const auto& man : predicate.manifests.value_or(std::vector<evidence::ManifestRecord>{}))
        if (man.signature_status() != "verified") unsigned_manifests.push_back(man.id.value_or(""));
    const std::string self_check =
        predicate.kit.self_check ? predicate.kit.self_check_status() : "none";
    return {{"manifests_unsigned", unsigned_manifests}, {"kit_self_check", self_check}};
}

}  // namespace

BundleOutcome verify_bundle(const std::string& path, const Context& ctx) {
    BundleOutcome out;
    try {
        json r = {{"file", path}, {"kind", "bundle"}};
        auto b = evidence::read_bundle(path, ctx.trust, ctx.keep_summaries || ctx.keep_files);
        const evidence::Predicate& p = b.evidence;  // typed (and shape-checked) by the reader
        r["detail"] = {{"bundle_id", p.bundle_id},
                       {"sha256", b.sha256},
                       {"statement_sha256", b.statement_sha256},
                       {"format", b.format},
                       {"kit", p.kit.id},
                       {"sequence", p.kit.sequence},
                       {"host", p.host.hostname},
                       {"present", p.findings.present},
                       {"signers", b.signers},
                       {"limits", limits_of(p)}};
        out.ids.emplace_back(b.sha256, p.bundle_id);
        if (!b.statement_sha256.empty()) out.ids.emplace_back(b.statement_sha256, p.bundle_id);
        if (ctx.keep_summaries) {
            out.summary = attest::summarize(b);
            out.summary->path = path;
        }
        if (ctx.keep_files) {
            out.subjects = b.statement.value("subject", json::array());
            out.payload = std::move(b.envelope.payload);
            out.files = std::move(b.files);
        }
        out.result = std::move(r);
    } catch (const Error& e) {
        out.error = e.what();
        out.failure = e.exit();
    } catch (...) {
        out.unexpected = std::current_exception();
    }
    return out;
}

json apply_bundle(BundleOutcome& outcome, Context& ctx) {
    for (const auto& [digest, id] : outcome.ids) ctx.bundle_ids[digest] = id;
    if (outcome.summary) ctx.summaries.push_back(std::move(*outcome.summary));
    if (ctx.keep_files) {
        ctx.payload = std::move(outcome.payload);
        ctx.subjects = std::move(outcome.subjects);
        ctx.files = std::move(outcome.files);
    }
    return std::move(outcome.result);
}

std::vector<BundleOutcome> verify_bundles(const std::vector<std::string>& paths, const Context& ctx,
                                          unsigned jobs) {
    std::vector<BundleOutcome> out(paths.size());
    if (jobs == 0) jobs = fs::default_jobs();
    jobs = std::max(1u, std::min<unsigned>(jobs, static_cast<unsigned>(paths.size())));
    std::atomic<std::size_t> next{0};
    // Each worker writes only the slots it took: no outcome depends on another's.
    auto work = [&] {
        for (std::size_t i = next++; i < paths.size(); i = next++)
            out[i] = verify_bundle(paths[i], ctx);
    };
    if (jobs <= 1) {
        work();
        return out;
    }
    std::vector<std::thread> pool;
    pool.reserve(jobs);
    for (unsigned j = 0; j < jobs; ++j) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    return out;
}

}  // namespace audit::verify_tool
