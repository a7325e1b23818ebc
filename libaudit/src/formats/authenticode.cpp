// Authenticode's PKCS#7 SignedData (Microsoft's "Windows Authenticode Portable Executable
// Signature Format"): ContentInfo > SignedData > SpcIndirectDataContent + certificates +
// SignerInfo, read with the bounded DER reader.
#include <span>

#include <botan/hash.h>
#include <botan/pk_keys.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "audit/error.h"
#include "audit/formats/pe.h"
#include "formats/der.h"

namespace audit::pe {

namespace {

constexpr std::string_view kSignedData = "1.2.840.113549.1.7.2";
constexpr std::string_view kSpcIndirectData = "1.3.6.1.4.1.311.2.1.4";
constexpr std::string_view kMessageDigest = "1.2.840.113549.1.9.4";
constexpr std::string_view kContentType = "1.2.840.113549.1.9.3";
constexpr std::size_t kMaxCertificates = 64;
constexpr std::size_t kMaxAttributes = 64;

struct Hash {
    const char* oid;
    const char* name;   // as reported
    const char* botan;  // Botan's name
};
constexpr Hash kHashes[] = {
    {"1.3.14.3.2.26", "sha1", "SHA-1"},
    {"2.16.840.1.101.3.4.2.1", "sha256", "SHA-256"},
    {"2.16.840.1.101.3.4.2.2", "sha384", "SHA-384"},
    {"2.16.840.1.101.3.4.2.3", "sha512", "SHA-512"},
};

const Hash* hash_by_oid(const std::string& oid) {
    for (const auto& h : kHashes)
        if (oid == h.oid) return &h;
    return nullptr;
}

// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
std::string algorithm_oid(const der::Element& alg, std::string_view what) {
    der::Reader r(alg.content, what);
    return der::oid(r.expect(der::kOid, "algorithm").content);
}

struct Certificate {
    std::string_view issuer_der, serial;  // for matching the SignerInfo's sid
    std::string subject, subject_cn, issuer;
    std::string_view spki;  // SubjectPublicKeyInfo, whole
};

Certificate read_certificate(const der::Element& cert) {
    const std::string_view what = "certificate";
    der::Reader outer(cert.content, what);
    der::Reader tbs(outer.expect(der::kSequence, "tbsCertificate").content, what);
    der::Element e;
    tbs.optional(der::kContext0, e);  // version
    Certificate c;
    c.serial = tbs.expect(der::kInteger, "serialNumber").content;
    tbs.expect(der::kSequence, "signature");
    const der::Element issuer = tbs.expect(der::kSequence, "issuer");
    tbs.expect(der::kSequence, "validity");
    const der::Element subject = tbs.expect(der::kSequence, "subject");
    c.spki = tbs.expect(der::kSequence, "subjectPublicKeyInfo").whole;
    c.issuer_der = issuer.content;
    c.issuer = der::name(issuer.content, what);
    c.subject = der::name(subject.content, what);
    c.subject_cn = der::common_name(subject.content, what);
    return c;
}

// Botan's verifier names for a SignerInfo signature algorithm and digest.
bool verifier_params(const std::string& sig_oid, const Hash& digest, std::string& padding,
                     Botan::Signature_Format& format) {
    const std::string h = digest.botan;
    format = Botan::Signature_Format::Standard;
    // rsaEncryption and the sha*WithRSAEncryption OIDs: PKCS#1 v1.5 with the signer's digest.
    if (sig_oid == "1.2.840.113549.1.1.1" || sig_oid == "1.2.840.113549.1.1.5" ||
        sig_oid == "1.2.840.113549.1.1.11" || sig_oid == "1.2.840.113549.1.1.12" ||
        sig_oid == "1.2.840.113549.1.1.13") {
        padding = "PKCS1v15(" + h + ")";
        return true;
    }
    // id-ecPublicKey and ecdsa-with-SHA*.
    if (sig_oid == "1.2.840.10045.2.1" || sig_oid.rfind("1.2.840.10045.4.", 0) == 0) {
        padding = h;
        format = Botan::Signature_Format::DerSequence;
        return true;
    }
    return false;
}

std::string check_signature(const Certificate& signer, const der::Element& signed_attrs,
                            const std::string& sig_oid, const Hash& digest,
                            std::string_view signature) {
    std::string padding;
    Botan::Signature_Format format{};
    if (!verifier_params(sig_oid, digest, padding, format))
        return "unchecked: signature algorithm " + sig_oid + " not supported";
    // The signature covers the attributes' DER with the SET OF tag in place of [0] IMPLICIT.
    std::string data(signed_attrs.whole);
    data[0] = static_cast<char>(der::kSet);
    try {
        auto key = Botan::X509::load_key(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(signer.spki.data()), signer.spki.size()));
        Botan::PK_Verifier verifier(*key, padding, format);
        const bool ok = verifier.verify_message(
            reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
            reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size());
        return ok ? "verified" : "failed";
    } catch (const std::exception& e) {
        return std::string("unchecked: ") + e.what();
    }
}

}  // namespace

