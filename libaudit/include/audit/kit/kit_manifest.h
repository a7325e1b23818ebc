// The kit manifest: what a removable-media kit holds (every file's size and SHA-384), who it is
// (kit id, version) and how long it is valid, signed by the trust root's kit role and optionally
// sealed with an HSS/LMS signature as well. KIT/kit.manifest.dsse.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "audit/evidence/chain_head.h"
#include "audit/kit/lms_seal.h"
#include "audit/trust/trust_root.h"

namespace audit::kit {

inline constexpr std::string_view kKitManifestPayloadType =
    "application/vnd.audit-toolkit.kit-manifest+json";
inline constexpr std::string_view kKitManifestFile = "kit.manifest.dsse.json";
inline constexpr std::string_view kEvidenceDir = "evidence";  // the only writable area
inline constexpr std::string_view kTrustFile = "trust/trust.json";
inline constexpr std::string_view kCollectorKeyFile = "keys/collector.key";
// The one mutable file of a kit outside evidence/: keys/collector.<kit>.state.json.
inline std::string kit_state_file(const std::string& kit_id) {
    return "keys/collector." + kit_id + ".state.json";
}

struct KitFile {
    std::string path;  // relative to the kit directory, '/'-separated
    std::uint64_t size = 0;
    std::string sha384;
    // Permission bits (0777) when the kit was laid out on a file system that keeps them (not FAT):
    // its executable bit is compared where the checked medium keeps modes too.
    std::optional<unsigned> mode;
};

struct KitManifest {
    std::string kit_id;
    std::uint64_t version = 1;     // only rises: a verifier that has seen N refuses N-1
    std::string created, expires;  // RFC 3339 UTC
    std::string authority;
    int trust_version = 0;
    std::string trust_sha256;
    std::vector<KitFile> files;       // sorted by path; kit manifest and evidence/ excluded
    std::optional<LmsPublicKey> lms;  // the seal key, when the kit is sealed with HSS/LMS
    // The one mutable file outside evidence/: the collector key's sequence state
    // (kit_state_file(kit_id), evidence/kit_state.h), not measured. "": an older kit whose
    // state lives in evidence/.
    std::string state_file;

    nlohmann::json to_payload_json() const;
    static KitManifest from_payload_json(const nlohmann::json& j);  // throws VerifyError
    const KitFile* find(std::string_view path) const;
};

// Every file of the kit directory except the kit manifest and evidence/: regular files only
// (a link, device or FIFO is refused with VerifyError, and so is a setuid or setgid bit on a
// file or directory), sorted by path; with its mode where the file system keeps modes.
std::vector<KitFile> measure_tree(const std::string& kit_dir);

// The envelope (JSON text) of m: signed by kit_key (a key of the kit role of trust), then, when
// lms is given, by the HSS/LMS key too (its keyid in the envelope's signatures).
std::string sign_kit_manifest(const KitManifest& m, const trust::TrustRoot& trust,
                              const crypto::SigningKey& kit_key, LmsSigner* lms);

struct SealedKit {
    KitManifest manifest;
    std::string sha256;                // of the kit manifest file's bytes (what bundles record)
    std::vector<std::string> signers;  // kit role keyids
    bool lms_sealed = false;           // the HSS/LMS signature verified
};

struct KitVerifyOptions {
    std::optional<std::string> now;            // default: current UTC
    std::optional<LmsPublicKey> required_lms;  // demand an HSS/LMS seal by this key
};

// Verify a kit manifest envelope: payload type, a threshold of the kit role, the kit's authority
// is the trust root's, not expired (freeze); an HSS/LMS seal named in the payload must verify.
// Throws VerifyError with the reason.
SealedKit verify_kit_manifest(std::string_view envelope_json, const trust::TrustRoot& trust,
                              const KitVerifyOptions& options = {});

// Reads KIT/kit.manifest.dsse.json (bounded) and verifies it (above).
SealedKit load_kit(const std::string& kit_dir, const trust::TrustRoot& trust,
                   const KitVerifyOptions& options = {});

struct TreeProblem {
    std::string path;
    std::string
        what;  // "missing", "size differs", "sha384 differs", "not listed", "not a regular file"
};
// Compare the kit directory with its manifest: every listed file present with its size and
// digest, nothing else outside evidence/ (and the manifest itself), no setuid or setgid bit
// anywhere; and each file's executable bit where the manifest and the medium keep modes, unless
// every file shows the same bit (a copy off FAT, which keeps none). modes_compared (optional)
// tells whether the executable bits were compared.
std::vector<TreeProblem> compare_tree(const std::string& kit_dir, const KitManifest& m,
                                      bool* modes_compared = nullptr);

// False for a directory on a file system that keeps no Unix modes (FAT, exFAT: every file shows
// the mount's fmask), where the executable bit means nothing.
bool keeps_unix_modes(const std::string& dir);

// SHA-384 (hex) of a whole file, streamed.
std::string file_sha384(const std::string& path);

// Rollback and fork protection of kits: the verifier's state keeps, per authority and kit id,
// the highest version seen and its manifest digest. Older: refused; same version, other bytes:
// refused. A newer version is recorded. state_path nullopt: no state (returns a note).
std::vector<std::string> check_kit_version(const SealedKit& kit,
                                           const std::optional<std::string>& state_path);
// The same for chain heads: the state keeps, per authority and kit id, the highest head seen
// (sequence, statement digest). A lower head is refused (a newer one was seen: bundles were
// deleted since), the same sequence with another digest is a fork; a higher one is recorded.
// state_path nullopt: nothing is kept. Throws VerifyError naming the kit.
std::vector<std::string> check_chain_head_seen(const evidence::ChainHead& head,
                                               const std::string& authority,
                                               const std::optional<std::string>& state_path);
// Default: kit-state.json beside the trust state (trust::default_state_path()).
std::string default_kit_state_path();

}  // namespace audit::kit
