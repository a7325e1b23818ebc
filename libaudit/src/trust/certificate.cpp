#include "audit/trust/certificate.h"

#include <algorithm>

#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/strict_json.h"
#include "trust/certificate_common.h"

namespace audit::trust {

namespace {

constexpr std::string_view kType = "audit-toolkit/collector-certificate";
constexpr std::size_t kMaxCertificate = 1u << 20;

std::string short_id(const std::string& keyid) {
    return keyid.substr(0, 16);
}

const std::string& time_field(const nlohmann::json& j, const char* key) {
    return certificate_common::time_field(j, key, "collector certificate");
}

}  // namespace

nlohmann::json CollectorCertificate::to_payload_json() const {
    return {{"_type", kType},           {"authority", authority},
            {"kit_id", kit_id},         {"collector", collector.to_json()},
            {"not_before", not_before}, {"not_after", not_after},
            {"issued", issued}};
}

CollectorCertificate CollectorCertificate::from_payload_json(const nlohmann::json& j) {
    auto fail = [](const std::string& m) { throw VerifyError("collector certificate: " + m); };
    const auto type = j.is_object() ? j.find("_type") : j.end();
    if (!j.is_object() || type == j.end() || !type->is_string() || *type != kType)
        fail("\"_type\" is not \"" + std::string(kType) + "\"");
    CollectorCertificate c;
    auto str = [&](const char* key) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string() || it->get<std::string>().empty() ||
            it->get<std::string>().size() > 256)
            fail(std::string("\"") + key + "\" must be a non-empty string");
        return it->get<std::string>();
    };
    c.authority = str("authority");
    c.kit_id = str("kit_id");
    if (!j.contains("collector")) fail("\"collector\" is missing");
    c.collector = crypto::PublicIdentity::from_json(j["collector"]);
    c.not_before = time_field(j, "not_before");
    c.not_after = time_field(j, "not_after");
    c.issued = time_field(j, "issued");
    if (c.not_after <= c.not_before) fail("\"not_after\" is not after \"not_before\"");
    return c;
}

