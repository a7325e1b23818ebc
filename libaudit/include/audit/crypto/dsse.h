// DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/crypto/keys.h"

namespace audit::crypto {

// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
std::string pae(std::string_view payload_type, std::string_view payload);

std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);  // standard alphabet; throws VerifyError

struct DsseSignature {
    std::string keyid;
    std::string sig;  // raw bytes
};

struct Envelope {
    std::string payload_type;
    std::string payload;  // decoded bytes
    std::vector<DsseSignature> signatures;

    // Adds one signature per component of key over PAE(payload_type, payload).
    void sign(const SigningKey& key);
    // True when every component of identity has a valid signature in this envelope.
    bool signed_by(const PublicIdentity& identity) const;
    // {"payload": b64, "payloadType": ..., "signatures": [{"keyid": ..., "sig": b64}]}
    std::string to_json() const;
    // Bounded parse (max_bytes); throws VerifyError on malformed input.
    static Envelope parse(std::string_view json_text, std::size_t max_bytes = 64u << 20);
};

}  // namespace audit::crypto
