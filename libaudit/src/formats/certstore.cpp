#include "audit/formats/certstore.h"

#include <botan/base64.h>

#include "audit/error.h"
#include "formats/cms.h"
#include "formats/der.h"

namespace audit::certstore {

namespace {

constexpr std::size_t kMaxBlobBytes = 4u << 20;
constexpr std::size_t kMaxCertificateBytes = 1u << 20;

std::uint32_t u32le(std::string_view s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    return v;
}

constexpr const char* kSha1 = "1.3.14.3.2.26";
constexpr const char* kSha256 = "2.16.840.1.101.3.4.2.1";

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

bool certificate_label(std::string_view label) {
    return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
}

}  // namespace

Certificate read_certificate(std::string_view bytes) {
    const std::string_view what = "certificate";
    if (bytes.size() > kMaxCertificateBytes)
        throw UsageError("certificate: larger than " + std::to_string(kMaxCertificateBytes) +
                         " bytes");
    der::Reader top(bytes, what);
    const der::Element cert = top.expect(der::kSequence, "Certificate");
    const cms::Certificate x = cms::read_certificate(cert);  // the formats area's one reader
    Certificate c;
    c.subject = x.subject;
    c.subject_cn = x.subject_cn;
    c.issuer = x.issuer;
    c.issuer_cn = der::common_name(x.issuer_der, what);
    c.serial = der::serial_hex(x.serial);
    c.sha1 = der::hex(cms::digest(*cms::hash_by_oid(kSha1), cert.whole));
    c.sha256 = der::hex(cms::digest(*cms::hash_by_oid(kSha256), cert.whole));
    return c;
}

std::vector<BlobProperty> blob_properties(std::string_view blob) {
    if (blob.size() > kMaxBlobBytes)
        throw UsageError("certificate blob: larger than " + std::to_string(kMaxBlobBytes) +
                         " bytes");
    std::vector<BlobProperty> out;
    std::size_t pos = 0;
    while (pos < blob.size()) {
        if (blob.size() - pos < 12)
            throw UsageError("certificate blob: truncated property header at offset " +
                             std::to_string(pos));
        if (out.size() >= kMaxBlobProperties)
            throw UsageError("certificate blob: more than " + std::to_string(kMaxBlobProperties) +
                             " properties");
        BlobProperty p;
        p.id = u32le(blob, pos);
        const std::uint32_t length = u32le(blob, pos + 8);
        pos += 12;
        if (length > blob.size() - pos)
            throw UsageError("certificate blob: property " + std::to_string(p.id) + " of " +
                             std::to_string(length) + " bytes runs past the end");
        p.data = blob.substr(pos, length);
        pos += length;
        out.push_back(p);
    }
    return out;
}

std::string_view blob_certificate(std::string_view blob) {
    std::string_view der;
    bool found = false;
    for (const auto& p : blob_properties(blob)) {
        if (p.id != kCertProperty) continue;
        if (found) throw UsageError("certificate blob: two certificate properties");
        der = p.data;
        found = true;
    }
    if (!found) throw UsageError("certificate blob: no certificate property (0x20)");
    return der;
}

bool has_pem_certificate(std::string_view text) {
    std::size_t pos = 0;
    while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
        pos += kBegin.size();
        const auto end = text.find(kDashes, pos);
        if (end == std::string_view::npos) return false;
        if (certificate_label(text.substr(pos, end - pos))) return true;
    }
    return false;
}

std::vector<std::string> pem_certificates(std::string_view text, std::size_t max_blocks,
                                          std::size_t& malformed) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
        pos += kBegin.size();
        const auto label_end = text.find(kDashes, pos);
        if (label_end == std::string_view::npos || label_end - pos > 64) continue;
        const std::string_view label = text.substr(pos, label_end - pos);
        const std::size_t body = label_end + kDashes.size();
        const std::string end_marker = std::string(kEnd) + std::string(label) + "-----";
        const auto stop = text.find(end_marker, body);
        if (!certificate_label(label)) {
            if (stop != std::string_view::npos) pos = stop + end_marker.size();
            continue;
        }
        if (out.size() + malformed >= max_blocks)
            throw UsageError("more than " + std::to_string(max_blocks) + " PEM certificate blocks");
        if (stop == std::string_view::npos) {
            ++malformed;  // a block without its end line
            break;
        }
        const std::string_view b64 = text.substr(body, stop - body);
        pos = stop + end_marker.size();
        if (b64.size() > kMaxCertificateBytes * 2) {
            ++malformed;
            continue;
        }
        try {
            const auto der = Botan::base64_decode(b64.data(), b64.size(), true);
            out.emplace_back(reinterpret_cast<const char*>(der.data()), der.size());
        } catch (const std::exception&) {
            ++malformed;
        }
    }
    return out;
}

}  // namespace audit::certstore
