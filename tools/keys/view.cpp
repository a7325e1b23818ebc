// audit-keys: what a trust root holds, as JSON and for people.
#include <iostream>

#include "keys_tool.h"

namespace audit::keys_tool {

nlohmann::json identity_json(const crypto::PublicIdentity& id) {
    nlohmann::json comps = nlohmann::json::array();
    for (const auto& c : id.components)
        comps.push_back({{"scheme", crypto::to_string(c.scheme)}, {"keyid", c.keyid}});
    return {{"keyid", id.keyid}, {"fingerprint", id.fingerprint()}, {"components", comps}};
}

std::string schemes_of(const crypto::PublicIdentity& id) {
    std::string out;
    for (const auto& c : id.components)
        out += (out.empty() ? "" : " + ") + std::string(crypto::to_string(c.scheme));
    return out;
}

namespace {

bool is_revoked(const trust::TrustRoot& root, const std::string& keyid) {
    for (const auto& r : root.revoked)
        if (r == keyid) return true;
    return false;
}

}  // namespace

nlohmann::json root_json(const trust::TrustRoot& root) {
    nlohmann::json roles = nlohmann::json::object();
    for (const char* r : trust::kRoles) {
        const auto& spec = root.roles.at(r);
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& id : spec.keyids) {
            auto k = identity_json(root.keys.at(id));
            k["revoked"] = is_revoked(root, id);
            keys.push_back(std::move(k));
        }
        roles[r] = {{"threshold", spec.threshold}, {"keys", keys}};
    }
    return {{"authority", root.authority},     {"version", root.version},
            {"policy", root.policy.to_json()}, {"expires", root.expires},
            {"sha256", root.sha256},           {"roles", roles},
            {"revoked", root.revoked}};
}

void print_root(const trust::TrustRoot& root) {
    std::cout << "authority: " << root.authority << "\nversion: " << root.version
              << "\nexpires: " << root.expires << "\nsha256:  " << root.sha256
              << "\npolicy:  allowed " << root.policy.to_json()["allowed_schemes"].dump()
              << ", required " << root.policy.to_json()["required_schemes"].dump() << "\n";
    for (const char* r : trust::kRoles) {
        const auto& spec = root.roles.at(r);
        if (spec.keyids.empty()) {
            std::cout << "\nrole " << r << ": keys certified per kit by the kit or root role\n";
            continue;
        }
        std::cout << "\nrole " << r << " (threshold " << spec.threshold << " of "
                  << spec.keyids.size() << ")\n";
        for (const auto& id : spec.keyids) {
            const auto& key = root.keys.at(id);
            std::cout << "  " << key.fingerprint() << "  " << schemes_of(key)
                      << (is_revoked(root, id) ? "  REVOKED" : "") << "\n";
        }
    }
    if (!root.revoked.empty()) {
        std::cout << "\nrevoked:\n";
        for (const auto& id : root.revoked) std::cout << "  " << id << "\n";
    }
}

}  // namespace audit::keys_tool
