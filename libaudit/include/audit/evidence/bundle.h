// Evidence bundle: a deterministic pax tar + zstd whose first entry is a DSSE-signed in-toto
// Statement listing every content file with its sha384 and sha256 digest. Predicate v2 links a
// kit's chain by the statement digest; v3 (written now) is v2 whose inventory items no longer
// repeat a package database's file list (inventory_line). v1 and v2 bundles still verify.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/core/atomic_file.h"
#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/evidence/predicate.h"
#include "audit/trust/trust_root.h"

namespace audit::evidence {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kPayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kEvidencePredicate = "urn:audit-toolkit:evidence-bundle:v1";
inline constexpr std::string_view kEvidencePredicateV2 = "urn:audit-toolkit:evidence-bundle:v2";
inline constexpr std::string_view kEvidencePredicateV3 = "urn:audit-toolkit:evidence-bundle:v3";
// The bundle format the writer writes (the predicate version); the reader accepts 1..3.
inline constexpr int kBundleFormat = 3;
// The predicate type of a bundle format (1..3).
std::string_view evidence_predicate_type(int format);
// The bundle format (1..3) a predicate type names; 0 when it names none.
int evidence_format(std::string_view predicate_type);
inline constexpr std::string_view kStatementEntry = "statement.dsse.json";
inline constexpr std::string_view kBundleSuffix = ".evidence.tar.zst";

// The content files a bundle may (and, but for none, must) carry.
const std::vector<std::string>& content_files();

// Bounds of the reader: anything past them is refused, never buffered.
struct BundleLimits {
    std::uint64_t max_statement = 16u << 20;
    std::uint64_t max_entry = 8ull << 30;
    std::uint64_t max_kept_entry = 1ull << 30;  // larger entries are checked, not kept in memory
    std::uint64_t max_entries = 64;
};

struct WrittenBundle {
    std::string path;
    std::string sha256;            // of the bundle file (informational: recompression changes it)
    std::string statement_sha256;  // of the DSSE payload bytes: the bundle's identity
};

// Build the statement (subject = every file with sha384 + sha256), sign it with key, and write
// out_dir/file_name atomically (temp file, fsync, no-replace rename, directory fsync).
// entry_mtime: the fixed mtime of every entry, so the same evidence gives the same bytes.
// format: the predicate version to write (kBundleFormat; older ones for tests of old kits'
// bundles).
WrittenBundle write_bundle(const std::string& out_dir, const std::string& file_name,
                           const std::map<std::string, std::string>& files,
                           const nlohmann::json& predicate, const crypto::SigningKey& key,
                           std::int64_t entry_mtime, int format = kBundleFormat);
// The same, with some content files given as paths of files on disk (name -> path), streamed
// into the bundle instead of held in memory (files.jsonl of a large scan).
WrittenBundle write_bundle(const std::string& out_dir, const std::string& file_name,
                           const std::map<std::string, std::string>& files,
                           const std::map<std::string, std::string>& files_on_disk,
                           const nlohmann::json& predicate, const crypto::SigningKey& key,
                           std::int64_t entry_mtime, int format = kBundleFormat);

struct Bundle {
    std::string path;
    std::string sha256;            // of the bundle file
    std::string statement_sha256;  // of the DSSE payload bytes: the bundle's identity
    int format = 1;                // predicate v1, v2 or v3
    crypto::Envelope envelope;
    nlohmann::json statement;
    Predicate evidence;  // the statement's predicate, typed (read_bundle checked its shape)
    std::vector<std::string> signers;          // collector keyids that signed
    std::map<std::string, std::string> files;  // content kept in memory (when asked and small)

    const nlohmann::json& predicate() const { return statement.at("predicate"); }
};

// Verify a bundle against the trust root: the statement's envelope is checked (collector role)
// before anything else is decompressed; then every entry is streamed and its digests compared.
// Unknown, duplicate, missing, linked, absolute or ".." entries and oversized entries are refused,
// and so is anything after the tar's end (a member or a non-zero byte after the end-of-archive
// blocks), after the last zstd frame (garbage, skippable frames), and a duplicate key in the
// envelope or the statement.
// Throws VerifyError with the precise reason, IoError when the file cannot be read.
Bundle read_bundle(const std::string& path, const trust::TrustRoot& trust, bool keep_files = true,
                   const BundleLimits& limits = {});

// The statement digest (sha256 of the DSSE payload bytes) of a bundle file, read from its first
// entry WITHOUT verifying anything: for a writer continuing its own chain. Throws VerifyError
// when the file is not a bundle, IoError when it cannot be read.
std::string read_statement_sha256_unverified(const std::string& path);

// Atomically write bytes to path: core/atomic_file.h (kept here for the callers of this name).
using core::write_file_atomic;

// The digest (lowercase hex) of a whole file, streamed; algorithm is Botan's name ("SHA-256",
// "SHA-384"). IoError when the file cannot be opened or read.
std::string file_digest(const std::string& path, const std::string& algorithm);
// sha256 (hex) of a whole file, streamed.
std::string file_sha256(const std::string& path);

}  // namespace audit::evidence