std::string issue_certificate(const TrustRoot& trust, const crypto::SigningKey& issuer,
                              const crypto::PublicIdentity& collector, const std::string& kit_id,
                              const std::string& not_before, const std::string& not_after) {
    const auto& id = issuer.identity().keyid;
    auto in_role = [&](const char* role) {
        const auto& ids = trust.roles.at(role).keyids;
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    if (!in_role("kit") && !in_role("root"))
        throw UsageError("key " + short_id(id) + " is not a kit or root key of the trust root");
    if (!certificate_common::valid_name(kit_id))
        throw UsageError("kit id '" + kit_id + "' must be 1-64 characters of A-Z a-z 0-9 - .");
    certificate_common::check_issue_window(trust, not_before, not_after);
    if (auto why = trust.policy.refusal(collector); !why.empty())
        throw UsageError("collector " + why);
    CollectorCertificate c;
    c.authority = trust.authority;
    c.kit_id = kit_id;
    c.collector = collector;
    c.not_before = not_before;
    c.not_after = not_after;
    c.issued = utc_now();
    return certificate_common::sign(issuer, kCertificatePayloadType, c.to_payload_json());
}

CollectorCertificate verify_certificate(const TrustRoot& trust, std::string_view envelope_json) {
    auto env = crypto::Envelope::parse(envelope_json, kMaxCertificate);
    if (env.payload_type != kCertificatePayloadType)
        throw VerifyError("not a collector certificate: payloadType is '" +
                          env.payload_type.substr(0, 80) + "'");
    CollectorCertificate c;
    try {
        c.issuers = trust.verify_role(env, "kit");
        c.issuer_role = "kit";
    } catch (const VerifyError& kit_error) {
        try {
            c.issuers = trust.verify_role(env, "root");
            c.issuer_role = "root";
        } catch (const VerifyError&) {
            throw VerifyError(std::string("collector certificate: ") + kit_error.what());
        }
    }
    auto payload = parse_json_strict(env.payload, "collector certificate payload");
    auto issuers = std::move(c.issuers);
    auto role = std::move(c.issuer_role);
    c = CollectorCertificate::from_payload_json(payload);
    c.issuers = std::move(issuers);
    c.issuer_role = std::move(role);
    if (c.authority != trust.authority)
        throw VerifyError("collector certificate is for authority '" + c.authority.substr(0, 64) +
                          "', not '" + trust.authority + "'");
    const std::string& keyid = c.collector.keyid;
    if (trust.is_revoked(c.collector))
        throw VerifyError("collector key " + short_id(keyid) + " is revoked");
    if (auto why = trust.policy.refusal(c.collector); !why.empty())
        throw VerifyError("collector " + why);
    const auto& listed = trust.roles.at("collector").keyids;
    if (!listed.empty() && std::find(listed.begin(), listed.end(), keyid) == listed.end())
        throw VerifyError("collector key " + short_id(keyid) +
                          " is not among the collector keys the trust root lists");
    return c;
}

CollectorCertificate CertificateCache::verify(const TrustRoot& trust,
                                              const std::string& envelope_json) {
    // The trust root as verify_certificate sees it: every field, not the file it came from (a
    // caller may hold a root changed in memory).
    std::pair<std::string, std::string> key{crypto::sha256_hex(trust.to_payload_json().dump()),
                                            envelope_json};
    {
        std::lock_guard<std::mutex> g(m_);
        auto it = known_.find(key);
        if (it != known_.end()) {
            if (!it->second.refusal.empty()) throw VerifyError(it->second.refusal);
            return it->second.certificate;
        }
    }
    Entry entry;
    ++verifications_;
    try {
        entry.certificate = verify_certificate(trust, envelope_json);
    } catch (const VerifyError& e) {
        entry.refusal = e.what();
        if (entry.refusal.empty()) throw;  // an empty message could not be told from success
    }
    std::lock_guard<std::mutex> g(m_);
    if (known_.size() >= max_entries_) known_.clear();
    auto it = known_.emplace(std::move(key), std::move(entry)).first;
    if (!it->second.refusal.empty()) throw VerifyError(it->second.refusal);
    return it->second.certificate;
}

CertificateCache& bundle_certificate_cache() {
    static CertificateCache cache;
    return cache;
}

std::string bundle_certificate_text(const nlohmann::json& predicate) {
    const auto* cert_json = predicate.is_object() && predicate.contains("collector") &&
                                    predicate["collector"].is_object() &&
                                    predicate["collector"].contains("certificate")
                                ? &predicate["collector"]["certificate"]
                                : nullptr;
    if (!cert_json || !cert_json->is_object())
        throw VerifyError("bundle carries no collector certificate");
    return cert_json->dump();
}

void check_bundle_signer(const CollectorCertificate& cert, const crypto::Envelope& env,
                         const nlohmann::json& predicate) {
    if (!env.signed_by(cert.collector))
        throw VerifyError("statement is not signed by every component of collector key " +
                          short_id(cert.collector.keyid) + " (certified for kit " + cert.kit_id +
                          ")");
    // value() would throw a JSON type error on a non-string: read strings only.
    auto str = [](const nlohmann::json& o, const char* key) {
        auto it = o.is_object() ? o.find(key) : o.end();
        return o.is_object() && it != o.end() && it->is_string() ? it->get<std::string>()
                                                                 : std::string();
    };
    const auto kit = predicate.contains("kit") ? str(predicate["kit"], "id") : std::string();
    if (kit != cert.kit_id)
        throw VerifyError("bundle of kit '" + kit.substr(0, 64) +
                          "' is signed by a collector certified for kit '" + cert.kit_id + "'");
    const auto& scan = predicate.contains("scan") && predicate["scan"].is_object()
                           ? predicate["scan"]
                           : nlohmann::json::object();
    const std::string started = str(scan, "started"), finished = str(scan, "finished");
    if (!is_rfc3339_utc(started) || !is_rfc3339_utc(finished))
        throw VerifyError("bundle predicate lacks its scan times");
    if (started < cert.not_before || finished > cert.not_after)
        throw VerifyError("bundle was signed outside its collector's validity window (scan " +
                          started + " .. " + finished + ", certificate " + cert.not_before +
                          " .. " + cert.not_after + ")");
}

std::vector<std::string> verify_bundle_signer(const TrustRoot& trust, const crypto::Envelope& env,
                                              const nlohmann::json& predicate) {
    const auto cert = verify_certificate(trust, bundle_certificate_text(predicate));
    check_bundle_signer(cert, env, predicate);
    return {cert.collector.keyid};
}

namespace certificate_common {

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '.';
    });
}

void check_issue_window(const TrustRoot& trust, const std::string& not_before,
                        const std::string& not_after) {
    if (!is_rfc3339_utc(not_before) || !is_rfc3339_utc(not_after) || not_after <= not_before)
        throw UsageError("the validity window must be two RFC 3339 UTC times, the second later");
    if (not_after > trust.expires)
        throw UsageError("the certificate would outlive the trust root (expires " + trust.expires +
                         ")");
}

const std::string& time_field(const nlohmann::json& j, const char* key, std::string_view what) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string() || !is_rfc3339_utc(it->get<std::string>()))
        throw VerifyError(std::string(what) + ": \"" + key + "\" must be an RFC 3339 UTC time");
    return it->get_ref<const std::string&>();
}

std::string sign(const crypto::SigningKey& issuer, std::string_view payload_type,
                 const nlohmann::json& payload) {
    crypto::Envelope env;
    env.payload_type = std::string(payload_type);
    env.payload = payload.dump(2) + "\n";
    env.sign(issuer);
    return env.to_json() + "\n";
}

}  // namespace certificate_common

}  // namespace audit::trust
