// audit-verify: one file verified against the trust root (verify_one), and an attestation
// recomputed from the bundles given with it (recompute).
#include <filesystem>
#include <map>

#include "audit/attest/attest.h"
#include "audit/attest/attestation.h"
#include "audit/attest/report_statement.h"
#include "audit/attest/site.h"
#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/evidence/predicate.h"
#include "audit/input_file.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/site_certificate.h"
#include "audit/trust/state.h"
#include "audit/trust/trust_root.h"
#include "verify_tool.h"

namespace audit::verify_tool {

// The status the bundles given compute for the attestation's host and product, under the trust
// root given now and at the attestation's time; refuses a mismatch.
json recompute(const attest::Attestation& attestation, Context& ctx) {
    const std::string& host = attestation.host;
    const std::string& product = attestation.product;
    const std::string& at = attestation.attested_at;
    const std::string status = attest::to_string(attestation.status);
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
            throw VerifyError("attestation says " + status + " for " + host + " " + product +
                              ", but the bundles given compute " + got +
                              (why.empty() ? "" : " (" + why + ")"));
        }
        return {{"status", got}, {"reason_codes", st.reason_codes}};
    }
    throw VerifyError("the bundles given do not evaluate " + product + " on " + host +
                      ": the attestation's status cannot be recomputed");
}

// One file: returns a JSON result {file, kind, valid, detail|error}.
json verify_one(const std::string& path, Context& ctx,
                std::optional<attest::Attestation>* attestation) {
    const auto& trust = ctx.trust;
    json r = {{"file", path}};
    if (is_bundle(path)) {
        auto outcome = verify_bundle(path, ctx);
        if (outcome.unexpected) std::rethrow_exception(outcome.unexpected);
        if (!outcome.error.empty()) throw Error(outcome.failure, outcome.error);
        return apply_bundle(outcome, ctx);
    }
    if (is_head(path)) {
        r["kind"] = "chain-head";
        auto h = evidence::read_chain_head(path, trust);
        r["detail"] = {{"kit", h.kit_id},
                       {"sequence", h.sequence},
                       {"statement_sha256", h.statement_sha256},
                       {"bundle_file", h.bundle_file}};
        ctx.heads.push_back(std::move(h));
        return r;
    }
    if (path.ends_with(".toml")) {
        r["kind"] = "manifest";
        auto ms = manifest::load_manifests(path);
        auto sig = trust::verify_manifest(trust, ms.at(0), false);
        r["detail"] = {{"id", ms[0].id}, {"version", ms[0].version}, {"signers", sig.signers}};
        return r;
    }
    std::string text = read_small(path, 64u << 20);
    auto env = crypto::Envelope::parse(text);
    if (env.payload_type == trust::kCertificatePayloadType) {
        r["kind"] = "collector-certificate";
        auto c = trust::verify_certificate(trust, text);
        r["detail"] = {{"kit", c.kit_id},
                       {"collector", c.collector.keyid},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after},
                       {"issuer_role", c.issuer_role}};
        return r;
    }
    if (env.payload_type == trust::kPayloadType) {
        r["kind"] = "trust-root";
        // Against the authority pinned now and its history: another authority, an older
        // version, another document of the same version, or a newer one that does not follow
        // through root-history/ is refused.
        auto t = trust::verify_against_trusted(ctx.trust_bytes, path, text);
        t.check_expiry();
        r["detail"] = {{"version", t.version},
                       {"expires", t.expires},
                       {"authority", t.authority},
                       {"relation", t.version == trust.version ? "the trust root in use"
                                                               : "a successor of the one in use"}};
        return r;
    }
    if (env.payload_type == trust::kSiteCertificatePayloadType) {
        r["kind"] = "site-certificate";
        auto c = trust::verify_site_certificate(trust, text);
        r["detail"] = {{"site", c.site},
                       {"site_key", c.inspector.keyid},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after}};
        return r;
    }
    if (attest::is_site_summary(env)) {  // and report.json beside it, when there
        r["kind"] = "site-summary";
        auto s = attest::verify_site_summary(text, trust);
        const std::string report = attest::site_report_path(path);
        auto bytes = report.empty() ? std::nullopt
                                    : read_input_file_if_exists(report, 4ull << 30, "report.json");
        if (bytes) attest::check_site_report(s, *bytes);
        r["detail"] = {{"site", s.site},
                       {"sequence", s.sequence},
                       {"generated", s.generated},
                       {"site_key", s.site_keyid},
                       {"report", bytes ? report : ""}};
        return r;
    }
    if (attest::is_report_statement(env)) {  // report.statement.dsse.json: the files beside it
        r["kind"] = "report-statement";
        auto dir = std::filesystem::path(path).parent_path().string();
        r["detail"] = attest::verify_report_statement(env, trust, dir.empty() ? "." : dir).detail();
        return r;
    }
    r["kind"] = "attestation";
    auto a = attest::verify_attestation(env, trust);
    ctx.payload = env.payload;
    r["detail"] = {{"host", a.hostname},
                   {"product", a.product},
                   {"status", attest::to_string(a.status)},
                   {"reasons", a.reasons}};
    if (attestation) *attestation = std::move(a);
    return r;
}

}  // namespace audit::verify_tool
