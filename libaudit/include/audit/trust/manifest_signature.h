// Detached signatures of product manifests by the trust root's manifest role:
// NAME.toml is signed by NAME.toml.dsse.json beside it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/trust_root.h"

namespace audit::trust {

inline constexpr std::string_view kManifestPayloadType =
    "application/vnd.audit-toolkit.manifest-signature+json";
inline constexpr std::string_view kManifestSignatureSuffix = ".dsse.json";

// The envelope (JSON text) signing m's exact bytes (sha256 + sha384), id and version.
// The signer must be a key of the manifest role (UsageError otherwise).
std::string sign_manifest(const TrustRoot& trust, const manifest::Manifest& m,
                          const crypto::SigningKey& key);

struct ManifestSignature {
    enum class Status { verified, unsigned_allowed } status = Status::verified;
    std::vector<std::string> signers;
    nlohmann::json to_json() const;  // {"status": "verified", "signers": [...]}
};

// Checks m against its detached signature (m.path + ".dsse.json"): a threshold of the manifest
// role signed these bytes, this id and this version. Throws VerifyError when the signature is
// missing (unless allow_unsigned, which gives Status::unsigned_allowed) or does not verify;
// a present but bad signature is refused even when unsigned manifests are allowed.
ManifestSignature verify_manifest(const TrustRoot& trust, const manifest::Manifest& m,
                                  bool allow_unsigned);

// The part of verify_manifest that needs no parsing, for the file at path with these exact bytes
// (before they reach the TOML parser): the signature beside it verifies under the manifest role
// and signs this file name and these sha256/sha384 digests. Missing signature: VerifyError unless
// allow_unsigned (Status::unsigned_allowed). verify_manifest still checks id and version after.
ManifestSignature verify_manifest_bytes(const TrustRoot& trust, const std::string& path,
                                        std::string_view bytes, bool allow_unsigned);

}  // namespace audit::trust
