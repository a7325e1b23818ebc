#include "audit/sources/macho_files.h"

#include <unistd.h>

#include <set>

#include "audit/error.h"
#include "audit/formats/macho.h"
#include "audit/fs/walker.h"
#include "audit/sources/macos.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

using text::warn;

// Bounds: an application folder holds thousands of files, few of them Mach-O.
constexpr std::size_t kMaxFiles = 500000;                 // regular files looked at
constexpr std::uint64_t kMaxMachoFileBytes = 512u << 20;  // one Mach-O read whole (universal apps)
constexpr std::uint64_t kMaxTotalBytes = 32ull << 30;
// Where third-party code lives on a Mac; System/ is Apple's own (sealed system volume).
constexpr const char* kDirs[] = {"/Applications",
                                 "/Library/Application Support",
                                 "/Library/Extensions",
                                 "/Library/SystemExtensions",
                                 "/Library/PrivilegedHelperTools",
                                 "/usr/local"};

InventoryItem macho_item(const std::string& path, const std::vector<macho::Slice>& slices) {
    InventoryItem item;
    item.ecosystem = "macho";
    item.name = path.substr(path.rfind('/') + 1);
    item.state = "installed";
    item.paths = {path};
    item.source = path;
    std::set<std::string> teams, identifiers;
    nlohmann::json js = nlohmann::json::array();
    bool any_verified = false;
    for (const auto& s : slices) {
        if (!s.team_id.empty()) teams.insert(s.team_id);
        if (!s.identifier.empty()) identifiers.insert(s.identifier);
        const macho::CmsSigner& c = s.cms;
        nlohmann::json cms = {{"present", c.present}};
        if (!c.error.empty()) cms["error"] = c.error;
        if (c.present && c.error.empty())
            cms.update({{"subject", c.subject},
                        {"subject_cn", c.subject_cn},
                        {"subject_ou", c.subject_ou},
                        {"issuer", c.issuer},
                        {"digest_algorithm", c.digest_algorithm},
                        {"message_digest", c.message_digest},
                        {"digest_matches", c.digest_matches},
                        {"covered_slot", c.covered_slot},
                        {"covered_team_id", c.covered_team_id},
                        {"signature_check", c.signature_check},
                        {"certificates", c.certificates},
                        {"chain_checked", false}});
        // What the macho_team rule reads: is the team id the CMS signer's (match/matcher.cpp)?
        const macho::TeamCheck check = macho::team_check(s);
        any_verified = any_verified || check.backing == macho::TeamBacking::verified;
        js.push_back({{"cpu", s.cpu},
                      {"signed", s.signed_},
                      {"identifier", s.identifier},
                      {"team_id", s.team_id},
                      {"cms", std::move(cms)},
                      {"team_signer", macho::to_string(check.backing)},
                      {"team_signer_why", check.why}});
    }
    item.extra["slices"] = std::move(js);
    item.extra["team_ids"] = std::vector<std::string>(teams.begin(), teams.end());
    item.extra["identifiers"] = std::vector<std::string>(identifiers.begin(), identifiers.end());
    // A slice's team id backed by a verified CMS signer with that OU (no certificate chain is
    // checked: see manifests/README.md, "Mach-O files").
    item.extra["signer_verified"] = any_verified;
    return item;
}

}  // namespace

void MachoFileSource::read(const fs::Root& root, Collection& c) const {
    if (!is_macos_root(root)) return;
    c.found = true;
    MagicScan m;
    m.kind = "Mach-O";
    m.head_bytes = 4;
    m.magic = macho::looks_like_macho;
    m.min_size = 32;
    m.max_files = kMaxFiles;
    m.max_file_bytes = kMaxMachoFileBytes;
    m.max_total_bytes = kMaxTotalBytes;
    m.too_big_fails = true;
    scan_by_magic(root, {std::begin(kDirs), std::end(kDirs)}, m, c,
                  [&](const std::string& path, const std::string& data) {
                      std::vector<macho::Slice> slices;
                      try {
                          slices = macho::parse(data);
                      } catch (const Error& e) {
                          throw UsageError(path + ": " + e.what());
                      }
                      bool any_signed = false;
                      for (const auto& s : slices) any_signed = any_signed || s.signed_;
                      if (any_signed) c.items.push_back(macho_item(path, slices));
                  });
}

}  // namespace audit::sources
