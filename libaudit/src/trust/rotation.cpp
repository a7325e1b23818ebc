#include "audit/trust/rotation.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "audit/core/atomic_file.h"
#include "audit/core/hex.h"
#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/trust/state.h"

namespace audit::trust {

void apply_role_changes(TrustRoot& next, const std::vector<RoleChange>& changes,
                        std::optional<int> root_threshold) {
    for (const auto& change : changes) {
        if (!next.roles.count(change.role))
            throw UsageError("unknown role '" + change.role + "' in --set");
        RoleSpec rs;
        for (const auto& id : change.keys) {
            rs.keyids.push_back(id.keyid);
            next.keys[id.keyid] = id;
        }
        if (rs.keyids.empty() && change.role != "collector")
            throw UsageError("--set " + change.role + "= names no key");
        rs.threshold = 1;
        next.roles[change.role] = rs;
    }
    if (root_threshold) next.roles["root"].threshold = *root_threshold;
    // Keys no role names any more are dropped from the document (revoked ids stay listed).
    std::set<std::string> used;
    for (const auto& [name, rs] : next.roles) used.insert(rs.keyids.begin(), rs.keyids.end());
    for (auto it = next.keys.begin(); it != next.keys.end();)
        it = used.count(it->first) ? std::next(it) : next.keys.erase(it);
}

void revoke_keys(TrustRoot& next, const std::vector<std::string>& keyids) {
    for (const auto& id : keyids) {
        if (!core::is_lower_hex(id, 64))
            throw UsageError("'" + id + "' is not a key id (64 lowercase hex digits)");
        if (std::find(next.revoked.begin(), next.revoked.end(), id) == next.revoked.end())
            next.revoked.push_back(id);
    }
}

PublishedRoot publish_next_root(const std::string& trust_path, const std::string& current_bytes,
                                TrustRoot next, int validity_days,
                                const std::vector<const crypto::SigningKey*>& signers,
                                const std::string& out) {
    const auto current = TrustRoot::verify_signed(current_bytes);
    next.version = current.version + 1;
    next.expires = core::utc_in(static_cast<long long>(validity_days) * 86400);
    if (signers.empty()) throw UsageError("--key: give the root keys that sign the new version");
    const std::string envelope = sign_root(next, signers);
    auto verified = current.verify_successor(envelope);  // refuses too few old or new keys
    verified.check_expiry();

    namespace stdfs = std::filesystem;
    // Keep every version a verifier may need: the history beside the old file, and the old file.
    const std::string hist_old = history_path(out, current.version);
    std::error_code ec;
    stdfs::create_directories(stdfs::path(hist_old).parent_path(), ec);
    if (ec) throw IoError("cannot create " + stdfs::path(hist_old).parent_path().string());
    for (int v = 1; v < current.version; ++v) {
        const auto from = history_path(trust_path, v), to = history_path(out, v);
        if (from != to && stdfs::exists(from, ec) && !stdfs::exists(to, ec)) {
            std::string bytes = read_input_file_within<UsageError>(from, 1u << 20, "trust root",
                                                                   ": too large (over 1 MiB)");
            crypto::write_new_file(to, bytes, 0644);
        }
    }
    if (!stdfs::exists(hist_old, ec)) crypto::write_new_file(hist_old, current_bytes, 0644);
    if (out == trust_path)
        core::write_file_atomic(out, envelope, false, 0644);
    else
        crypto::write_new_file(out, envelope, 0644);
    return {std::move(verified), current.version, hist_old};
}

}  // namespace audit::trust
