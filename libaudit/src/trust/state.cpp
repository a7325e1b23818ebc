#include "audit/trust/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "audit/core/atomic_file.h"
#include "audit/error.h"
#include "audit/file_lock.h"
#include "audit/input_file.h"

namespace audit::trust {

namespace {

namespace stdfs = std::filesystem;
constexpr std::size_t kMaxFile = 16u << 20;
constexpr std::string_view kStateType = "audit-toolkit/trust-state";

// Whole file, or nullopt when it does not exist. Bounded.
std::optional<std::string> read_small(const std::string& path) {
    auto data = read_input_file_if_exists(path, kMaxFile, "file");
    if (!data) return std::nullopt;
    if (data->size() > kMaxFile) throw VerifyError(path + ": file is too large");
    return data;
}

}  // namespace

std::string default_state_path() {
    if (const char* d = std::getenv("AUDIT_STATE_DIR"); d && *d)
        return (stdfs::path(d) / "trust-state.json").string();
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
        return (stdfs::path(x) / "audit-toolkit" / "trust-state.json").string();
#ifdef _WIN32
    // The user's local (not roaming) application data: %LOCALAPPDATA%\audit-toolkit.
    if (const char* l = std::getenv("LOCALAPPDATA"); l && *l)
        return (stdfs::path(l) / "audit-toolkit" / "trust-state.json").string();
#endif
    const char* home = std::getenv("HOME");
    if (!home || !*home)
        throw IoError("no HOME for the trust state file: give --state FILE or AUDIT_STATE_DIR");
    return (stdfs::path(home) / ".local" / "state" / "audit-toolkit" / "trust-state.json").string();
}

std::string history_path(const std::string& trust_path, int version) {
    return (stdfs::path(trust_path).parent_path() / "root-history" /
            (std::to_string(version) + ".trust.json"))
        .string();
}

TrustRoot verify_against_trusted(const std::string& trusted_envelope, const std::string& path,
                                 std::string_view bytes) {
    TrustRoot prev = TrustRoot::verify_signed(trusted_envelope);
    TrustRoot candidate;
    try {
        candidate = TrustRoot::verify_signed(bytes);
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": " + e.what());
    }
    if (candidate.authority != prev.authority)
        throw VerifyError(path + ": trust root of authority '" + candidate.authority.substr(0, 64) +
                          "', not of '" + prev.authority + "'");
    const int have = prev.version;
    if (candidate.version < have)
        throw VerifyError(path + ": rollback: trust root version " +
                          std::to_string(candidate.version) + " is older than version " +
                          std::to_string(have) + " already trusted");
    if (candidate.version == have) {
        if (candidate.sha256 != prev.sha256)
            throw VerifyError(path + ": trust root version " + std::to_string(have) +
                              " differs from the version already trusted (a fork)");
        return candidate;
    }
    for (int v = have + 1; v < candidate.version; ++v) {
        const auto hist = history_path(path, v);
        auto text = read_small(hist);
        if (!text)
            throw VerifyError(path + ": cannot walk from trusted version " + std::to_string(have) +
                              " to " + std::to_string(candidate.version) + ": " + hist +
                              " is missing");
        try {
            prev = prev.verify_successor(*text);
        } catch (const VerifyError& e) {
            throw VerifyError(hist + ": " + e.what());
        }
    }
    try {
        prev.verify_successor(bytes);
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": " + e.what());
    }
    return candidate;
}

TrustedLoad load_trusted(const std::string& trust_path,
                         const std::optional<std::string>& state_path,
                         std::optional<std::string> now) {
    auto bytes = read_small(trust_path);
    if (!bytes) throw IoError("cannot read trust root " + trust_path);
    TrustedLoad out;
    TrustRoot candidate;
    try {
        candidate = TrustRoot::verify_signed(*bytes);
    } catch (const VerifyError& e) {
        throw VerifyError(trust_path + ": " + e.what());
    }

    // Serializes readers and writers of one state file, so that two tools started at once can
    // never lower the pinned version (read v1, other writes v3, write v2).
    std::optional<FileLock> lock;
    if (state_path) lock.emplace(*state_path);
    nlohmann::json state = {{"_type", kStateType}, {"authorities", nlohmann::json::object()}};
    std::optional<std::string> state_text;
    if (state_path) state_text = read_small(*state_path);
    if (state_text) {
        state = nlohmann::json::parse(*state_text, nullptr, false);
        if (state.is_discarded() || !state.is_object() || state.value("_type", "") != kStateType ||
            !state.contains("authorities") || !state["authorities"].is_object())
            throw VerifyError(*state_path + ": not a trust state file (corrupt?); refusing to " +
                              "guess: move it away to start over");
    }

    bool changed = false;
    auto& authorities = state["authorities"];
    auto pinned = authorities.find(candidate.authority);
    if (!state_path) {
        out.notes.push_back("no trust state: rollback protection is off");
    } else if (pinned == authorities.end()) {
        out.notes.push_back("first use of authority " + candidate.authority + ": pinned version " +
                            std::to_string(candidate.version) + " (compare its fingerprints)");
        changed = true;
    } else {
        const auto& p = *pinned;
        if (!p.is_object() || !p.contains("envelope") || !p["envelope"].is_string() ||
            !p.contains("version") || !p["version"].is_number_integer())
            throw VerifyError(*state_path + ": entry of authority " + candidate.authority +
                              " is malformed");
        const int have = p["version"].get<int>();
        if (candidate.version == have && p.value("sha256", "") != candidate.sha256)
            throw VerifyError(trust_path + ": trust root version " + std::to_string(have) +
                              " differs from the version already trusted (a fork)");
        verify_against_trusted(p["envelope"].get<std::string>(), trust_path, *bytes);
        if (candidate.version != have) {
            out.notes.push_back("trust root of " + candidate.authority + " updated from version " +
                                std::to_string(have) + " to " + std::to_string(candidate.version));
            changed = true;
        }
    }
    try {
        candidate.check_expiry(std::move(now));
    } catch (const VerifyError& e) {
        throw VerifyError(trust_path + ": " + e.what());
    }
    if (state_path && changed) {
        authorities[candidate.authority] = {{"version", candidate.version},
                                            {"sha256", candidate.sha256},
                                            {"envelope", *bytes},
                                            {"accepted", utc_now()}};
        core::write_file_atomic(*state_path, state.dump(2) + "\n", false, 0600);
    }
    out.root = std::move(candidate);
    return out;
}

}  // namespace audit::trust
