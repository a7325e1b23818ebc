#include "audit/match/file_filter.h"

#include <algorithm>

#include "audit/core/ascii.h"
#include "audit/core/drive_path.h"

namespace audit::match {

namespace {

bool under(std::string_view path, std::string_view dir, bool case_insensitive = false) {
    while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
    if (dir.empty()) return true;
    if (path.size() < dir.size() || (path.size() > dir.size() && path[dir.size()] != '/'))
        return false;
    const auto head = path.substr(0, dir.size());
    return case_insensitive ? core::ascii_lower(head) == core::ascii_lower(dir) : head == dir;
}

}  // namespace

FileFilter::FileFilter(const CompiledRules& rules)
    : globs_(rules.path_globs()), case_insensitive_(rules.case_insensitive_paths()) {
    needed_ = fs::DigestPolicy::of({});
    for (const auto& m : rules.manifests()) {
        for (const auto& rule : m.rules) {
            switch (rule.kind) {
                case manifest::RuleKind::path:
                    break;  // compiled by CompiledRules (globs_)
                case manifest::RuleKind::service:
                case manifest::RuleKind::module: {
                    // The directories match() looks in for this kind, as walk_roots() names them.
                    manifest::Manifest one;
                    one.rules = {rule};
                    for (auto& d : walk_roots({one})) prefixes_.push_back(std::move(d));
                    break;
                }
                case manifest::RuleKind::file_hash:
                    for (const auto& p : rule.patterns) {
                        digests_.insert(core::ascii_lower(p));
                        if (p.size() == 96)
                            needed_.add(fs::DigestAlgorithm::sha384);
                        else
                            needed_.add(fs::DigestAlgorithm::sha256);
                    }
                    break;
                case manifest::RuleKind::package:
                case manifest::RuleKind::publisher:
                case manifest::RuleKind::registry:
                case manifest::RuleKind::pe_signer:
                case manifest::RuleKind::pe_version:
                case manifest::RuleKind::macho_team:
                case manifest::RuleKind::certificate:
                case manifest::RuleKind::all_of:  // its parts are rules of their own
                    break;  // matched on inventory items, never on file records
            }
        }
    }
    std::sort(prefixes_.begin(), prefixes_.end());
    prefixes_.erase(std::unique(prefixes_.begin(), prefixes_.end()), prefixes_.end());
}

bool FileFilter::may_match(const fs::FileRecord& r) const {
    for (const auto& d : prefixes_)
        if (under(r.path, d)) return true;
    if (r.digests && !digests_.empty() &&
        ((!r.digests->sha256.empty() && digests_.count(r.digests->sha256)) ||
         (!r.digests->sha384.empty() && digests_.count(r.digests->sha384))))
        return true;
    // A glob's literal directory prefix is cheap to test and rules out almost every path.
    // On a Windows root a record on another fixed drive ("/D:/x") by its path on that drive too.
    std::string_view rest;
    const bool other_drive = case_insensitive_ && core::windows_drive_of(r.path, &rest);
    return std::any_of(globs_->begin(), globs_->end(), [&](const Glob* g) {
        return (under(r.path, g->literal_prefix(), case_insensitive_) && g->matches(r.path)) ||
               (other_drive && under(rest, g->literal_prefix(), true) && g->matches(rest));
    });
}

}  // namespace audit::match
