#include "audit/crypto/dsse.h"

#include <array>

#include <nlohmann/json.hpp>

#include "audit/error.h"
#include "audit/strict_json.h"

namespace audit::crypto {

namespace {

constexpr std::size_t kMaxSignatures = 64;
constexpr std::size_t kMaxKeyidLength = 256;
constexpr std::size_t kMaxSignatureB64 = 32u << 10;  // ML-DSA-87 signatures are 4627 bytes
constexpr std::size_t kMaxPayloadTypeLength = 256;
constexpr int kMaxJsonDepth = 16;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a base64 digit in the standard or URL-safe alphabet (DSSE allows either), else -1.
constexpr std::array<int, 256> make_decode_table() {
    std::array<int, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
    t['-'] = 62;
    t['_'] = 63;
    return t;
}
constexpr auto kDecode = make_decode_table();

const std::string& string_field(const nlohmann::json& o, const char* name, std::size_t max_len) {
    auto it = o.find(name);
    if (it == o.end()) throw VerifyError(std::string("DSSE envelope: missing \"") + name + "\"");
    if (!it->is_string())
        throw VerifyError(std::string("DSSE envelope: \"") + name + "\" is not a string");
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max_len)
        throw VerifyError(std::string("DSSE envelope: \"") + name + "\" is too long (" +
                          std::to_string(s.size()) + " bytes)");
    return s;
}

std::string decode_field(const std::string& b64, const char* name) {
    try {
        return base64_decode(b64);
    } catch (const VerifyError& e) {
        throw VerifyError(std::string("DSSE envelope: \"") + name + "\": " + e.what());
    }
}

}  // namespace

std::string pae(std::string_view payload_type, std::string_view payload) {
    std::string out = "DSSEv1 ";
    out += std::to_string(payload_type.size());
    out += ' ';
    out += payload_type;
    out += ' ';
    out += std::to_string(payload.size());
    out += ' ';
    out += payload;
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        unsigned v = at(i) << 16;
        if (rest == 2) v |= at(i + 1) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    // Padding is optional (URL-safe producers often drop it) but must be right when present.
    std::size_t len = text.size();
    std::size_t pad = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        --len;
        ++pad;
    }
    if (pad > 0 && text.size() % 4 != 0) throw VerifyError("bad base64: wrong padding");
    if (len % 4 == 1) throw VerifyError("bad base64: truncated input");
    std::string out;
    out.reserve(len / 4 * 3 + 2);
    unsigned acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < len; ++i) {
        int v = kDecode[static_cast<unsigned char>(text[i])];
        if (v < 0)
            throw VerifyError("bad base64: invalid character at offset " + std::to_string(i));
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, so each byte string has exactly one encoding.
    if ((acc & ((1u << bits) - 1)) != 0) throw VerifyError("bad base64: non-canonical encoding");
    return out;
}

void Envelope::sign(const SigningKey& key) {
    const std::string message = pae(payload_type, payload);
    for (auto& [keyid, sig] : key.sign(message)) signatures.push_back({keyid, sig});
}

bool Envelope::signed_by(const PublicIdentity& identity) const {
    if (identity.components.empty()) return false;
    const std::string message = pae(payload_type, payload);
    for (const auto& component : identity.components) {
        bool ok = false;
        for (const auto& s : signatures)
            if (s.keyid == component.keyid && component.verify(message, s.sig)) {
                ok = true;
                break;
            }
        if (!ok) return false;
    }
    return true;
}

std::string Envelope::to_json() const {
    nlohmann::json sigs = nlohmann::json::array();
    for (const auto& s : signatures)
        sigs.push_back({{"keyid", s.keyid}, {"sig", base64_encode(s.sig)}});
    nlohmann::json j = {
        {"payload", base64_encode(payload)}, {"payloadType", payload_type}, {"signatures", sigs}};
    return j.dump();
}

Envelope Envelope::parse(std::string_view json_text, std::size_t max_bytes) {
    if (json_text.size() > max_bytes)
        throw VerifyError("DSSE envelope is " + std::to_string(json_text.size()) +
                          " bytes, more than the limit of " + std::to_string(max_bytes));
    // Strict: one value per key (a duplicate "payload" or "sig" would mean different things to
    // different readers), bounded nesting.
    nlohmann::json j = parse_json_strict(json_text, "DSSE envelope", kMaxJsonDepth);
    if (!j.is_object()) throw VerifyError("DSSE envelope is not a JSON object");

    Envelope env;
    env.payload_type = string_field(j, "payloadType", kMaxPayloadTypeLength);
    env.payload = decode_field(string_field(j, "payload", max_bytes), "payload");
    auto sigs = j.find("signatures");
    if (sigs == j.end() || !sigs->is_array())
        throw VerifyError("DSSE envelope: \"signatures\" is missing or not an array");
    if (sigs->empty()) throw VerifyError("DSSE envelope has no signatures");
    if (sigs->size() > kMaxSignatures)
        throw VerifyError("DSSE envelope has " + std::to_string(sigs->size()) +
                          " signatures, more than " + std::to_string(kMaxSignatures));
    for (const auto& s : *sigs) {
        if (!s.is_object()) throw VerifyError("DSSE envelope: a signature is not a JSON object");
        DsseSignature sig;
        // keyid is optional in DSSE; an empty one simply matches no key.
        if (s.contains("keyid")) sig.keyid = string_field(s, "keyid", kMaxKeyidLength);
        sig.sig = decode_field(string_field(s, "sig", kMaxSignatureB64), "sig");
        env.signatures.push_back(std::move(sig));
    }
    return env;
}

}  // namespace audit::crypto