void parse_authenticode(std::string_view pkcs7, Signature& sig,
                        const std::function<std::string(const std::string&)>& file_digest) {
    const std::string_view what = "Authenticode signature";
    der::Reader top(pkcs7, what);
    der::Reader content_info(top.expect(der::kSequence, "ContentInfo").content, what);
    if (der::oid(content_info.expect(der::kOid, "contentType").content) != kSignedData)
        throw UsageError("Authenticode signature: ContentInfo is not SignedData");
    der::Reader explicit0(content_info.expect(der::kContext0, "content").content, what);
    der::Reader sd(explicit0.expect(der::kSequence, "SignedData").content, what);
    sd.expect(der::kInteger, "version");
    sd.expect(der::kSet, "digestAlgorithms");

    // encapContentInfo: SpcIndirectDataContent ::= SEQUENCE { data, messageDigest DigestInfo }
    der::Reader encap(sd.expect(der::kSequence, "encapContentInfo").content, what);
    if (der::oid(encap.expect(der::kOid, "eContentType").content) != kSpcIndirectData)
        throw UsageError("Authenticode signature: content is not SpcIndirectDataContent");
    der::Reader econtent(encap.expect(der::kContext0, "eContent").content, what);
    const der::Element spc = econtent.expect(der::kSequence, "SpcIndirectDataContent");
    der::Reader spc_r(spc.content, what);
    spc_r.expect(der::kSequence, "SpcAttributeTypeAndOptionalValue");
    der::Reader digest_info(spc_r.expect(der::kSequence, "DigestInfo").content, what);
    const std::string digest_oid =
        algorithm_oid(digest_info.expect(der::kSequence, "digestAlgorithm"), what);
    const std::string_view signed_digest = digest_info.expect(der::kOctetString, "digest").content;
    const Hash* pe_hash = hash_by_oid(digest_oid);
    if (!pe_hash)
        throw UsageError("Authenticode signature: unsupported digest algorithm " + digest_oid);
    sig.digest_algorithm = pe_hash->name;
    sig.signed_digest = der::hex(signed_digest);
    sig.file_digest = der::hex(file_digest(pe_hash->botan));
    sig.digest_matches = sig.file_digest == sig.signed_digest;

    std::vector<Certificate> certs;
    der::Element e;
    if (sd.optional(der::kContext0, e)) {
        der::Reader list(e.content, what);
        while (!list.done()) {
            const der::Element c = list.next();
            if (c.tag != der::kSequence) continue;  // attribute certificates and others
            if (certs.size() >= kMaxCertificates)
                throw UsageError("Authenticode signature: too many certificates");
            certs.push_back(read_certificate(c));
            sig.certificates.push_back(certs.back().subject);
        }
    }
    sd.optional(der::kContext1, e);  // CRLs

    der::Reader signers(sd.expect(der::kSet, "signerInfos").content, what);
    der::Reader si(signers.expect(der::kSequence, "SignerInfo").content, what);
    si.expect(der::kInteger, "version");
    const Certificate* signer = nullptr;
    if (si.peek() == der::kSequence) {
        der::Reader ias(si.next().content, what);
        const der::Element issuer = ias.expect(der::kSequence, "issuer");
        const std::string_view serial = ias.expect(der::kInteger, "serialNumber").content;
        for (const auto& c : certs)
            if (c.issuer_der == issuer.content && c.serial == serial) signer = &c;
        sig.issuer = der::name(issuer.content, what);
        sig.serial = der::serial_hex(serial);
    } else {
        si.next();  // subjectKeyIdentifier [0]: Authenticode signers use issuer and serial
    }
    if (signer) {
        sig.subject = signer->subject;
        sig.subject_cn = signer->subject_cn;
    }
    const Hash* si_hash =
        hash_by_oid(algorithm_oid(si.expect(der::kSequence, "digestAlgorithm"), what));

    der::Element signed_attrs;
    std::string message_digest;
    bool has_attrs = si.optional(der::kContext0, signed_attrs);
    if (has_attrs) {
        der::Reader attrs(signed_attrs.content, what);
        std::size_t n = 0;
        while (!attrs.done()) {
            if (++n > kMaxAttributes)
                throw UsageError("Authenticode signature: too many signed attributes");
            der::Reader attr(attrs.expect(der::kSequence, "Attribute").content, what);
            const std::string type = der::oid(attr.expect(der::kOid, "attrType").content);
            der::Reader values(attr.expect(der::kSet, "attrValues").content, what);
            if (type == kMessageDigest)
                message_digest = values.expect(der::kOctetString, "messageDigest").content;
            else if (type == kContentType &&
                     der::oid(values.expect(der::kOid, "contentType").content) != kSpcIndirectData)
                throw UsageError(
                    "Authenticode signature: signed contentType is not SpcIndirectDataContent");
        }
    }
    const std::string sig_oid =
        algorithm_oid(si.expect(der::kSequence, "signatureAlgorithm"), what);
    const std::string_view signature = si.expect(der::kOctetString, "signature").content;

    if (!si_hash) {
        sig.signature_check = "unchecked: unsupported signer digest algorithm";
    } else if (!has_attrs || message_digest.empty()) {
        sig.signature_check = "unchecked: no signed messageDigest attribute";
    } else if (!signer) {
        sig.signature_check = "unchecked: signer certificate not in the signature";
    } else {
        sig.signature_check = check_signature(*signer, signed_attrs, sig_oid, *si_hash, signature);
    }
    // Authenticode hashes SpcIndirectDataContent without its outer tag and length.
    sig.content_bound = false;
    if (si_hash && !message_digest.empty()) {
        auto h = Botan::HashFunction::create(si_hash->botan);
        if (h) {
            h->update(reinterpret_cast<const std::uint8_t*>(spc.content.data()),
                      spc.content.size());
            const auto d = h->final();
            sig.content_bound = message_digest ==
                                std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
        }
    }
}

}  // namespace audit::pe
