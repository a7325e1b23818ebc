#include "audit/trust/manifest_signature.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/fs/walker.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"

namespace audit::trust {

namespace {

constexpr std::string_view kManifestSignatureType = "audit-toolkit/manifest-signature";
constexpr std::size_t kMaxSignature = 1u << 20;

nlohmann::json payload_of(const manifest::Manifest& m) {
    return {{"_type", kManifestSignatureType},
            {"file", m.file},
            {"id", m.id},
            {"version", m.version},
            {"sha256", m.sha256},
            {"sha384", m.sha384}};
}

}  // namespace

std::string sign_manifest(const TrustRoot& trust, const manifest::Manifest& m,
                          const crypto::SigningKey& key) {
    const auto& ids = trust.roles.at("manifest").keyids;
    if (std::find(ids.begin(), ids.end(), key.identity().keyid) == ids.end())
        throw UsageError("key " + key.identity().keyid.substr(0, 16) +
                         " is not a manifest key of the trust root");
    crypto::Envelope env;
    env.payload_type = std::string(kManifestPayloadType);
    env.payload = payload_of(m).dump(2) + "\n";
    env.sign(key);
    return env.to_json() + "\n";
}

nlohmann::json ManifestSignature::to_json() const {
    return {{"status", status == Status::verified ? "verified" : "unsigned"}, {"signers", signers}};
}

ManifestSignature verify_manifest(const TrustRoot& trust, const manifest::Manifest& m,
                                  bool allow_unsigned) {
    const std::string sig_path = m.path + std::string(kManifestSignatureSuffix);
    auto read = read_input_file_if_exists(sig_path, kMaxSignature, "manifest signature");
    if (!read) {
        if (allow_unsigned) return {ManifestSignature::Status::unsigned_allowed, {}};
        throw VerifyError(m.path + ": manifest is not signed (no " + m.file +
                          std::string(kManifestSignatureSuffix) +
                          "); use --allow-unsigned-manifests to scan with it anyway");
    }
    std::string text = std::move(*read);
    if (text.size() > kMaxSignature) throw VerifyError(sig_path + ": signature file is too large");
    try {
        auto env = crypto::Envelope::parse(text, kMaxSignature);
        if (env.payload_type != kManifestPayloadType)
            throw VerifyError("not a manifest signature (payloadType '" +
                              env.payload_type.substr(0, 80) + "')");
        ManifestSignature sig;
        sig.signers = trust.verify_role(env, "manifest");
        auto payload = parse_json_strict(env.payload, "manifest signature payload");
        if (payload != payload_of(m))
            throw VerifyError("the signature is for other manifest bytes, id or version");
        return sig;
    } catch (const VerifyError& e) {
        throw VerifyError(sig_path + ": " + e.what());
    }
}

ManifestSignature verify_manifest_bytes(const TrustRoot& trust, const std::string& path,
                                        std::string_view bytes, bool allow_unsigned) {
    const std::string file = std::filesystem::path(path).filename().string();
    const std::string sig_path = path + std::string(kManifestSignatureSuffix);
    auto read = read_input_file_if_exists(sig_path, kMaxSignature, "manifest signature");
    if (!read) {
        if (allow_unsigned) return {ManifestSignature::Status::unsigned_allowed, {}};
        throw VerifyError(path + ": manifest is not signed (no " + file +
                          std::string(kManifestSignatureSuffix) +
                          "); refused without parsing it (--allow-unsigned-manifests to scan "
                          "with it anyway)");
    }
    if (read->size() > kMaxSignature) throw VerifyError(sig_path + ": signature file is too large");
    try {
        auto env = crypto::Envelope::parse(*read, kMaxSignature);
        if (env.payload_type != kManifestPayloadType)
            throw VerifyError("not a manifest signature (payloadType '" +
                              env.payload_type.substr(0, 80) + "')");
        ManifestSignature sig;
        sig.signers = trust.verify_role(env, "manifest");
        auto payload = parse_json_strict(env.payload, "manifest signature payload");
        auto field = [&](const char* key) -> std::string {
            if (!payload.is_object()) return {};
            auto it = payload.find(key);
            return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        if (payload.is_discarded() || field("_type") != kManifestSignatureType ||
            field("file") != file || field("sha256") != fs::sha256_hex(bytes) ||
            field("sha384") != fs::sha384_hex(bytes))
            throw VerifyError(
                "the signature is for other manifest bytes; refused without "
                "parsing them");
        return sig;
    } catch (const VerifyError& e) {
        throw VerifyError(sig_path + ": " + e.what());
    }
}

}  // namespace audit::trust
