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
constexpr std::size_t kMaxFiles = 500000;            // regular files looked at
constexpr std::uint64_t kMaxFileBytes = 512u << 20;  // one Mach-O read whole (universal apps)
constexpr std::uint64_t kMaxTotalBytes = 32ull << 30;
// Where third-party code lives on a Mac; System/ is Apple's own (sealed system volume).
constexpr const char* kDirs[] = {"/Applications",
                                 "/Library/Application Support",
                                 "/Library/Extensions",
                                 "/Library/SystemExtensions",
                                 "/Library/PrivilegedHelperTools",
                                 "/usr/local"};

bool starts_like_macho(const fs::Root& root, const std::string& path) {
    fs::UniqueFd fd = root.open(path, false);
    if (!fd) return false;
    char head[4];
    return ::pread(fd.get(), head, 4, 0) == 4 && macho::looks_like_macho(std::string_view(head, 4));
}

InventoryItem to_item(const std::string& path, const std::vector<macho::Slice>& slices) {
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

SourceReport MachoFileSource::collect(const fs::Root& root, std::vector<InventoryItem>& out) const {
    SourceReport rep = report_for(*this);
    if (!is_macos_root(root)) {
        rep.status = SourceStatus::absent;
        return rep;
    }
    std::size_t looked = 0, parsed = 0, too_big = 0, malformed = 0, unreadable = 0;
    std::uint64_t bytes = 0;
    bool stopped = false;
    std::vector<InventoryItem> items;
    try {
        for (const char* dir : kDirs) {
            fs::WalkOptions wopt;
            wopt.hash = false;
            fs::WalkStats stats;
            fs::walk(
                root, dir, wopt,
                [&](fs::FileRecord&& r) {
                    if (!r.error.empty() && r.type != "missing") {
                        ++unreadable;
                        warn(rep.warnings, r.path + ": " + r.error);
                        return;
                    }
                    if (stopped || r.type != "file" || r.size < 32) return;
                    if (++looked > kMaxFiles || bytes > kMaxTotalBytes) {
                        stopped = true;
                        return;
                    }
                    if (!starts_like_macho(root, r.path)) return;
                    if (r.size > kMaxFileBytes) {
                        ++too_big;
                        warn(rep.warnings, r.path + ": Mach-O file larger than " +
                                               std::to_string(kMaxFileBytes) +
                                               " bytes not examined");
                        return;
                    }
                    std::optional<std::string> data;
                    try {
                        data = root.read_file(r.path, kMaxFileBytes);
                    } catch (const Error& e) {
                        ++unreadable;
                        warn(rep.warnings, e.what());
                        return;
                    }
                    if (!data) return;
                    bytes += data->size();
                    try {
                        auto slices = macho::parse(*data);
                        ++parsed;
                        bool any_signed = false;
                        for (const auto& s : slices) any_signed = any_signed || s.signed_;
                        if (any_signed) items.push_back(to_item(r.path, slices));
                    } catch (const Error& e) {
                        ++malformed;  // a Java class file shares the universal magic
                        warn(rep.warnings, r.path + ": " + e.what());
                    }
                },
                stats);
        }
    } catch (const Error& e) {
        rep.status = SourceStatus::failed;
        rep.error = e.what();
        return rep;
    }
    rep.items = items.size();
    for (auto& i : items) out.push_back(std::move(i));
    warn(rep.warnings, std::to_string(parsed) + " Mach-O files parsed, " +
                           std::to_string(malformed) + " malformed, " + std::to_string(too_big) +
                           " too large, " + std::to_string(unreadable) + " unreadable");
    if (stopped || too_big > 0) {
        // Stopping early must not read as "nothing there": the product coverage shows the gap.
        rep.status = SourceStatus::failed;
        rep.error = stopped ? "stopped after " + std::to_string(kMaxFiles) + " files or " +
                                  std::to_string(kMaxTotalBytes >> 30) +
                                  " GiB: Mach-O files not all examined"
                            : std::to_string(too_big) + " Mach-O file(s) too large to examine";
        return rep;
    }
    if (unreadable > 0) {
        rep.status = SourceStatus::failed;
        rep.error = std::to_string(unreadable) + " file(s) or directories could not be read";
        return rep;
    }
    rep.status = SourceStatus::ran;
    return rep;
}

}  // namespace audit::sources
