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

bool plain_name(const std::string& n) {
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
    env.payload = statement.dump();
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

json verify_report_statement(const crypto::Envelope& env, const trust::TrustRoot& trust,
                             const std::string& dir) {
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("report statement has payloadType '" + env.payload_type + "'");
    trust.verify_role(env, "inspector");
    json st = parse_json_strict(env.payload, "report statement payload");
    if (!st.is_object() || st.value("_type", "") != evidence::kStatementType ||
        st.value("predicateType", "") != kReportStatementPredicate || !st.contains("subject") ||
        !st["subject"].is_array() || st["subject"].empty() || !st.contains("predicate") ||
        !st["predicate"].is_object())
        throw VerifyError("not a report statement");
    json files = json::array();
    for (const auto& s : st["subject"]) {
        if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
            !s.contains("digest") || !s["digest"].is_object() || !s["digest"].contains("sha256") ||
            !s["digest"]["sha256"].is_string())
            throw VerifyError("report statement: malformed subject");
        const std::string name = s["name"].get<std::string>();
        if (name != kAttestationsSubject && !plain_name(name))
            throw VerifyError("report statement: subject '" + name + "' is not a file name");
        const std::string want = s["digest"]["sha256"].get<std::string>();
        std::string got;
        try {
            got = name == kAttestationsSubject ? attestations_sha256(dir)
                                               : file_sha256(dir + "/" + name);
        } catch (const Error& e) {
            throw VerifyError("report statement: " + name + ": " + e.what());
        }
        if (got != want)
            throw VerifyError("report statement: " + name +
                              " changed since it was signed (sha256 " + got + ", signed " + want +
                              ")");
        files.push_back(name);
    }
    return {{"files", files},
            {"generated", st["predicate"].value("generated", "")},
            {"inspector_keyid", st["predicate"].value("inspector_keyid", "")}};
}

std::string read_verified_report(const std::string& dir, const trust::TrustRoot& trust) {
    const std::string st_path = dir + "/" + std::string(kReportStatementFile);
    auto st_bytes = read_input_file_if_exists(st_path, 64u << 20, "report statement");
    if (!st_bytes)
        throw VerifyError("no " + std::string(kReportStatementFile) + " beside " + dir +
                          "/report.json: the report is not signed");
    const auto env = crypto::Envelope::parse(*st_bytes, 64u << 20);
    verify_report_statement(env, trust, dir);
    const json st = parse_json_strict(env.payload, "report statement payload");
    std::string want;
    for (const auto& s : st["subject"])
        if (s["name"] == "report.json") want = s["digest"]["sha256"].get<std::string>();
    if (want.empty()) throw VerifyError(st_path + " does not sign report.json");
    std::string bytes = read_input_file(dir + "/report.json", kMaxReportFile, "report.json");
    if (crypto::sha256_hex(bytes) != want)
        throw VerifyError(dir + "/report.json changed while it was read");
    return bytes;
}

}  // namespace audit::attest
