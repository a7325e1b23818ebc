// Windows PE files read from bytes: version resource and Authenticode signature.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace audit::pe {

// VS_VERSIONINFO: the fixed file info and the first StringFileInfo table.
struct VersionInfo {
    bool present = false;
    std::string file_version, product_version;   // from VS_FIXEDFILEINFO, "a.b.c.d"
    std::string language;                        // the string table's key, "040904b0"
    std::map<std::string, std::string> strings;  // CompanyName, ProductName, FileDescription, ...
    std::string get(const std::string& key) const;
};

// What Authenticode says about the file, and what of it was checked.
struct Signature {
    bool present = false;  // a certificate table with a PKCS#7 SignedData entry
    std::string error;     // the signature could not be parsed (malformed): why
    std::string subject, subject_cn, issuer, serial;  // the signer's certificate
    std::string digest_algorithm;                     // of the signed PE digest: sha1, sha256, ...
    std::string signed_digest, file_digest;           // hex: the signed value and ours
    bool digest_matches = false;  // the file's Authenticode digest equals the signed one
    // The signer's messageDigest attribute equals the digest of the signed SpcIndirectDataContent.
    bool content_bound = false;
    // "verified", "failed" or "unchecked: <why>" for the signature over the signed attributes
    // with the signer certificate's public key. No chain, validity or revocation check.
    std::string signature_check;
    std::vector<std::string> certificates;  // subjects of every embedded certificate
    nlohmann::json to_json() const;
};

struct PeFile {
    std::uint16_t machine = 0;
    bool pe32_plus = false;
    std::uint16_t characteristics = 0;
    std::uint16_t subsystem = 0;
    VersionInfo version;
    Signature signature;
    std::vector<std::string> warnings;  // a malformed resource, data after the certificate table
    nlohmann::json to_json() const;
};

// True when the first bytes are an MZ header (cheap check before reading a whole file).
bool looks_like_pe(std::string_view head);

// Parse a whole PE file. Throws UsageError "<origin>: why" when the DOS/PE headers or the section
// table are malformed; a malformed version resource becomes a warning and a malformed signature
// Signature::error, since the rest of the file is still evidence. Bounded: 96 sections, resource
// directories of 4096 entries, 64 version strings of 1024 characters, 16 certificate entries.
PeFile parse_pe(std::string_view bytes, std::string_view origin);

// The PKCS#7 SignedData of a WIN_CERTIFICATE, checked against the file: fills sig from the DER
// bytes; throws UsageError when they are malformed. file_digest(botan_hash_name) returns the
// file's Authenticode digest (raw bytes) with that hash ("SHA-256", ...). Exposed for tests and
// fuzzing.
void parse_authenticode(std::string_view pkcs7, Signature& sig,
                        const std::function<std::string(const std::string&)>& file_digest);

}  // namespace audit::pe
