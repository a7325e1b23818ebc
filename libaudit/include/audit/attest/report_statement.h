// A signed statement over the files of one fleet report (report.json, report.csv,
// report.html, removal-plan.csv, the FAR 52.204-23 draft): an in-toto Statement whose subjects
// are those files with their SHA-256, DSSE-signed by the inspector key that signed the
// attestations. audit-verify checks the signature and every file's digest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

inline constexpr std::string_view kReportStatementPredicate =
    "urn:audit-toolkit:report-statement:v1";
inline constexpr std::string_view kReportStatementFile = "report.statement.dsse.json";

// Signs the files named (plain names inside dir) into dir/report.statement.dsse.json. The name
// "attestations/" stands for every *.dsse.json in dir/attestations: its digest is the SHA-256 of
// their sorted "NAME SHA256\n" lines.
void sign_report_files(const std::string& dir, const std::vector<std::string>& names,
                       const crypto::SigningKey& inspector, const nlohmann::json& predicate);

// Whether an envelope's payload is a report statement (nothing verified yet).
bool is_report_statement(const crypto::Envelope& env);

// Inspector signature under the trust root, then every subject (a plain file name, read from
// dir) against its digest. Throws VerifyError on any mismatch, a missing file or a subject
// that is not a plain name. Returns {"files": [...], "generated", "inspector_keyid"}.
nlohmann::json verify_report_statement(const crypto::Envelope& env, const trust::TrustRoot& trust,
                                       const std::string& dir);

// The bytes of dir/report.json, once dir's report statement verifies (inspector role, every
// file it signs) and signs report.json with exactly these bytes. Throws VerifyError (no
// statement, a bad one, report.json not signed or changed), IoError.
std::string read_verified_report(const std::string& dir, const trust::TrustRoot& trust);

}  // namespace audit::attest
