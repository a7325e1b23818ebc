#include "audit/evidence/chain_head.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "audit/core/hex.h"
#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"
#include "audit/trust/certificate.h"

namespace audit::evidence {

namespace {

using nlohmann::json;
constexpr std::size_t kMaxHead = 1u << 20;

bool is_bundle_name(const std::string& s) {
    const std::string suffix(kBundleSuffix);
    return s.size() > suffix.size() && s.size() <= 255 && s.front() != '.' &&
           s.find('/') == std::string::npos && s.find('\0') == std::string::npos &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string write_chain_head(const std::string& dir, const ChainHead& head,
                             const crypto::SigningKey& key,
                             const std::string& collector_certificate) {
    if (!valid_kit_id(head.kit_id)) throw UsageError("invalid kit id '" + head.kit_id + "'");
    if (head.sequence == 0 || !core::is_lower_hex(head.statement_sha256, 64) ||
        !core::is_lower_hex(head.bundle_sha256, 64) || !is_bundle_name(head.bundle_file))
        throw UsageError("chain head of kit " + head.kit_id + " is incomplete");
    const std::string written = head.written.empty() ? trust::utc_now() : head.written;
    json statement = {
        {"_type", kStatementType},
        {"subject", json::array({{{"name", head.bundle_file},
                                  {"digest", {{"sha256", head.statement_sha256}}}}})},
        {"predicateType", kChainHeadPredicate},
        {"predicate",
         {{"kit",
           {{"id", head.kit_id},
            {"sequence", head.sequence},
            {"statement_sha256", head.statement_sha256},
            {"bundle_sha256", head.bundle_sha256}}},
          {"collector",
           {{"keyid", key.identity().keyid}, {"certificate", json::parse(collector_certificate)}}},
          {"written", written}}}};
    crypto::Envelope env;
    env.payload_type = std::string(kPayloadType);
    env.payload = statement.dump();
    env.sign(key);
    const std::string path = dir + "/" + head.kit_id + std::string(kChainHeadSuffix);
    write_file_atomic(path, env.to_json() + "\n");
    return path;
}

ChainHead read_chain_head(const std::string& path, const trust::TrustRoot& trust) {
    const std::string text = read_input_file_within<VerifyError>(path, kMaxHead, "chain head",
                                                                 ": chain head is too large");
    try {
        const auto env = crypto::Envelope::parse(text, kMaxHead);
        if (env.payload_type != kPayloadType)
            throw VerifyError("payloadType is '" + env.payload_type.substr(0, 80) + "', expected " +
                              std::string(kPayloadType));
        const json st = parse_json_strict(env.payload, "chain head payload");
        auto str = [](const json& o, const char* key) -> std::string {
            auto it = o.is_object() ? o.find(key) : o.end();
            if (!o.is_object() || it == o.end() || !it->is_string())
                throw VerifyError(std::string("field ") + key + " is missing or not a string");
            return it->get<std::string>();
        };
        if (!st.is_object() || str(st, "_type") != kStatementType ||
            str(st, "predicateType") != kChainHeadPredicate)
            throw VerifyError("not a chain head statement (" + std::string(kChainHeadPredicate) +
                              ")");
        const json& p = st.contains("predicate") ? st["predicate"] : json();
        if (!p.is_object() || !p.contains("kit") || !p["kit"].is_object())
            throw VerifyError("chain head predicate lacks its kit");
        const json& kit = p["kit"];
        ChainHead h;
        h.path = path;
        h.kit_id = str(kit, "id");
        h.statement_sha256 = str(kit, "statement_sha256");
        h.bundle_sha256 = str(kit, "bundle_sha256");
        h.written = str(p, "written");
        if (!kit.contains("sequence") || !kit["sequence"].is_number_unsigned() ||
            kit["sequence"].get<std::uint64_t>() == 0)
            throw VerifyError("kit.sequence is not a positive integer");
        h.sequence = kit["sequence"].get<std::uint64_t>();
        if (!valid_kit_id(h.kit_id)) throw VerifyError("invalid kit id");
        if (!core::is_lower_hex(h.statement_sha256, 64) || !core::is_lower_hex(h.bundle_sha256, 64))
            throw VerifyError("kit digests are not sha256 in lower-case hex");
        if (!trust::is_rfc3339_utc(h.written))
            throw VerifyError("written is not an RFC 3339 UTC time");
        // The signer: a collector certified for this kit, valid when the head was written.
        json as_bundle = {{"kit", {{"id", h.kit_id}}},
                          {"scan", {{"started", h.written}, {"finished", h.written}}},
                          {"collector", p.contains("collector") ? p["collector"] : json()}};
        trust::verify_bundle_signer(trust, env, as_bundle);
        const json& subject = st.contains("subject") ? st["subject"] : json();
        if (!subject.is_array() || subject.size() != 1 || !subject[0].is_object() ||
            !subject[0].contains("digest") || !subject[0]["digest"].is_object())
            throw VerifyError("subject must name exactly the newest bundle");
        h.bundle_file = str(subject[0], "name");
        if (!is_bundle_name(h.bundle_file))
            throw VerifyError("subject name is not a bundle file name");
        if (str(subject[0]["digest"], "sha256") != h.statement_sha256)
            throw VerifyError("subject digest differs from kit.statement_sha256");
        return h;
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": chain head: " + e.what());
    }
}

}  // namespace audit::evidence
