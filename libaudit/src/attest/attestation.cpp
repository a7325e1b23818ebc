#include "audit/attest/attestation.h"

#include <algorithm>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/fs/walker.h"
#include "audit/strict_json.h"

namespace audit::attest {

namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& why) {
    throw VerifyError("attestation: " + why);
}

// o[key] as a string: "" when absent and optional; VerifyError when present and not a string, or
// when required and absent or empty.
std::string text(const json& o, const char* key, bool required) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) {
        if (required) malformed(std::string("no ") + key);
        return "";
    }
    if (!it->is_string()) malformed(std::string(key) + " is not a string");
    std::string s = it->get<std::string>();
    if (required && s.empty()) malformed(std::string(key) + " is empty");
    return s;
}

std::vector<std::string> texts(const json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_array()) malformed(std::string(key) + " is not a list");
    std::vector<std::string> out;
    for (const auto& s : *it) {
        if (!s.is_string()) malformed(std::string(key) + " holds a non-string");
        out.push_back(s.get<std::string>());
    }
    return out;
}

Evidence evidence_entry(const json& e) {
    if (!e.is_object()) malformed("evidence entry is malformed");
    Evidence out;
    out.bundle_id = text(e, "bundle_id", true);
    out.sha256 = text(e, "sha256", true);
    // Present means the entry names its bundle by statement digest; then it must name one.
    if (e.contains("statement_sha256")) out.statement_sha256 = text(e, "statement_sha256", true);
    out.role = text(e, "role", false);
    return out;
}

}  // namespace

std::optional<Status> status_from_string(std::string_view s) {
    for (Status v : {Status::removed, Status::absent, Status::present, Status::inconclusive})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

crypto::Envelope attestation(const HostProductStatus& status, const crypto::SigningKey& inspector,
                             const std::string& attested_at) {
    json statement = {
        {"_type", evidence::kStatementType},
        {"subject",
         json::array({{{"name", status.host_key},
                       {"digest", {{"sha256", fs::sha256_hex(status.host_ids.dump())}}}}})},
        {"predicateType", kAttestationPredicate},
        {"predicate", {{"attested_at", attested_at}, {"result", status.to_json()}}}};
    crypto::Envelope env;
    env.payload_type = std::string(evidence::kPayloadType);
    env.payload = statement.dump();
    env.sign(inspector);
    return env;
}

Attestation read_attestation(const json& statement) {
    if (!statement.is_object() || text(statement, "_type", false) != evidence::kStatementType ||
        text(statement, "predicateType", false) != kAttestationPredicate ||
        !statement.contains("predicate") || !statement["predicate"].is_object())
        throw VerifyError("not a removal attestation statement");
    const json& p = statement["predicate"];
    if (!p.contains("result") || !p["result"].is_object()) malformed("no result");
    const json& r = p["result"];
    Attestation a;
    a.attested_at = text(p, "attested_at", true);
    a.host = text(r, "host", true);
    a.hostname = text(r, "hostname", false);
    a.product = text(r, "product", true);
    a.product_name = text(r, "product_name", false);
    const std::string status = text(r, "status", true);
    auto parsed = status_from_string(status);
    if (!parsed) malformed("unknown status '" + status + "'");
    a.status = *parsed;
    a.reasons = texts(r, "reasons");
    if (r.contains("reason_codes")) {
        a.reason_codes = texts(r, "reason_codes");
    } else {  // attestations from before reason codes were signed
        for (const auto& why : a.reasons) a.reason_codes.push_back(reason_code(why));
        std::sort(a.reason_codes.begin(), a.reason_codes.end());
        a.reason_codes.erase(std::unique(a.reason_codes.begin(), a.reason_codes.end()),
                             a.reason_codes.end());
    }
    if (!r.contains("evidence") || !r["evidence"].is_array() || r["evidence"].empty())
        malformed("lists no evidence");
    for (const auto& e : r["evidence"]) a.evidence.push_back(evidence_entry(e));
    a.removed_at = text(r, "removed_at", false);
    a.clean_since = text(r, "clean_since", false);

    const json* subjects = statement.contains("subject") ? &statement["subject"] : nullptr;
    if (!subjects || !subjects->is_array() || subjects->size() != 1 ||
        !(*subjects)[0].is_object() || text((*subjects)[0], "name", true) != a.host)
        malformed("its subject is not the host of its result (" + a.host + ")");

    // What the merge never signs: a sound status with doubts, or without its latest bundle.
    if (a.status == Status::removed || a.status == Status::absent) {
        const char* s = to_string(a.status);
        if (!a.reasons.empty())
            malformed(std::string(s) + " with reasons (" + a.reasons.front() + ")");
        if (std::none_of(a.evidence.begin(), a.evidence.end(),
                         [](const Evidence& e) { return e.role == "latest"; }))
            malformed(std::string(s) + " without the latest bundle among its evidence");
        if (a.status == Status::removed && r.contains("removed_at") && a.removed_at.empty())
            malformed("removed without removed_at");
    }
    a.result = r;
    return a;
}

Attestation verify_attestation(const crypto::Envelope& env, const trust::TrustRoot& trust) {
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("attestation has payloadType '" + env.payload_type + "'");
    trust.verify_role(env, "inspector");
    return read_attestation(parse_json_strict(env.payload, "attestation payload"));
}

void check_evidence(const Attestation& attestation,
                    const std::map<std::string, std::string>& bundles) {
    for (const auto& e : attestation.evidence) {
        // An entry names its bundle by statement digest (v2 attestations) or by file digest.
        const std::string& sha = e.statement_sha256.empty() ? e.sha256 : e.statement_sha256;
        auto it = bundles.find(sha);
        if (it == bundles.end())
            throw VerifyError("attestation evidence " + e.bundle_id + " (sha256 " +
                              sha.substr(0, 16) + "…) matches none of the bundles given");
        if (it->second != e.bundle_id)
            throw VerifyError("attestation evidence sha256 " + sha.substr(0, 16) + "… is bundle " +
                              it->second + ", not " + e.bundle_id);
    }
}

}  // namespace audit::attest
