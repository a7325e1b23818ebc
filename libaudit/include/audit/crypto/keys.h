// Signing keys: ECDSA P-384/SHA-384, ML-DSA-87 and Ed25519, alone or as a hybrid pair.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/core/hex.h"

namespace audit::crypto {

enum class Scheme { ecdsa_p384_sha384, ml_dsa_87, ed25519 };
const char* to_string(Scheme s);                // "ecdsa-p384-sha384", "ml-dsa-87", "ed25519"
Scheme scheme_from_string(std::string_view s);  // throws VerifyError on an unknown scheme

// Which components a generated key has. hybrid = ECDSA P-384 + ML-DSA-87 (the default, CNSA).
enum class KeyProfile { hybrid, ecdsa, ed25519 };
KeyProfile profile_from_string(std::string_view s);  // throws UsageError

// The public half of one key component. keyid = lowercase hex SHA-256 of the SPKI DER.
struct PublicKey {
    Scheme scheme;
    std::string keyid;
    std::string spki_pem;

    static PublicKey from_pem(std::string_view pem);  // throws VerifyError
    bool verify(std::string_view message, std::string_view signature) const;
};

// A signer: one or more components, all of which must sign. Its keyid is its first component's.
struct PublicIdentity {
    std::string keyid;
    std::vector<PublicKey> components;

    // {"keyid": ..., "components": [{"scheme": ..., "keyid": ..., "public": PEM}, ...]}
    nlohmann::json to_json() const;
    static PublicIdentity from_json(const nlohmann::json& j);  // throws VerifyError
    // Fingerprint a person can read aloud: groups of 4 hex digits of the keyid.
    std::string fingerprint() const;
};

// A private signing key with its components. Stored as PEM PKCS#8 blocks, one per component,
// each encrypted (PBES2, AES-256, PBKDF2-SHA-512) when a passphrase is given.
class SigningKey {
  public:
    static SigningKey generate(KeyProfile profile);
    // Throws UsageError on a wrong passphrase or malformed file, IoError when unreadable.
    static SigningKey load(const std::string& path, const std::optional<std::string>& passphrase);
    // True when the key file at path is encrypted (needs a passphrase).
    static bool is_encrypted(const std::string& path);
    // Writes atomically with mode 0600; refuses to overwrite an existing file.
    void save(const std::string& path, const std::optional<std::string>& passphrase) const;

    // An independent copy of the key. One SigningKey must not sign from two threads at once
    // (Botan's ML-DSA key keeps hashing state between operations): give each thread a clone.
    SigningKey clone() const;

    const PublicIdentity& identity() const;
    // One signature per component: (component keyid, raw signature bytes).
    std::vector<std::pair<std::string, std::string>> sign(std::string_view message) const;

    SigningKey(SigningKey&&) noexcept;
    SigningKey& operator=(SigningKey&&) noexcept;
    ~SigningKey();

  private:
    struct Impl;
    explicit SigningKey(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Lowercase hex SHA-256 of bytes: core/hex.h (this name kept for its callers).
using core::sha256_hex;

// Creates path with bytes atomically (temporary file in the same directory, fsync, rename without
// replacing, fsync of the directory). Refuses to overwrite (UsageError); IoError on failure.
// Shared by key files and signed documents so that a crash never leaves half a file behind.
void write_new_file(const std::string& path, std::string_view bytes, unsigned mode);

}  // namespace audit::crypto
