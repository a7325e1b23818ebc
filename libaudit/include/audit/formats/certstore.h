// Certificates as trust stores hold them: X.509 DER (subject, issuer, serial, fingerprints, read
// with the formats area's one certificate reader, formats/cms.h), PEM text (Linux CA directories
// and bundles) and the "Blob" value of a Windows registry certificate store
// (SOFTWARE\Microsoft\SystemCertificates\<store>\Certificates\<SHA-1>\Blob). Bounded;
// malformed input is refused with audit::UsageError.
//
// The Blob layout is not published by Microsoft as a format; it is the serialized store element
// of crypt32 (CertSerializeCertificateStoreElement): a sequence of properties, each
//   u32 property id, u32 reserved (1), u32 length, then `length` bytes,
// little endian, where property 0x20 (CERT_CERT_PROP_ID, wincrypt.h) holds the certificate's DER
// and the others its cached properties (0x03 SHA-1 hash, 0x0b friendly name, 0x14 key
// identifier, ...). Wine's crypt32 (dlls/crypt32/serialize.c) reads and writes the same layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace audit::certstore {

struct Certificate {
    std::string subject, subject_cn;  // "C=RU, O=AO Kaspersky Lab, CN=...", its last CN
    std::string issuer, issuer_cn;
    std::string serial;        // lower-case hex, without a sign byte
    std::string sha1, sha256;  // lower-case hex of the DER
};

// The certificate in the first DER element of der (bytes after it, such as OpenSSL's "TRUSTED
// CERTIFICATE" trust settings, are ignored); nothing else is checked (no signature, validity or
// chain: a store holds what it holds).
Certificate read_certificate(std::string_view der);

// One property of a registry Blob (data points into the blob).
struct BlobProperty {
    std::uint32_t id = 0;
    std::string_view data;
};
constexpr std::uint32_t kCertProperty = 0x20;          // CERT_CERT_PROP_ID: the DER
constexpr std::uint32_t kSha1Property = 0x03;          // CERT_SHA1_HASH_PROP_ID
constexpr std::uint32_t kFriendlyNameProperty = 0x0b;  // CERT_FRIENDLY_NAME_PROP_ID (UTF-16LE)
constexpr std::size_t kMaxBlobProperties = 256;

// Every property, in order. Throws UsageError on a truncated header, a length beyond the blob,
// more than kMaxBlobProperties properties or a blob larger than 4 MiB.
std::vector<BlobProperty> blob_properties(std::string_view blob);
// The DER of the Blob's certificate property; throws UsageError when it has none or twice.
std::string_view blob_certificate(std::string_view blob);

// The DER of each PEM block labelled CERTIFICATE, X509 CERTIFICATE or TRUSTED CERTIFICATE, in
// order; blocks with other labels (keys, CRLs) are skipped. At most max_blocks blocks; a
// certificate block whose base64 is malformed is counted in malformed and skipped. Throws
// UsageError when there are more than max_blocks certificate blocks.
std::vector<std::string> pem_certificates(std::string_view text, std::size_t max_blocks,
                                          std::size_t& malformed);
// Whether the text holds a PEM certificate block marker at all.
bool has_pem_certificate(std::string_view text);

}  // namespace audit::certstore
