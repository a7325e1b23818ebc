// The signed head of a kit's evidence chain: written beside the bundles after each one, so that
// deleting the newest bundle (or the head itself) is detectable by whoever checks the chain.
#pragma once

#include <cstdint>
#include <string>

#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::evidence {

inline constexpr std::string_view kChainHeadPredicate = "urn:audit-toolkit:chain-head:v1";
inline constexpr std::string_view kChainHeadSuffix = ".chain-head.dsse.json";

struct ChainHead {
    std::string kit_id;
    std::uint64_t sequence = 0;
    std::string statement_sha256;  // of the newest bundle's DSSE payload
    std::string bundle_sha256;     // of the newest bundle's file
    std::string bundle_file;       // its file name
    std::string written;           // RFC 3339, host clock
    std::string path;              // where it was read from
};

// Verify a head file against the trust root (collector certified for the head's kit). Throws
// VerifyError with the reason, IoError when it cannot be read.
ChainHead read_chain_head(const std::string& path, const trust::TrustRoot& trust);

// Write dir/<kit>.chain-head.dsse.json atomically (replacing the previous head), signed by key;
// collector_certificate is the certificate JSON text the bundles carry.
std::string write_chain_head(const std::string& dir, const ChainHead& head,
                             const crypto::SigningKey& key,
                             const std::string& collector_certificate);

}  // namespace audit::evidence
