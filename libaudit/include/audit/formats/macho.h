// Mach-O code signatures read from bytes: the embedded signature's CodeDirectory identifier and
// Team ID, and its CMS signature (Apple's published layouts: mach-o/loader.h, mach-o/fat.h,
// cs_blobs.h; CMS per RFC 5652, read by the formats area's shared reader). Bounded; every
// malformed Mach-O structure is refused with audit::UsageError, a malformed CMS blob is recorded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace audit::macho {

// The CMS signature (CSSLOT_SIGNATURESLOT 0x10000, a BlobWrapper 0xfade0b01) of an embedded
// signature: who signed, and what of it was checked. No chain, validity or revocation check: the
// certificate is the one the signature carries, not one Apple is shown to have issued.
struct CmsSigner {
    bool present = false;  // a non-empty CMS blob (an ad-hoc signature has none, or an empty one)
    std::string error;     // the CMS blob is malformed: why (nothing below is set then)
    std::string subject, subject_cn, issuer;  // the signer certificate ("" when not found)
    std::vector<std::string> subject_ou;      // its OUs: Apple puts the Team ID there
    std::string digest_algorithm;             // the signer's: "sha256", "sha1", ...
    std::string message_digest;               // hex of the signed messageDigest attribute
    // messageDigest equals the digest (with the signer's algorithm) of one CodeDirectory blob of
    // this SuperBlob; that CodeDirectory's slot and team id.
    bool digest_matches = false;
    std::uint32_t covered_slot = 0;
    std::string covered_team_id;
    // "verified", "failed" or "unchecked: <why>" for the signature over the signed attributes
    // with the signer certificate's key.
    std::string signature_check;
    std::vector<std::string> certificates;  // subjects of every embedded certificate
};

// Whether a slice's CodeDirectory team id is backed by its CMS signer (see team_check).
enum class TeamBacking {
    verified,   // a verified signer whose OU is the team id signed the CodeDirectory naming it
    unchecked,  // a CMS signature is there but could not be checked (malformed, unsupported,
                // or a signer naming no team in its OU: Apple's Mac App Store re-signing)
    refuted,    // no CMS signature (ad hoc), or one that fails, covers another CodeDirectory
                // or whose signer's OU is another team
};
struct TeamCheck {
    TeamBacking backing = TeamBacking::refuted;
    std::string why;  // "" when verified
};

// One architecture slice of a (possibly universal) Mach-O file.
struct Slice {
    std::string cpu;         // "x86_64", "arm64", ... or "cputype:N"
    bool signed_ = false;    // an LC_CODE_SIGNATURE with an embedded-signature SuperBlob
    std::string identifier;  // the CodeDirectory's identifier ("com.kaspersky.kav")
    std::string team_id;     // the CodeDirectory's team id ("2Y8XE5CQ94"); "" when none
    CmsSigner cms;           // the signature slot's CMS signer
};

// Whether the slice's team id is the CMS signer's: verified only when the signature over the
// signed attributes verifies with the signer certificate's key, its messageDigest is the digest
// of a CodeDirectory of the signature whose team id is the slice's, and an OU of the signer
// certificate equals that team id. Refuted only on a definite contradiction (no CMS, a failed
// signature, a digest of no CodeDirectory, a covered CodeDirectory or a signer OU naming another
// team); what cannot be checked is unchecked. Says nothing about who issued the certificate.
TeamCheck team_check(const Slice& s);
const char* to_string(TeamBacking b);

// True when the bytes start like a Mach-O or universal (fat) file.
bool looks_like_macho(std::string_view head);

// The slices of a Mach-O file. The Team ID comes from the CodeDirectory that the
// LC_CODE_SIGNATURE load command points at, and from nowhere else: the same string elsewhere in
// the file means nothing. Throws UsageError (what was malformed) on anything out of bounds.
std::vector<Slice> parse(std::string_view file);

}  // namespace audit::macho
