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

// A report statement, typed once by read_report_statement.
struct ReportStatement {
    struct File {
        std::string name;  // a plain file name in the report directory, or "attestations/"
        std::string sha256;
    };
    std::vector<File> files;  // the subjects, in signed order
    std::string generated, inspector_keyid;
    nlohmann::json predicate;  // as signed (title, trust_root, results; kind of a roll-up)

    // The signed digest of the file named, or nullptr when the statement does not sign it.
    const File* file(std::string_view name) const;
    // {"files": [names], "generated", "inspector_keyid"}: what audit-verify shows.
    nlohmann::json detail() const;
};

// The typed statement (no signature or file check). Throws VerifyError when it is not a report
// statement, has no subject, or a subject is malformed or not a plain file name.
ReportStatement read_report_statement(const nlohmann::json& statement);

// Inspector signature under the trust root, then every subject (read from dir) against its
// digest. Throws VerifyError on any mismatch, a missing file or a malformed statement. With
// report_json, report.json (when signed) is read whole into it and hashed from those bytes, so
// the caller holds exactly the bytes that were checked; other files are hashed in pieces.
ReportStatement verify_report_statement(const crypto::Envelope& env, const trust::TrustRoot& trust,
                                        const std::string& dir, std::string* report_json = nullptr);

// A report directory's statement and report.json, read so that the report bytes are exactly the
// ones the statement signs.
struct VerifiedReport {
    ReportStatement statement;
    std::string statement_bytes;  // dir/report.statement.dsse.json as read
    std::string report_bytes;     // dir/report.json, its digest the signed one
};
// report.json is read once and checked from the bytes returned. Throws VerifyError (no
// statement, a bad one, report.json not signed or changed since it was signed), IoError.
VerifiedReport read_verified_report(const std::string& dir, const trust::TrustRoot& trust);

}  // namespace audit::attest
