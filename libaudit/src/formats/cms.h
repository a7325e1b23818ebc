// CMS SignedData (RFC 5652) read with the bounded DER reader, shared by the Authenticode (PE) and
// Mach-O code signature parsers (private to the formats area): ContentInfo > SignedData >
// encapContentInfo + certificates + the first SignerInfo, its signed attributes, and the check of
// its signature with the signer certificate's key. No chain, validity or revocation check: a
// certificate here is what the signature carries, not what anyone vouches for.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/der.h"

namespace audit::cms {

struct Hash {
    const char* oid;
    const char* name;   // as reported: "sha256"
    const char* botan;  // Botan's name: "SHA-256"
};
// The digest algorithms read here (SHA-1, SHA-256, SHA-384, SHA-512); nullptr for others.
const Hash* hash_by_oid(const std::string& oid);
// The raw digest of data with a hash from the table above.
std::string digest(const Hash& hash, std::string_view data);

struct Certificate {
    std::string_view issuer_der, serial;  // for matching a SignerInfo's issuerAndSerialNumber
    std::string subject, subject_cn, issuer;
    std::vector<std::string> subject_ou;  // the subject's OU values (Apple: the Team ID)
    std::string_view spki;                // SubjectPublicKeyInfo, whole
};

// An X.509 certificate (a SEQUENCE element, DER) read for its names, serial and key: the one
// certificate reader of the formats area (CMS signers, and whoever needs a subject). Throws
// UsageError("certificate: why") when malformed.
Certificate read_certificate(const der::Element& cert);

struct SignedData {
    std::string content_type;              // encapContentInfo's eContentType (dotted OID)
    std::optional<der::Element> econtent;  // the one element inside eContent [0]; none: detached
    std::vector<Certificate> certificates;
    // The first SignerInfo.
    std::optional<std::size_t> signer;  // index of its certificate when the sid names one here
    std::string signer_issuer, signer_serial;  // from an issuerAndSerialNumber sid ("" otherwise)
    std::string digest_oid;                    // its digestAlgorithm
    const Hash* digest = nullptr;              // that algorithm when supported
    bool has_signed_attrs = false;
    der::Element signed_attrs;        // [0] IMPLICIT SET OF Attribute, as encoded
    std::string message_digest;       // the messageDigest attribute, raw ("" when none)
    std::string signed_content_type;  // the contentType attribute ("" when none)
    std::string signature_oid;        // signatureAlgorithm
    std::string_view signature;       // the signature value
    const Certificate* signer_certificate() const {
        return signer ? &certificates[*signer] : nullptr;
    }
};

// Reads a ContentInfo holding SignedData. what prefixes every error ("Authenticode signature").
// ber: also take indefinite lengths (BER) in the structure around the certificates, as Apple's
// code signatures are encoded; certificates and signed attributes are DER regardless. Throws
// UsageError("<what>: why") on anything malformed. Bounded: 64 certificates, 64 signed
// attributes, the first SignerInfo only.
SignedData read_signed_data(std::string_view bytes, std::string_view what, bool ber = false);

// "verified" or "failed" for the signer's signature over the signed attributes with its
// certificate's public key (RSA PKCS#1 v1.5 or ECDSA with the signer's digest), or
// "unchecked: <why>" (no signed attributes or messageDigest, no signer certificate, an
// unsupported algorithm, a key Botan cannot load).
std::string check_signature(const SignedData& sd);

}  // namespace audit::cms
