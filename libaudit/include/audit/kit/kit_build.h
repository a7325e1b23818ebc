// Laying out a kit directory and turning it into a removable-media image.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/kit/kit_manifest.h"

namespace audit::kit {

struct KitLayout {
    std::string out_dir;                 // created; must not exist or be empty
    std::vector<std::string> tools;      // binaries -> bin/ (mode 0755)
    std::vector<std::string> manifests;  // NAME.toml and NAME.toml.dsse.json -> manifests/
    std::string trust_path;              // -> trust/trust.json (+ root-history/ when present)
    std::vector<std::string> docs;       // -> docs/
    std::string collector_key;           // optional: KEY and its .cert.json -> keys/collector.*
    std::string collector_cert;
    std::string launcher;  // optional: media/run.sh -> run.sh (mode 0755)
    // The Windows tools (NAME.exe, each a PE file) -> bin/windows/ (mode 0755); when there are
    // any, windows_launcher (the text of media/RUN-SCAN.cmd) -> RUN-SCAN.cmd, with CRLF line
    // ends (mode 0644). Both sealed in the kit manifest like every other file.
    std::vector<std::string> windows_tools;
    std::string windows_launcher;
};

inline constexpr std::string_view kWindowsBinDir = "bin/windows";
inline constexpr std::string_view kWindowsLauncherFile = "RUN-SCAN.cmd";
// The .exe tools a kit carries for Windows, found in a --windows-bin directory (audit-scan.exe
// is required there; the others when present).
inline constexpr const char* kWindowsToolNames[] = {
    "audit-scan.exe", "audit-verify.exe", "audit-keys.exe", "audit-attest.exe", "audit-kit.exe"};
// The Windows tools of dir in kit order; UsageError when dir has no audit-scan.exe or a tool
// there is not a PE file (no "MZ" header): a kit never carries something Windows cannot start.
std::vector<std::string> find_windows_tools(const std::string& dir);

// The files for docs/: each given file, and the regular files of each given directory (sorted).
std::vector<std::string> doc_files(const std::vector<std::string>& given);

// Copies everything into out_dir (bin/, bin/windows/, manifests/, trust/, docs/, keys/, empty
// evidence/, run.sh, RUN-SCAN.cmd), fsyncs each file, and returns the measured file list.
// Throws UsageError / IoError.
std::vector<KitFile> lay_out_kit(const KitLayout& layout);

// Writes the signed kit manifest (envelope text) into the kit directory, atomically.
void write_kit_manifest(const std::string& kit_dir, const std::string& envelope_json);

// The highest version of kit_id of authority recorded in the kit state file (nullopt: none).
std::optional<std::uint64_t> seen_kit_version(const std::string& state_path,
                                              const std::string& authority,
                                              const std::string& kit_id);

// What the builder asks of a new kit's version and validity (audit-kit build).
struct KitVersionRequest {
    std::optional<std::uint64_t> version;   // --kit-version; default: one above the highest seen
    std::optional<std::string> expires;     // --expires (RFC 3339 UTC); default: now + days
    std::uint64_t days = 90;                // --days
    std::optional<std::string> state_path;  // the builder's kit state; nullopt: none
};

// The kit version policy: a new kit manifest for kit_id under trust (authority, trust root
// version and digest, creation time now) whose version rises above the highest one the kit state
// has seen (1 when none) and whose expiry lies in the future and within the trust root's.
// UsageError naming what to give otherwise. The files are left for lay_out_kit.
KitManifest new_kit_manifest(const trust::TrustRoot& trust, const std::string& kit_id,
                             const KitVersionRequest& request);

// Images of a kit directory, made with the real tools: an ISO 9660 image with Rock Ridge and
// Joliet (xorriso; read-only medium), or a FAT image (mkfs.vfat + mcopy) with evidence_mib of
// free space for the writable evidence area. Throws IoError with the tool's message on failure.
void make_iso_image(const std::string& kit_dir, const std::string& image, const std::string& label);
void make_fat_image(const std::string& kit_dir, const std::string& image, const std::string& label,
                    std::uint64_t evidence_mib);

}  // namespace audit::kit

namespace audit::kit {

// What an image file is, by its bytes: "iso" (ISO 9660: "CD001" at 32769), "fat" (a FAT boot
// sector: 0x55AA signature and a FAT12/16/32 type string), "" otherwise.
std::string image_kind(const std::string& path);

// Copies a kit image's files into dest (an empty directory), so that it can be checked like a
// kit directory: an ISO 9660 image through libarchive (Rock Ridge modes kept; links, devices
// and paths leaving dest are not made), a FAT image through mtools (mcopy; FAT keeps no modes).
// Throws UsageError (not an image), IoError (the tool or the read failed).
void extract_kit_image(const std::string& image, const std::string& dest);

}  // namespace audit::kit
