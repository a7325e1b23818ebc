#include "audit/attest/report_statement.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <botan/hash.h>
#include <botan/hex.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxReportFile = std::size_t{4} << 30;  // report.json at fleet scale
// The statement lists every result (about 600 000 host x product in 256 MiB).
constexpr std::size_t kMaxReportStatement = std::size_t{256} << 20;

bool plain_report_name(const std::string& n) {
    return !n.empty() && n.size() <= 255 && n.find('/') == std::string::npos &&
           n.find('\\') == std::string::npos && n.find('\0') == std::string::npos && n != "." &&
           n != "..";
}

// Read in pieces: report.json of a large fleet is hundreds of megabytes, never held at once.
std::string file_sha256(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw VerifyError(path + ": cannot read: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw VerifyError(path + ": not a regular file");
    }
    auto hash = Botan::HashFunction::create_or_throw("SHA-256");
    std::vector<std::uint8_t> buf(1 << 16);
    std::size_t total = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            throw VerifyError(path + ": cannot read: " + std::strerror(e));
        }
        if (n == 0) break;
        total += static_cast<std::size_t>(n);
        if (total > kMaxReportFile) {
            ::close(fd);
            throw VerifyError(path + ": larger than any report file");
        }
        hash->update(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    return Botan::hex_encode(hash->final(), false);
}

// "attestations/": the SHA-256 of "NAME SHA256\n" for every *.dsse.json in dir/attestations,
// sorted by name, so that an attestation added, removed or changed is seen.
std::string attestations_sha256(const std::string& dir) {
    const std::string sub = dir + "/attestations";
    DIR* d = ::opendir(sub.c_str());
    if (!d) throw IoError("cannot read directory " + sub + ": " + std::strerror(errno));
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 10 && n.compare(n.size() - 10, 10, ".dsse.json") == 0 && n[0] != '.')
            names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += n + " " + file_sha256(sub + "/" + n) + "\n";
    return crypto::sha256_hex(list);
}

constexpr const char* kAttestationsSubject = "attestations/";

}  // namespace

void sign_report_files(const std::string& dir, const std::vector<std::string>& names,
                       const crypto::SigningKey& inspector, const json& predicate) {
    json subjects = json::array();
    for (const auto& n : names)
        subjects.push_back(
            {{"name", n},
             {"digest",
              {{"sha256", n == kAttestationsSubject ? attestations_sha256(dir)
                                                    : file_sha256(dir + "/" + n)}}}});
    json pred = predicate;
    pred["inspector_keyid"] = inspector.identity().keyid;
    json statement = {{"_type", evidence::kStatementType},
                      {"subject", subjects},
                      {"predicateType", kReportStatementPredicate},
                      {"predicate", pred}};
    crypto::Envelope env;
    env.payload_type = std::string(evidence::kPayloadType);
    // A title given on the command line need not be UTF-8: signed as report.json shows it.
    env.payload = statement.dump(-1, ' ', false, json::error_handler_t::replace);
    env.sign(inspector);
    evidence::write_file_atomic(dir + "/" + std::string(kReportStatementFile),
                                env.to_json() + "\n");
}

bool is_report_statement(const crypto::Envelope& env) {
    if (env.payload_type != evidence::kPayloadType) return false;
    try {
        json st = json::parse(env.payload);
        return st.is_object() && st.value("predicateType", "") == kReportStatementPredicate;
    } catch (const json::exception&) {
        return false;
    }
}

const ReportStatement::File* ReportStatement::file(std::string_view name) const {
    for (const auto& f : files)
        if (f.name == name) return &f;
    return nullptr;
}

json ReportStatement::detail() const {
    json names = json::array();
    for (const auto& f : files) names.push_back(f.name);
    return {{"files", names}, {"generated", generated}, {"inspector_keyid", inspector_keyid}};
}

ReportStatement read_report_statement(const json& st) {
    if (!st.is_object() || !st.contains("_type") || st["_type"] != evidence::kStatementType ||
        !st.contains("predicateType") || st["predicateType"] != kReportStatementPredicate ||
        !st.contains("subject") || !st["subject"].is_array() || st["subject"].empty() ||
        !st.contains("predicate") || !st["predicate"].is_object())
        throw VerifyError("not a report statement");
    ReportStatement out;
    for (const auto& s : st["subject"]) {
        if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
            !s.contains("digest") || !s["digest"].is_object() || !s["digest"].contains("sha256") ||
            !s["digest"]["sha256"].is_string())
            throw VerifyError("report statement: malformed subject");
        ReportStatement::File f{s["name"].get<std::string>(),
                                s["digest"]["sha256"].get<std::string>()};
        if (f.name != kAttestationsSubject && !plain_report_name(f.name))
            throw VerifyError("report statement: subject '" + f.name + "' is not a file name");
        if (out.file(f.name))
            throw VerifyError("report statement: subject '" + f.name + "' is signed twice");
        out.files.push_back(std::move(f));
    }
    out.predicate = st["predicate"];
    for (auto [field, key] : {std::pair{&out.generated, "generated"},
                              std::pair{&out.inspector_keyid, "inspector_keyid"}}) {
        auto it = out.predicate.find(key);
        if (it == out.predicate.end()) continue;
        if (!it->is_string())
            throw VerifyError(std::string("report statement: ") + key + " is not a string");
        *field = it->get<std::string>();
    }
    return out;
}

ReportStatement verify_report_statement(const crypto::Envelope& env, const trust::TrustRoot& trust,
                                        const std::string& dir, std::string* report_json) {
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("report statement has payloadType '" + env.payload_type + "'");
    trust.verify_role(env, "inspector");
    ReportStatement st =
        read_report_statement(parse_json_strict(env.payload, "report statement payload"));
    for (const auto& f : st.files) {
        std::string got;
        try {
            if (f.name == kAttestationsSubject) {
                got = attestations_sha256(dir);
            } else if (report_json && f.name == "report.json") {
                // Held whole and hashed from the same bytes: the caller gets what was checked.
                *report_json = read_input_file(dir + "/" + f.name, kMaxReportFile, "report.json");
                got = crypto::sha256_hex(*report_json);
            } else {
                got = file_sha256(dir + "/" + f.name);
            }
        } catch (const Error& e) {
            throw VerifyError("report statement: " + f.name + ": " + e.what());
        }
        if (got != f.sha256)
            throw VerifyError("report statement: " + f.name +
                              " changed since it was signed (sha256 " + got + ", signed " +
                              f.sha256 + ")");
    }
    return st;
}

VerifiedReport read_verified_report(const std::string& dir, const trust::TrustRoot& trust) {
    const std::string st_path = dir + "/" + std::string(kReportStatementFile);
    auto st_bytes = read_input_file_if_exists(st_path, kMaxReportStatement, "report statement");
    if (!st_bytes)
        throw VerifyError("no " + std::string(kReportStatementFile) + " beside " + dir +
                          "/report.json: the report is not signed");
    VerifiedReport out;
    out.statement = verify_report_statement(crypto::Envelope::parse(*st_bytes, kMaxReportStatement),
                                            trust, dir, &out.report_bytes);
    out.statement_bytes = std::move(*st_bytes);
    if (!out.statement.file("report.json"))
        throw VerifyError(st_path + " does not sign report.json");
    return out;
}

}  // namespace audit::attest
