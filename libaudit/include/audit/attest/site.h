// Signed site summaries and the headquarters roll-up (README "Beyond one workstation", steps
// 2-3). A site's inspector signs, with a site key the trust root delegates to that site
// (trust/site_certificate.h), an in-toto Statement whose subject is the site's report.json and
// whose predicate carries what HQ needs without the evidence: counts per product and status,
// per host x product the digests of the host's identifiers with its status and attestation
// digest, the kit chains' heads, and the rejected and conflicting bundles. HQ verifies each
// summary, refuses one older than the last it accepted for that site, and merges them into one
// report with the site as a column; an identifier reported by two sites is a conflict.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/trust/site_certificate.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

inline constexpr std::string_view kSiteSummaryPredicate = "urn:audit-toolkit:site-summary:v1";
inline constexpr std::string_view kSiteSummaryFile = "site-summary.dsse.json";

// The digests a summary gives for one host x product result of report.json: "host" (of the
// host key) and "ids" (of each strong identifier, "NAME=VALUE"; hostnames are not identifiers).
nlohmann::json host_identity_digests(const nlohmann::json& result);

// The summary predicate of a verified report directory (report.json + its attestations/):
// pure, apart from reading the attestation files for their digests. report_statement_sha256:
// the digest of the report statement the caller verified.
nlohmann::json site_summary_predicate(const std::string& report_dir, const nlohmann::json& report,
                                      const std::string& report_statement_sha256,
                                      const trust::TrustRoot& trust,
                                      const nlohmann::json& certificate, std::uint64_t sequence,
                                      const std::string& generated);

// Verifies report_dir's report statement (inspector role, every file), checks that the site
// certificate verifies under trust and certifies site_key, then signs the summary of
// report_dir/report.json into report_dir/site-summary.dsse.json (replacing it). Returns the
// statement. Throws VerifyError, UsageError (a key the certificate does not name, a certificate
// not valid now), IoError.
nlohmann::json write_site_summary(const std::string& report_dir, const trust::TrustRoot& trust,
                                  const crypto::SigningKey& site_key,
                                  std::string_view certificate_text, std::uint64_t sequence,
                                  const std::string& now);

struct VerifiedSiteSummary {
    std::string file;
    std::string site;
    std::uint64_t sequence = 0;
    std::string generated;
    std::string statement_sha256;  // of the DSSE payload: the summary's identity
    std::string report_sha256;     // the subject: report.json's SHA-256
    std::string site_keyid;
    nlohmann::json predicate;
};

// The summary's signature by the site key its certificate names, the certificate under trust
// (root role, this authority, this site, signed inside its window), the statement's shape.
// Throws VerifyError.
VerifiedSiteSummary verify_site_summary(std::string_view envelope_json,
                                        const trust::TrustRoot& trust);
// Whether an envelope's payload is a site summary (nothing verified yet).
bool is_site_summary(const crypto::Envelope& env);
// Where the report.json of a summary file travels: DIR/report.json beside
// DIR/site-summary.dsse.json, PREFIX.report.json beside PREFIX.site-summary.dsse.json; "" else.
std::string site_report_path(const std::string& summary_path);
// report.json's bytes against the summary's subject. Throws VerifyError.
void check_site_report(const VerifiedSiteSummary& summary, std::string_view report_json);

// HQ's memory of accepted summaries (and a site's of the sequences it issued): per site the
// last sequence and statement digest. Written atomically.
struct SiteState {
    struct Entry {
        std::uint64_t sequence = 0;
        std::string statement_sha256, generated;
    };
    std::map<std::string, Entry> sites;
    static SiteState load(const std::string& path);  // none there: empty. Throws IoError.
    void save(const std::string& path) const;
};
// $AUDIT_STATE_DIR (or the trust state's directory)/NAME.
std::string default_site_state_path(const std::string& name);

// One summary given to the roll-up, with the site's report.json when it came along.
struct RollupInput {
    VerifiedSiteSummary summary;
    nlohmann::json report;  // null: the summary alone
};

// Which summaries the roll-up accepts: per site the highest sequence given; refused (with the
// reason) one whose sequence is below the state's for its site, or equal with other bytes (a
// replay or a fork); the lower ones given for a site already covered are "superseded". The
// state is updated in memory for the accepted ones.
struct RollupSelection {
    std::vector<RollupInput> accepted;
    nlohmann::json refused = nlohmann::json::array();     // {file, site, sequence, reason}
    nlohmann::json superseded = nlohmann::json::array();  // {file, site, sequence}
};
RollupSelection select_summaries(std::vector<RollupInput> inputs, SiteState& state);

// The agency report: the results of every accepted site (from its report.json, else from the
// summary's digests) with a "site" column, counts per product and status, the sites, and
// identity conflicts across sites (a host identifier reported by two sites makes those results
// inconclusive with reason code site_identity_conflict; never merged).
nlohmann::json rollup_report(const RollupSelection& selection, const trust::TrustRoot& trust,
                             const std::string& generated, const nlohmann::json& rejected);

}  // namespace audit::attest
