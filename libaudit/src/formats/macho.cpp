#include "audit/formats/macho.h"

#include <algorithm>
#include <cstdint>

#include "audit/error.h"
#include "formats/cms.h"
#include "formats/der.h"

namespace audit::macho {

namespace {

// mach-o/loader.h, mach-o/fat.h
constexpr std::uint32_t kMagic32 = 0xfeedface, kMagic64 = 0xfeedfacf;
constexpr std::uint32_t kCigam32 = 0xcefaedfe, kCigam64 = 0xcffaedfe;
constexpr std::uint32_t kFatMagic = 0xcafebabe, kFatMagic64 = 0xcafebabf;  // big-endian on disk
constexpr std::uint32_t kLcCodeSignature = 0x1d;
// cs_blobs.h (all big-endian)
constexpr std::uint32_t kEmbeddedSignature = 0xfade0cc0, kCodeDirectory = 0xfade0c02,
                        kBlobWrapper = 0xfade0b01;
constexpr std::uint32_t kSlotCodeDirectory = 0, kSlotAlternateFirst = 0x1000,
                        kSlotAlternateLast = 0x1004, kSlotSignature = 0x10000;
constexpr std::uint32_t kSupportsTeamId = 0x20200;

// Bounds on untrusted input.
constexpr std::size_t kMaxSlices = 16;
constexpr std::uint32_t kMaxCommands = 4096;
constexpr std::uint32_t kMaxBlobs = 64;
constexpr std::size_t kMaxString = 256;

[[noreturn]] void bad(const std::string& why) {
    throw UsageError("Mach-O: " + why);
}

std::uint32_t be32(std::string_view b, std::size_t at) {
    if (at > b.size() || b.size() - at < 4) bad("truncated at offset " + std::to_string(at));
    const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

std::uint32_t le32(std::string_view b, std::size_t at) {
    if (at > b.size() || b.size() - at < 4) bad("truncated at offset " + std::to_string(at));
    const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
           p[0];
}

std::uint64_t be64(std::string_view b, std::size_t at) {
    return (std::uint64_t{be32(b, at)} << 32) | be32(b, at + 4);
}

std::string cpu_name(std::uint32_t cputype) {
    switch (cputype) {
        case 0x01000007:
            return "x86_64";
        case 0x0100000c:
            return "arm64";
        case 7:
            return "i386";
        case 12:
            return "arm";
        default:
            return "cputype:" + std::to_string(cputype);
    }
}

// A NUL-terminated string inside blob at offset (bounded, printable ASCII).
std::string c_string(std::string_view blob, std::uint32_t offset, const char* what) {
    if (offset >= blob.size()) bad(std::string(what) + " offset outside the CodeDirectory");
    const auto end = blob.find('\0', offset);
    if (end == std::string_view::npos) bad(std::string(what) + " is not NUL-terminated");
    if (end - offset > kMaxString) bad(std::string(what) + " is longer than 256 bytes");
    std::string out(blob.substr(offset, end - offset));
    for (char c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            bad(std::string(what) + " has a non-printable byte");
    return out;
}

struct CodeDirectory {
    std::uint32_t slot = 0;
    std::string_view blob;  // magic to length: what a CMS signature's messageDigest covers
    std::string identifier, team_id;
};

// The CodeDirectory blob (cs_blobs.h CS_CodeDirectory): identifier and, from version 0x20200,
// the team id.
CodeDirectory code_directory(std::string_view blob, std::uint32_t slot) {
    if (be32(blob, 0) != kCodeDirectory) bad("CodeDirectory magic");
    const std::uint32_t length = be32(blob, 4);
    if (length < 44 || length > blob.size()) bad("CodeDirectory length");
    CodeDirectory cd;
    cd.slot = slot;
    cd.blob = blob.substr(0, length);
    const std::uint32_t version = be32(cd.blob, 8);
    cd.identifier = c_string(cd.blob, be32(cd.blob, 20), "identifier");
    if (version >= kSupportsTeamId) {
        const std::uint32_t team = be32(cd.blob, 48);
        if (team != 0) cd.team_id = c_string(cd.blob, team, "team id");
    }
    return cd;
}

// The CMS blob of the signature slot, checked against the SuperBlob's CodeDirectories. A
// malformed CMS blob is recorded, not thrown: the CodeDirectory is still evidence.
void cms_signer(std::string_view blob, const std::vector<CodeDirectory>& cds, CmsSigner& out) {
    if (be32(blob, 0) != kBlobWrapper) bad("signature slot is not a CMS BlobWrapper");
    const std::uint32_t length = be32(blob, 4);
    if (length < 8 || length > blob.size()) bad("CMS BlobWrapper length");
    if (length == 8) return;  // ad hoc: codesign leaves the wrapper empty
    out.present = true;
    try {
        // Apple's encoder writes the SignedData with indefinite lengths (BER).
        const cms::SignedData sd =
            cms::read_signed_data(blob.substr(8, length - 8), "Mach-O CMS signature", true);
        for (const auto& c : sd.certificates) out.certificates.push_back(c.subject);
        if (const cms::Certificate* signer = sd.signer_certificate()) {
            out.subject = signer->subject;
            out.subject_cn = signer->subject_cn;
            out.subject_ou = signer->subject_ou;
            out.issuer = signer->issuer;
        }
        out.digest_algorithm = sd.digest ? sd.digest->name : sd.digest_oid;
        out.message_digest = der::hex(sd.message_digest);
        if (sd.digest && !sd.message_digest.empty())
            for (const auto& cd : cds)
                if (cms::digest(*sd.digest, cd.blob) == sd.message_digest) {
                    out.digest_matches = true;
                    out.covered_slot = cd.slot;
                    out.covered_team_id = cd.team_id;
                    break;
                }
        out.signature_check = cms::check_signature(sd);
    } catch (const Error& e) {
        out = CmsSigner{};
        out.present = true;
        out.error = e.what();
    }
}

// The embedded signature SuperBlob at [off, off + size) of the slice.
void signature(std::string_view slice, std::uint32_t off, std::uint32_t size, Slice& s) {
    if (off > slice.size() || size > slice.size() - off) bad("code signature outside the file");
    const std::string_view sig = slice.substr(off, size);
    if (be32(sig, 0) != kEmbeddedSignature) bad("code signature is not an embedded SuperBlob");
    const std::uint32_t length = be32(sig, 4);
    if (length < 12 || length > sig.size()) bad("SuperBlob length");
    const std::string_view super = sig.substr(0, length);
    const std::uint32_t count = be32(super, 8);
    if (count > kMaxBlobs || 12 + std::uint64_t{count} * 8 > super.size()) bad("SuperBlob count");
    s.signed_ = true;
    std::vector<CodeDirectory> cds;
    std::string_view cms_blob;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t type = be32(super, 12 + i * 8);
        const std::uint32_t at = be32(super, 16 + i * 8);
        if (at >= super.size()) bad("blob offset outside the SuperBlob");
        if (type == kSlotCodeDirectory ||
            (type >= kSlotAlternateFirst && type <= kSlotAlternateLast)) {
            if (cds.empty()) {
                cds.push_back(code_directory(super.substr(at), type));
                continue;
            }
            // Further CodeDirectories only matter to the CMS check; a malformed one is left
            // out (as before they were read at all), so it is covered by no CMS signature.
            try {
                cds.push_back(code_directory(super.substr(at), type));
            } catch (const Error&) {
            }
        } else if (type == kSlotSignature && cms_blob.empty())
            cms_blob = super.substr(at);
    }
    if (cds.empty()) bad("embedded signature without a CodeDirectory");
    // The identifier and team id: the first CodeDirectory in index order, as before.
    s.identifier = cds.front().identifier;
    s.team_id = cds.front().team_id;
    if (!cms_blob.empty()) cms_signer(cms_blob, cds, s.cms);
}

Slice thin(std::string_view slice) {
    Slice s;
    const std::uint32_t magic = le32(slice, 0);
    bool swap = false, is64 = false;
    if (magic == kMagic32 || magic == kMagic64) {
        is64 = magic == kMagic64;
    } else if (magic == kCigam32 || magic == kCigam64) {
        swap = true;
        is64 = magic == kCigam64;
    } else {
        bad("not a Mach-O file");
    }
    auto u32 = [&](std::size_t at) { return swap ? be32(slice, at) : le32(slice, at); };
    s.cpu = cpu_name(u32(4));
    const std::uint32_t ncmds = u32(16), sizeofcmds = u32(20);
    const std::size_t header = is64 ? 32 : 28;
    if (ncmds > kMaxCommands) bad("too many load commands");
    if (sizeofcmds > slice.size() - std::min(slice.size(), header)) bad("load commands size");
    std::size_t at = header;
    const std::size_t end = header + sizeofcmds;
    for (std::uint32_t i = 0; i < ncmds; ++i) {
        if (end - at < 8) bad("load command outside sizeofcmds");
        const std::uint32_t cmd = u32(at), cmdsize = u32(at + 4);
        if (cmdsize < 8 || cmdsize > end - at) bad("load command size");
        if (cmd == kLcCodeSignature) {
            if (cmdsize < 16) bad("LC_CODE_SIGNATURE size");
            signature(slice, u32(at + 8), u32(at + 12), s);
        }
        at += cmdsize;
    }
    return s;
}

// Apple's team identifiers: ten upper-case letters and digits ("2Y8XE5CQ94").
bool looks_like_team_id(const std::string& ou) {
    return ou.size() == 10 && std::all_of(ou.begin(), ou.end(), [](char ch) {
               return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
           });
}

}  // namespace

const char* to_string(TeamBacking b) {
    switch (b) {
        case TeamBacking::verified:
            return "verified";
        case TeamBacking::unchecked:
            return "unchecked";
        case TeamBacking::refuted:
            return "refuted";
    }
    return "refuted";
}

TeamCheck team_check(const Slice& s) {
    const auto refuted = [](std::string why) { return TeamCheck{TeamBacking::refuted, why}; };
    const auto unchecked = [](std::string why) { return TeamCheck{TeamBacking::unchecked, why}; };
    const CmsSigner& c = s.cms;
    if (s.team_id.empty()) return refuted("the CodeDirectory names no team");
    if (!c.present) return refuted("no CMS signature (ad hoc): the team id is only claimed");
    if (!c.error.empty()) return unchecked("the CMS signature could not be read: " + c.error);
    if (!c.digest_matches) {
        if (c.message_digest.empty() || c.digest_algorithm.find('.') != std::string::npos)
            return unchecked("no signed messageDigest in a supported digest algorithm");
        return refuted(
            "the signed messageDigest is the digest of no CodeDirectory of the signature "
            "(changed after signing)");
    }
    if (c.covered_team_id != s.team_id)
        return refuted("the signed CodeDirectory names team \"" + c.covered_team_id + "\", not \"" +
                       s.team_id + "\"");
    if (c.subject.empty()) return unchecked("the signer certificate is not in the signature");
    if (c.signature_check == "failed")
        return refuted("the CMS signature does not verify with its signer certificate's key");
    const bool own =
        std::find(c.subject_ou.begin(), c.subject_ou.end(), s.team_id) != c.subject_ou.end();
    if (!own) {
        // A Developer ID (or development) certificate names its team in the OU: another team
        // there contradicts the claim. A signer naming no team at all (Apple re-signs Mac App
        // Store apps with its own certificate, keeping the developer's team id in the
        // CodeDirectory) neither confirms nor contradicts it, and neither does Apple's own
        // certificate (O=Apple Inc.), whatever its OU.
        const std::string subject = ", " + c.subject + ",";
        const bool apple = subject.find(", O=Apple Inc.,") != std::string::npos;
        if (!apple && std::any_of(c.subject_ou.begin(), c.subject_ou.end(), looks_like_team_id))
            return refuted("the signer certificate's OU is another team (subject " + c.subject +
                           ")");
        return unchecked(std::string(apple ? "the signer is Apple's own certificate"
                                           : "the signer certificate names no team in its OU") +
                         " (subject " + c.subject + ")");
    }
    if (c.signature_check != "verified") return unchecked("CMS signature " + c.signature_check);
    return {TeamBacking::verified, ""};
}

bool looks_like_macho(std::string_view head) {
    if (head.size() < 4) return false;
    const std::uint32_t m = le32(head, 0), b = be32(head, 0);
    return m == kMagic32 || m == kMagic64 || m == kCigam32 || m == kCigam64 || b == kFatMagic ||
           b == kFatMagic64;
}

std::vector<Slice> parse(std::string_view file) {
    const std::uint32_t magic = be32(file, 0);
    if (magic != kFatMagic && magic != kFatMagic64) return {thin(file)};
    // Universal file: big-endian fat_header and fat_arch (or fat_arch_64) entries.
    const std::uint32_t n = be32(file, 4);
    // 0xcafebabe is also a Java class file's magic; its "count" is a version number, far above
    // any real slice count.
    if (n == 0 || n > kMaxSlices) bad("universal file with " + std::to_string(n) + " slices");
    const bool wide = magic == kFatMagic64;
    const std::size_t entry = wide ? 32 : 20;
    std::vector<Slice> out;
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::size_t at = 8 + i * entry;
        const std::uint64_t offset = wide ? be64(file, at + 8) : be32(file, at + 8);
        const std::uint64_t size = wide ? be64(file, at + 16) : be32(file, at + 12);
        if (offset > file.size() || size > file.size() - offset) bad("slice outside the file");
        out.push_back(thin(file.substr(offset, size)));
    }
    return out;
}

}  // namespace audit::macho
