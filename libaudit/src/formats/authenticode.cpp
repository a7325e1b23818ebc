// Authenticode's PKCS#7 SignedData (Microsoft's "Windows Authenticode Portable Executable
// Signature Format"): ContentInfo > SignedData > SpcIndirectDataContent + certificates +
// SignerInfo, read with the shared CMS reader (formats/cms.h) over the bounded DER reader.
#include "audit/error.h"
#include "audit/formats/pe.h"
#include "formats/cms.h"
#include "formats/der.h"

namespace audit::pe {

namespace {

constexpr std::string_view kSpcIndirectData = "1.3.6.1.4.1.311.2.1.4";

}  // namespace

void parse_authenticode(std::string_view pkcs7, Signature& sig,
                        const std::function<std::string(const std::string&)>& file_digest) {
    const std::string_view what = "Authenticode signature";
    // DER throughout, as before the reader was shared (ber = false).
    const cms::SignedData sd = cms::read_signed_data(pkcs7, what);

    // encapContentInfo: SpcIndirectDataContent ::= SEQUENCE { data, messageDigest DigestInfo }
    if (sd.content_type != kSpcIndirectData)
        throw UsageError("Authenticode signature: content is not SpcIndirectDataContent");
    if (!sd.econtent) throw UsageError("Authenticode signature: missing eContent");
    if (sd.econtent->tag != der::kSequence)
        throw UsageError("Authenticode signature: SpcIndirectDataContent: unexpected tag 0x" +
                         der::hex(std::string(1, static_cast<char>(sd.econtent->tag))));
    const der::Element& spc = *sd.econtent;
    der::Reader spc_r(spc.content, what);
    spc_r.expect(der::kSequence, "SpcAttributeTypeAndOptionalValue");
    der::Reader digest_info(spc_r.expect(der::kSequence, "DigestInfo").content, what);
    der::Reader alg(digest_info.expect(der::kSequence, "digestAlgorithm").content, what);
    const std::string digest_oid = der::oid(alg.expect(der::kOid, "algorithm").content);
    const std::string_view signed_digest = digest_info.expect(der::kOctetString, "digest").content;
    const cms::Hash* pe_hash = cms::hash_by_oid(digest_oid);
    if (!pe_hash)
        throw UsageError("Authenticode signature: unsupported digest algorithm " + digest_oid);
    if (!sd.signed_content_type.empty() && sd.signed_content_type != kSpcIndirectData)
        throw UsageError(
            "Authenticode signature: signed contentType is not SpcIndirectDataContent");
    sig.digest_algorithm = pe_hash->name;
    sig.signed_digest = der::hex(signed_digest);
    sig.file_digest = der::hex(file_digest(pe_hash->botan));
    sig.digest_matches = sig.file_digest == sig.signed_digest;

    for (const auto& c : sd.certificates) sig.certificates.push_back(c.subject);
    sig.issuer = sd.signer_issuer;
    sig.serial = sd.signer_serial;
    if (const cms::Certificate* signer = sd.signer_certificate()) {
        sig.subject = signer->subject;
        sig.subject_cn = signer->subject_cn;
    }
    sig.signature_check = cms::check_signature(sd);
    // Authenticode hashes SpcIndirectDataContent without its outer tag and length.
    sig.content_bound = sd.digest && !sd.message_digest.empty() &&
                        sd.message_digest == cms::digest(*sd.digest, spc.content);
}

}  // namespace audit::pe
