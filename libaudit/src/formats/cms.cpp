// CMS SignedData (RFC 5652), shared by formats/authenticode.cpp and formats/macho.cpp.
#include "formats/cms.h"

#include <span>

#include <botan/hash.h>
#include <botan/pk_keys.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "audit/error.h"

namespace audit::cms {

namespace {

constexpr std::string_view kSignedData = "1.2.840.113549.1.7.2";
constexpr std::string_view kMessageDigest = "1.2.840.113549.1.9.4";
constexpr std::string_view kContentType = "1.2.840.113549.1.9.3";
constexpr std::string_view kOu = "2.5.4.11";
constexpr std::size_t kMaxCertificates = 64;
constexpr std::size_t kMaxAttributes = 64;

constexpr Hash kHashes[] = {
    {"1.3.14.3.2.26", "sha1", "SHA-1"},
    {"2.16.840.1.101.3.4.2.1", "sha256", "SHA-256"},
    {"2.16.840.1.101.3.4.2.2", "sha384", "SHA-384"},
    {"2.16.840.1.101.3.4.2.3", "sha512", "SHA-512"},
};

[[noreturn]] void bad(std::string_view what, const std::string& why) {
    throw UsageError(std::string(what) + ": " + why);
}

// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
std::string algorithm_oid(const der::Element& alg, std::string_view what) {
    der::Reader r(alg.content, what);
    return der::oid(r.expect(der::kOid, "algorithm").content);
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

void read_signed_attrs(SignedData& sd, std::string_view what) {
    der::Reader attrs(sd.signed_attrs.content, what);
    std::size_t n = 0;
    while (!attrs.done()) {
        if (++n > kMaxAttributes) bad(what, "too many signed attributes");
        der::Reader attr(attrs.expect(der::kSequence, "Attribute").content, what);
        const std::string type = der::oid(attr.expect(der::kOid, "attrType").content);
        der::Reader values(attr.expect(der::kSet, "attrValues").content, what);
        if (type == kMessageDigest)
            sd.message_digest = values.expect(der::kOctetString, "messageDigest").content;
        else if (type == kContentType)
            sd.signed_content_type = der::oid(values.expect(der::kOid, "contentType").content);
    }
}

}  // namespace

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
    c.subject_ou = der::attributes(subject.content, kOu, what);
    return c;
}

const Hash* hash_by_oid(const std::string& oid) {
    for (const auto& h : kHashes)
        if (oid == h.oid) return &h;
    return nullptr;
}

std::string digest(const Hash& hash, std::string_view data) {
    auto h = Botan::HashFunction::create_or_throw(hash.botan);
    h->update(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    const auto d = h->final();
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

SignedData read_signed_data(std::string_view bytes, std::string_view what, bool ber) {
    der::Reader top(bytes, what, ber);
    der::Reader content_info(top.expect(der::kSequence, "ContentInfo").content, what, ber);
    if (der::oid(content_info.expect(der::kOid, "contentType").content) != kSignedData)
        bad(what, "ContentInfo is not SignedData");
    der::Reader explicit0(content_info.expect(der::kContext0, "content").content, what, ber);
    der::Reader sd_r(explicit0.expect(der::kSequence, "SignedData").content, what, ber);
    sd_r.expect(der::kInteger, "version");
    sd_r.expect(der::kSet, "digestAlgorithms");

    SignedData sd;
    der::Reader encap(sd_r.expect(der::kSequence, "encapContentInfo").content, what, ber);
    sd.content_type = der::oid(encap.expect(der::kOid, "eContentType").content);
    der::Element e;
    if (encap.optional(der::kContext0, e)) {
        der::Reader econtent(e.content, what, ber);
        sd.econtent = econtent.next();
    }

    if (sd_r.optional(der::kContext0, e)) {
        der::Reader list(e.content, what, ber);
        while (!list.done()) {
            const der::Element c = list.next();
            if (c.tag != der::kSequence) continue;  // attribute certificates and others
            if (sd.certificates.size() >= kMaxCertificates) bad(what, "too many certificates");
            sd.certificates.push_back(read_certificate(c));
        }
    }
    sd_r.optional(der::kContext1, e);  // CRLs

    der::Reader signers(sd_r.expect(der::kSet, "signerInfos").content, what, ber);
    der::Reader si(signers.expect(der::kSequence, "SignerInfo").content, what, ber);
    si.expect(der::kInteger, "version");
    if (si.peek() == der::kSequence) {
        der::Reader ias(si.next().content, what);
        const der::Element issuer = ias.expect(der::kSequence, "issuer");
        const std::string_view serial = ias.expect(der::kInteger, "serialNumber").content;
        for (std::size_t i = 0; i < sd.certificates.size(); ++i)
            if (sd.certificates[i].issuer_der == issuer.content &&
                sd.certificates[i].serial == serial)
                sd.signer = i;
        sd.signer_issuer = der::name(issuer.content, what);
        sd.signer_serial = der::serial_hex(serial);
    } else {
        si.next();  // subjectKeyIdentifier [0]: not matched to a certificate here
    }
    sd.digest_oid = algorithm_oid(si.expect(der::kSequence, "digestAlgorithm"), what);
    sd.digest = hash_by_oid(sd.digest_oid);
    sd.has_signed_attrs = si.optional(der::kContext0, sd.signed_attrs);
    if (sd.has_signed_attrs) read_signed_attrs(sd, what);
    sd.signature_oid = algorithm_oid(si.expect(der::kSequence, "signatureAlgorithm"), what);
    sd.signature = si.expect(der::kOctetString, "signature").content;
    return sd;
}

std::string check_signature(const SignedData& sd) {
    if (!sd.digest) return "unchecked: unsupported signer digest algorithm";
    if (!sd.has_signed_attrs || sd.message_digest.empty())
        return "unchecked: no signed messageDigest attribute";
    const Certificate* signer = sd.signer_certificate();
    if (!signer) return "unchecked: signer certificate not in the signature";
    std::string padding;
    Botan::Signature_Format format{};
    if (!verifier_params(sd.signature_oid, *sd.digest, padding, format))
        return "unchecked: signature algorithm " + sd.signature_oid + " not supported";
    // The signature covers the attributes' DER with the SET OF tag in place of [0] IMPLICIT;
    // an indefinite length (BER) is not that DER, and re-encoding is not done here.
    if (sd.signed_attrs.whole.size() < 2 || sd.signed_attrs.whole[1] == '\x80')
        return "unchecked: signed attributes not in DER";
    std::string data(sd.signed_attrs.whole);
    data[0] = static_cast<char>(der::kSet);
    try {
        auto key = Botan::X509::load_key(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(signer->spki.data()), signer->spki.size()));
        Botan::PK_Verifier verifier(*key, padding, format);
        const bool ok = verifier.verify_message(
            reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
            reinterpret_cast<const std::uint8_t*>(sd.signature.data()), sd.signature.size());
        return ok ? "verified" : "failed";
    } catch (const std::exception& e) {
        return std::string("unchecked: ") + e.what();
    }
}

}  // namespace audit::cms
