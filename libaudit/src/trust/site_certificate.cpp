#include "audit/trust/site_certificate.h"

#include <algorithm>

#include "audit/error.h"
#include "audit/strict_json.h"
#include "trust/certificate_common.h"

namespace audit::trust {

namespace {

constexpr std::string_view kSiteCertificateType = "audit-toolkit/site-certificate";
constexpr std::size_t kMaxSiteCertificate = 1u << 20;

const std::string& site_time_field(const nlohmann::json& j, const char* key) {
    return certificate_common::time_field(j, key, "site certificate");
}

}  // namespace

bool valid_site_name(std::string_view site) {
    return certificate_common::valid_name(site);
}

nlohmann::json SiteCertificate::to_payload_json() const {
    return {{"_type", kSiteCertificateType},
            {"authority", authority},
            {"site", site},
            {"inspector", inspector.to_json()},
            {"not_before", not_before},
            {"not_after", not_after},
            {"issued", issued}};
}

SiteCertificate SiteCertificate::from_payload_json(const nlohmann::json& j) {
    auto fail = [](const std::string& m) { throw VerifyError("site certificate: " + m); };
    const auto type = j.is_object() ? j.find("_type") : j.end();
    if (!j.is_object() || type == j.end() || !type->is_string() || *type != kSiteCertificateType)
        fail("\"_type\" is not \"" + std::string(kSiteCertificateType) + "\"");
    SiteCertificate c;
    auto str = [&](const char* key) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string() || it->get<std::string>().empty() ||
            it->get<std::string>().size() > 256)
            fail(std::string("\"") + key + "\" must be a non-empty string");
        return it->get<std::string>();
    };
    c.authority = str("authority");
    c.site = str("site");
    if (!valid_site_name(c.site)) fail("\"site\" is not a site name");
    if (!j.contains("inspector")) fail("\"inspector\" is missing");
    c.inspector = crypto::PublicIdentity::from_json(j["inspector"]);
    c.not_before = site_time_field(j, "not_before");
    c.not_after = site_time_field(j, "not_after");
    c.issued = site_time_field(j, "issued");
    if (c.not_after <= c.not_before) fail("\"not_after\" is not after \"not_before\"");
    return c;
}

std::string issue_site_certificate(const TrustRoot& trust, const crypto::SigningKey& issuer,
                                   const crypto::PublicIdentity& inspector, const std::string& site,
                                   const std::string& not_before, const std::string& not_after) {
    const auto& id = issuer.identity().keyid;
    const auto& root_ids = trust.roles.at("root").keyids;
    if (std::find(root_ids.begin(), root_ids.end(), id) == root_ids.end())
        throw UsageError("key " + id.substr(0, 16) +
                         " is not a root key of the trust root (the root delegates sites)");
    if (!valid_site_name(site))
        throw UsageError("site '" + site + "' must be 1-64 characters of A-Z a-z 0-9 - .");
    certificate_common::check_issue_window(trust, not_before, not_after);
    if (auto why = trust.policy.refusal(inspector); !why.empty())
        throw UsageError("site key " + why);
    SiteCertificate c;
    c.authority = trust.authority;
    c.site = site;
    c.inspector = inspector;
    c.not_before = not_before;
    c.not_after = not_after;
    c.issued = utc_now();
    return certificate_common::sign(issuer, kSiteCertificatePayloadType, c.to_payload_json());
}

SiteCertificate verify_site_certificate(const TrustRoot& trust, std::string_view envelope_json) {
    auto env = crypto::Envelope::parse(envelope_json, kMaxSiteCertificate);
    if (env.payload_type != kSiteCertificatePayloadType)
        throw VerifyError("not a site certificate: payloadType is '" +
                          env.payload_type.substr(0, 80) + "'");
    std::vector<std::string> issuers;
    try {
        issuers = trust.verify_role(env, "root");
    } catch (const VerifyError& e) {
        throw VerifyError(std::string("site certificate: ") + e.what());
    }
    auto c = SiteCertificate::from_payload_json(
        parse_json_strict(env.payload, "site certificate payload"));
    c.issuers = std::move(issuers);
    if (c.authority != trust.authority)
        throw VerifyError("site certificate is for authority '" + c.authority.substr(0, 64) +
                          "', not '" + trust.authority + "'");
    if (trust.is_revoked(c.inspector))
        throw VerifyError("site key " + c.inspector.keyid.substr(0, 16) + " of site " + c.site +
                          " is revoked");
    if (auto why = trust.policy.refusal(c.inspector); !why.empty())
        throw VerifyError("site key " + why);
    return c;
}

}  // namespace audit::trust
