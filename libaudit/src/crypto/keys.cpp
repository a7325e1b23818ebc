#include "audit/crypto/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <botan/data_src.h>
#include <botan/dilithium.h>
#include <botan/ec_group.h>
#include <botan/ecc_key.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_key.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <span>

#include "audit/core/atomic_file.h"
#include "audit/core/hex.h"
#include "audit/error.h"
#include "audit/input_file.h"

namespace audit::crypto {

namespace {

constexpr std::size_t kMaxKeyFile = 1u << 20;  // a hybrid key file is ~10 KiB
constexpr std::size_t kMaxPem = 64u << 10;
constexpr std::size_t kMaxComponents = 4;
// PBKDF2-HMAC-SHA-512 iterations (OWASP 2023 recommendation for SHA-512).
constexpr std::size_t kPbkdfIterations = 210000;

constexpr const char* kOidEcdsa = "1.2.840.10045.2.1";
constexpr const char* kOidMlDsa87 = "2.16.840.1.101.3.4.3.19";
constexpr const char* kOidEd25519 = "1.3.101.112";

Botan::RandomNumberGenerator& rng() {
    return Botan::system_rng();
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The scheme of a Botan public key, or nullopt when it is none of ours (RSA, P-256, Dilithium
// r3...).
std::optional<Scheme> scheme_of(const Botan::Public_Key& key) {
    const std::string oid = key.object_identifier().to_string();
    if (oid == kOidEd25519) return Scheme::ed25519;
    if (oid == kOidMlDsa87) return Scheme::ml_dsa_87;
    if (oid == kOidEcdsa) {
        const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(&key);
        if (ec &&
            ec->domain().get_curve_oid() == Botan::EC_Group::from_name("secp384r1").get_curve_oid())
            return Scheme::ecdsa_p384_sha384;
    }
    return std::nullopt;
}

// Botan's padding/hash parameter and signature format per scheme.
std::string_view botan_params(Scheme s) {
    switch (s) {
        case Scheme::ecdsa_p384_sha384:
            return "SHA-384";
        case Scheme::ml_dsa_87:
            return "";  // hedged (randomized) signing, FIPS 204 default
        case Scheme::ed25519:
            return "Pure";
    }
    return "";
}

Botan::Signature_Format botan_format(Scheme s) {
    // DER so that OpenSSL and securesystemslib accept ECDSA signatures as they are.
    return s == Scheme::ecdsa_p384_sha384 ? Botan::Signature_Format::DerSequence
                                          : Botan::Signature_Format::Standard;
}

PublicKey public_of(const Botan::Public_Key& key) {
    auto scheme = scheme_of(key);
    if (!scheme) throw VerifyError("unsupported key algorithm " + key.algo_name());
    const auto der = key.subject_public_key();
    PublicKey pk;
    pk.scheme = *scheme;
    pk.keyid = sha256_hex({reinterpret_cast<const char*>(der.data()), der.size()});
    pk.spki_pem = Botan::X509::PEM_encode(key);
    return pk;
}

std::unique_ptr<Botan::Public_Key> load_spki(std::string_view pem) {
    if (pem.size() > kMaxPem) throw VerifyError("public key PEM is too large");
    try {
        Botan::DataSource_Memory src(bytes_of(pem));
        return Botan::X509::load_key(src);
    } catch (const Botan::Exception& e) {
        throw VerifyError(std::string("malformed public key: ") + e.what());
    }
}

std::string read_key_file(const std::string& path) {
    std::string data = read_input_file(path, kMaxKeyFile, "key file");
    if (data.size() > kMaxKeyFile) throw UsageError("key file " + path + " is too large");
    return data;
}

struct PemBlock {
    std::string label;
    std::string text;  // the whole block, BEGIN to END line
};

std::vector<PemBlock> split_pem(const std::string& data, const std::string& path) {
    std::vector<PemBlock> blocks;
    std::size_t pos = 0;
    while (true) {
        auto begin = data.find("-----BEGIN ", pos);
        if (begin == std::string::npos) break;
        auto label_end = data.find("-----", begin + 11);
        if (label_end == std::string::npos) break;
        std::string label = data.substr(begin + 11, label_end - begin - 11);
        std::string end_marker = "-----END " + label + "-----";
        auto end = data.find(end_marker, label_end);
        if (end == std::string::npos)
            throw UsageError("key file " + path + ": PEM block '" + label + "' has no END line");
        end += end_marker.size();
        blocks.push_back({label, data.substr(begin, end - begin)});
        pos = end;
        if (blocks.size() > kMaxComponents)
            throw UsageError("key file " + path + " has more than " +
                             std::to_string(kMaxComponents) + " keys");
    }
    if (blocks.empty()) throw UsageError("key file " + path + " holds no PEM private key");
    return blocks;
}

}  // namespace

const char* to_string(Scheme s) {
    switch (s) {
        case Scheme::ecdsa_p384_sha384:
            return "ecdsa-p384-sha384";
        case Scheme::ml_dsa_87:
            return "ml-dsa-87";
        case Scheme::ed25519:
            return "ed25519";
    }
    return "unknown";
}

Scheme scheme_from_string(std::string_view s) {
    if (s == "ecdsa-p384-sha384") return Scheme::ecdsa_p384_sha384;
    if (s == "ml-dsa-87") return Scheme::ml_dsa_87;
    if (s == "ed25519") return Scheme::ed25519;
    throw VerifyError("signature scheme '" + std::string(s.substr(0, 64)) +
                      "' is not allowed (allowed: ecdsa-p384-sha384, ml-dsa-87, ed25519)");
}

KeyProfile profile_from_string(std::string_view s) {
    if (s == "hybrid") return KeyProfile::hybrid;
    if (s == "ecdsa") return KeyProfile::ecdsa;
    if (s == "ed25519") return KeyProfile::ed25519;
    throw UsageError("unknown key profile '" + std::string(s) + "' (hybrid, ecdsa or ed25519)");
}

// ---- PublicKey -------------------------------------------------------------------------------

PublicKey PublicKey::from_pem(std::string_view pem) {
    return public_of(*load_spki(pem));
}

namespace {

// A verifier made from a key's exact SPKI PEM text, kept per thread: decoding the key and making
// the verifier (for ML-DSA-87 the expansion of its matrix, for P-384 the point's decoding) costs
// as much as a verification, and a fleet's statements are signed by few keys. The cache is keyed
// by the scheme and the whole PEM text, so only byte-identical key text reuses a verifier; a
// verifier is kept only after a verification that succeeded (which leaves it reset) and dropped
// after any other outcome. Bounded: cleared when full.
struct CachedVerifier {
    std::unique_ptr<Botan::Public_Key> key;
    std::unique_ptr<Botan::PK_Verifier> verifier;
};
constexpr std::size_t kMaxCachedVerifiers = 64;

std::map<std::pair<Scheme, std::string>, CachedVerifier>& verifier_cache() {
    thread_local std::map<std::pair<Scheme, std::string>, CachedVerifier> cache;
    return cache;
}

}  // namespace

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
    auto& cache = verifier_cache();
    auto cache_key = std::make_pair(scheme, spki_pem);
    try {
        auto it = cache.find(cache_key);
        if (it == cache.end()) {
            auto key = load_spki(spki_pem);
            if (scheme_of(*key) != scheme) return false;
            CachedVerifier v;
            v.verifier = std::make_unique<Botan::PK_Verifier>(*key, botan_params(scheme),
                                                              botan_format(scheme));
            v.key = std::move(key);
            if (cache.size() >= kMaxCachedVerifiers) cache.clear();
            it = cache.emplace(std::move(cache_key), std::move(v)).first;
        }
        bool ok = false;
        try {
            ok = it->second.verifier->verify_message(bytes_of(message), bytes_of(signature));
        } catch (...) {
            cache.erase(it);
            throw;
        }
        // Only a verification that succeeded is known to leave the verifier reset (Botan
        // returns false early on a malformed signature, with the message still buffered).
        if (!ok) cache.erase(it);
        return ok;
    } catch (const std::exception&) {
        return false;  // a malformed key or signature is simply not a valid signature
    }
}

// ---- PublicIdentity --------------------------------------------------------------------------

nlohmann::json PublicIdentity::to_json() const {
    nlohmann::json comps = nlohmann::json::array();
    for (const auto& c : components)
        comps.push_back(
            {{"scheme", to_string(c.scheme)}, {"keyid", c.keyid}, {"public", c.spki_pem}});
    return {{"keyid", keyid}, {"components", comps}};
}

PublicIdentity PublicIdentity::from_json(const nlohmann::json& j) {
    auto str = [](const nlohmann::json& o, const char* field, const std::string& where) {
        auto it = o.find(field);
        if (it == o.end() || !it->is_string())
            throw VerifyError(where + ": missing or non-string \"" + field + "\"");
        return it->get<std::string>();
    };
    if (!j.is_object()) throw VerifyError("public key entry is not a JSON object");
    PublicIdentity id;
    id.keyid = str(j, "keyid", "public key");
    const std::string where = "key " + id.keyid.substr(0, 64);
    auto comps = j.find("components");
    if (comps == j.end() || !comps->is_array() || comps->empty())
        throw VerifyError(where + ": \"components\" must be a non-empty array");
    if (comps->size() > kMaxComponents) throw VerifyError(where + ": too many components");
    for (const auto& c : *comps) {
        if (!c.is_object()) throw VerifyError(where + ": a component is not a JSON object");
        Scheme declared = scheme_from_string(str(c, "scheme", where));
        std::string keyid = str(c, "keyid", where);
        PublicKey pk = PublicKey::from_pem(str(c, "public", where));
        if (pk.scheme != declared)
            throw VerifyError(where + ": component declared " + to_string(declared) + " holds a " +
                              to_string(pk.scheme) + " key");
        if (pk.keyid != keyid)
            throw VerifyError(where + ": component keyid " + keyid.substr(0, 64) +
                              " is not the SHA-256 of its public key (" + pk.keyid + ")");
        for (const auto& other : id.components)
            if (other.scheme == pk.scheme || other.keyid == pk.keyid)
                throw VerifyError(where + ": duplicate " + to_string(pk.scheme) + " component");
        id.components.push_back(std::move(pk));
    }
    if (id.components.front().keyid != id.keyid)
        throw VerifyError(where + ": keyid must be the first component's keyid");
    return id;
}

std::string PublicIdentity::fingerprint() const {
    std::string out;
    for (std::size_t i = 0; i < keyid.size(); i += 4) {
        if (!out.empty()) out += ' ';
        out += keyid.substr(i, 4);
    }
    return out;
}

// ---- SigningKey ------------------------------------------------------------------------------

struct SigningKey::Impl {
    std::vector<std::unique_ptr<Botan::Private_Key>> keys;
    std::vector<Scheme> schemes;
    PublicIdentity identity;

    void add(std::unique_ptr<Botan::Private_Key> key) {
        PublicKey pk = public_of(*key);
        for (auto s : schemes)
            if (s == pk.scheme)
                throw UsageError("key has two " + std::string(to_string(s)) + " components");
        if (identity.components.empty()) identity.keyid = pk.keyid;
        schemes.push_back(pk.scheme);
        identity.components.push_back(std::move(pk));
        keys.push_back(std::move(key));
    }
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

SigningKey SigningKey::generate(KeyProfile profile) {
    auto impl = std::make_unique<Impl>();
    auto p384 = [] {
        return std::make_unique<Botan::ECDSA_PrivateKey>(rng(),
                                                         Botan::EC_Group::from_name("secp384r1"));
    };
    switch (profile) {
        case KeyProfile::hybrid:
            impl->add(p384());
            impl->add(std::make_unique<Botan::Dilithium_PrivateKey>(
                rng(), Botan::DilithiumMode(Botan::DilithiumMode::ML_DSA_8x7)));
            break;
        case KeyProfile::ecdsa:
            impl->add(p384());
            break;
        case KeyProfile::ed25519:
            impl->add(std::make_unique<Botan::Ed25519_PrivateKey>(rng()));
            break;
    }
    return SigningKey(std::move(impl));
}

bool SigningKey::is_encrypted(const std::string& path) {
    const std::string data = read_key_file(path);
    for (const auto& b : split_pem(data, path))
        if (b.label == "ENCRYPTED PRIVATE KEY") return true;
    return false;
}

SigningKey SigningKey::load(const std::string& path, const std::optional<std::string>& passphrase) {
    const std::string data = read_key_file(path);
    auto impl = std::make_unique<Impl>();
    for (const auto& b : split_pem(data, path)) {
        std::unique_ptr<Botan::Private_Key> key;
        if (b.label == "ENCRYPTED PRIVATE KEY") {
            if (!passphrase)
                throw UsageError("key file " + path + " is encrypted: a passphrase is needed");
            try {
                key = Botan::PKCS8::load_key(bytes_of(b.text), *passphrase);
            } catch (const Botan::Exception&) {
                throw UsageError("cannot decrypt key file " + path +
                                 ": wrong passphrase or damaged file");
            }
        } else if (b.label == "PRIVATE KEY") {
            try {
                key = Botan::PKCS8::load_key(bytes_of(b.text));
            } catch (const Botan::Exception& e) {
                throw UsageError("key file " + path + ": malformed private key: " + e.what());
            }
        } else {
            throw UsageError("key file " + path + ": unexpected PEM block '" + b.label +
                             "' (expected PKCS#8 PRIVATE KEY)");
        }
        try {
            impl->add(std::move(key));
        } catch (const VerifyError& e) {
            throw UsageError("key file " + path + ": " + e.what());
        }
    }
    return SigningKey(std::move(impl));
}

SigningKey SigningKey::clone() const {
    auto impl = std::make_unique<Impl>();
    for (const auto& key : impl_->keys) {
        const auto der = key->private_key_info();
        Botan::DataSource_Memory src(der);
        impl->add(Botan::PKCS8::load_key(src));
    }
    return SigningKey(std::move(impl));
}

void SigningKey::save(const std::string& path, const std::optional<std::string>& passphrase) const {
    std::string text;
    for (const auto& key : impl_->keys) {
        if (passphrase)
            text += Botan::PKCS8::PEM_encode_encrypted_pbkdf_iter(
                *key, rng(), *passphrase, kPbkdfIterations, "AES-256/CBC", "SHA-512");
        else
            text += Botan::PKCS8::PEM_encode(*key);
        if (text.back() != '\n') text += '\n';
    }
    write_new_file(path, text, 0600);
}

const PublicIdentity& SigningKey::identity() const {
    return impl_->identity;
}

std::vector<std::pair<std::string, std::string>> SigningKey::sign(std::string_view message) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < impl_->keys.size(); ++i) {
        const Scheme s = impl_->schemes[i];
        Botan::PK_Signer signer(*impl_->keys[i], rng(), botan_params(s), botan_format(s));
        auto sig = signer.sign_message(bytes_of(message), rng());
        out.emplace_back(impl_->identity.components[i].keyid,
                         std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
    }
    return out;
}

// ---- Files -----------------------------------------------------------------------------------

void write_new_file(const std::string& path, std::string_view bytes, unsigned mode) {
    std::error_code ec;
    if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found)
        throw UsageError("refusing to overwrite existing " + path);
    core::write_file_atomic(path, bytes, /*no_replace=*/true, mode);
}

}  // namespace audit::crypto
