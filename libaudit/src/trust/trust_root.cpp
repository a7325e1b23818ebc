#include "audit/trust/trust_root.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"
#include "audit/trust/certificate.h"

namespace audit::trust {

namespace {

constexpr std::string_view kTrustRootType = "audit-toolkit/trust-root";
constexpr std::size_t kMaxTrustFile = 16u << 20;
constexpr std::size_t kMaxKeys = 256;

bool is_known_role(std::string_view role) {
    for (const char* r : kRoles)
        if (role == r) return true;
    return false;
}

std::string root_short_id(const std::string& keyid) {
    return keyid.substr(0, 16);
}

// Why identity's signature in env does not count, or "" when every component verifies.
std::string missing_components(const crypto::Envelope& env, const crypto::PublicIdentity& identity,
                               const std::string& message) {
    std::string missing;
    for (const auto& c : identity.components) {
        bool ok = false;
        for (const auto& s : env.signatures)
            if (s.keyid == c.keyid && c.verify(message, s.sig)) {
                ok = true;
                break;
            }
        if (!ok) missing += std::string(missing.empty() ? "" : ", ") + crypto::to_string(c.scheme);
    }
    return missing;
}

std::vector<crypto::Scheme> schemes_from_json(const nlohmann::json& j, const char* what) {
    if (!j.is_array() || j.size() > 8)
        throw VerifyError(std::string("trust root: policy \"") + what + "\" must be a short array");
    std::vector<crypto::Scheme> out;
    for (const auto& s : j) {
        if (!s.is_string()) throw VerifyError("trust root: policy schemes must be strings");
        auto scheme = crypto::scheme_from_string(s.get<std::string>());
        if (std::find(out.begin(), out.end(), scheme) == out.end()) out.push_back(scheme);
    }
    return out;
}

nlohmann::json schemes_to_json(const std::vector<crypto::Scheme>& v) {
    nlohmann::json j = nlohmann::json::array();
    for (auto s : v) j.push_back(crypto::to_string(s));
    return j;
}

}  // namespace

Policy Policy::for_profile(crypto::KeyProfile profile) {
    using crypto::Scheme;
    switch (profile) {
        case crypto::KeyProfile::hybrid:
            return {{Scheme::ecdsa_p384_sha384, Scheme::ml_dsa_87},
                    {Scheme::ecdsa_p384_sha384, Scheme::ml_dsa_87}};
        case crypto::KeyProfile::ecdsa:
            return {{Scheme::ecdsa_p384_sha384}, {Scheme::ecdsa_p384_sha384}};
        case crypto::KeyProfile::ed25519:
            return {{Scheme::ed25519}, {Scheme::ed25519}};
    }
    return {};
}

std::string Policy::refusal(const crypto::PublicIdentity& identity) const {
    for (const auto& c : identity.components)
        if (std::find(allowed.begin(), allowed.end(), c.scheme) == allowed.end())
            return "key " + root_short_id(identity.keyid) + " uses " + crypto::to_string(c.scheme) +
                   ", which the policy does not allow";
    for (auto need : required) {
        bool has = false;
        for (const auto& c : identity.components) has = has || c.scheme == need;
        if (!has)
            return "key " + root_short_id(identity.keyid) + " has no " + crypto::to_string(need) +
                   " component, which the policy requires";
    }
    return "";
}

nlohmann::json Policy::to_json() const {
    return {{"allowed_schemes", schemes_to_json(allowed)},
            {"required_schemes", schemes_to_json(required)}};
}

Policy Policy::from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("allowed_schemes") || !j.contains("required_schemes"))
        throw VerifyError(
            "trust root: \"policy\" needs \"allowed_schemes\" and \"required_schemes\"");
    Policy p;
    p.allowed = schemes_from_json(j["allowed_schemes"], "allowed_schemes");
    p.required = schemes_from_json(j["required_schemes"], "required_schemes");
    if (p.allowed.empty()) throw VerifyError("trust root: the policy allows no scheme");
    for (auto r : p.required)
        if (std::find(p.allowed.begin(), p.allowed.end(), r) == p.allowed.end())
            throw VerifyError(std::string("trust root: policy requires ") + crypto::to_string(r) +
                              " but does not allow it");
    return p;
}

nlohmann::json TrustRoot::to_payload_json() const {
    nlohmann::json j;
    j["_type"] = kTrustRootType;
    j["authority"] = authority;
    j["version"] = version;
    j["expires"] = expires;
    j["keys"] = nlohmann::json::object();
    for (const auto& [id, identity] : keys) j["keys"][id] = identity.to_json();
    j["roles"] = nlohmann::json::object();
    for (const auto& [name, spec] : roles)
        j["roles"][name] = {{"keyids", spec.keyids}, {"threshold", spec.threshold}};
    j["revoked"] = revoked;
    j["policy"] = policy.to_json();
    return j;
}

TrustRoot TrustRoot::from_payload_json(const nlohmann::json& j) {
    auto fail = [](const std::string& m) { throw VerifyError("trust root: " + m); };
    if (!j.is_object()) fail("payload is not a JSON object");
    auto type = j.find("_type");
    if (type == j.end() || !type->is_string() || *type != kTrustRootType)
        fail("\"_type\" is not \"" + std::string(kTrustRootType) + "\"");

    TrustRoot root;
    auto authority = j.find("authority");
    if (authority == j.end() || !authority->is_string() || authority->get<std::string>().empty() ||
        authority->get<std::string>().size() > 128)
        fail("\"authority\" must be a non-empty string");
    root.authority = authority->get<std::string>();
    auto version = j.find("version");
    if (version == j.end() || !version->is_number_integer() || *version < 1 ||
        *version > 1'000'000'000)
        fail("\"version\" must be a positive integer");
    root.version = version->get<int>();

    auto expires = j.find("expires");
    if (expires == j.end() || !expires->is_string() || !is_rfc3339_utc(expires->get<std::string>()))
        fail("\"expires\" must be an RFC 3339 UTC time like 2027-11-23T00:00:00Z");
    root.expires = expires->get<std::string>();

    auto keys = j.find("keys");
    if (keys == j.end() || !keys->is_object()) fail("\"keys\" must be an object");
    if (keys->size() > kMaxKeys) fail("too many keys");
    for (const auto& [id, entry] : keys->items()) {
        auto identity = crypto::PublicIdentity::from_json(entry);
        if (identity.keyid != id)
            fail("key entry " + root_short_id(id) + " holds key " + root_short_id(identity.keyid));
        root.keys.emplace(id, std::move(identity));
    }
    // A component may belong to one key only, so one signature never counts twice.
    std::set<std::string> component_ids;
    for (const auto& [id, identity] : root.keys)
        for (const auto& c : identity.components)
            if (!component_ids.insert(c.keyid).second)
                fail("key component " + root_short_id(c.keyid) + " appears in more than one key");

    auto roles = j.find("roles");
    if (roles == j.end() || !roles->is_object()) fail("\"roles\" must be an object");
    for (const auto& [name, spec] : roles->items()) {
        if (!is_known_role(name)) fail("unknown role '" + name.substr(0, 64) + "'");
        auto ids = spec.find("keyids");
        auto threshold = spec.find("threshold");
        if (!spec.is_object() || ids == spec.end() || !ids->is_array() || threshold == spec.end() ||
            !threshold->is_number_integer())
            fail("role '" + name + "' needs \"keyids\" (array) and \"threshold\" (integer)");
        RoleSpec rs;
        for (const auto& id : *ids) {
            if (!id.is_string()) fail("role '" + name + "': keyids must be strings");
            const auto& s = id.get_ref<const std::string&>();
            if (!root.keys.count(s))
                fail("role '" + name + "' names unknown key " + root_short_id(s));
            for (const auto& seen : rs.keyids)
                if (seen == s) fail("role '" + name + "' lists key " + root_short_id(s) + " twice");
            rs.keyids.push_back(s);
        }
        // The collector role may list no keys: collectors are then certified per kit by the kit
        // (or root) role. A bundle carries one collector signature, so its threshold is 1.
        if (name == "collector" && *threshold != 1)
            fail("role 'collector' must have threshold 1 (one certified collector signs a bundle)");
        if (*threshold < 1 ||
            (name != "collector" && *threshold > static_cast<long>(rs.keyids.size())))
            fail("role '" + name + "' has threshold " + threshold->dump() + " but " +
                 std::to_string(rs.keyids.size()) + " keys");
        rs.threshold = threshold->get<int>();
        root.roles.emplace(name, std::move(rs));
    }
    for (const char* r : kRoles)
        if (!root.roles.count(r)) fail("role '" + std::string(r) + "' is missing");

    auto revoked = j.find("revoked");
    if (revoked != j.end()) {
        if (!revoked->is_array()) fail("\"revoked\" must be an array");
        for (const auto& id : *revoked) {
            if (!id.is_string()) fail("\"revoked\" must hold keyids");
            root.revoked.push_back(id.get<std::string>());
        }
    }
    auto policy = j.find("policy");
    if (policy == j.end()) fail("\"policy\" is missing");
    root.policy = Policy::from_json(*policy);
    return root;
}

TrustRoot TrustRoot::load(const std::string& path) {
    std::string data = read_input_file_within<VerifyError>(path, kMaxTrustFile, "trust root",
                                                           ": trust root is too large");
    try {
        return verify(data);
    } catch (const VerifyError& e) {
        throw VerifyError(path + ": " + e.what());
    }
}

namespace {

struct Parsed {
    crypto::Envelope env;
    TrustRoot root;
};

// Envelope and payload of a trust root, not yet checked against any key.
Parsed parse_root(std::string_view envelope_json) {
    Parsed p;
    p.env = crypto::Envelope::parse(envelope_json, kMaxTrustFile);
    if (p.env.payload_type != kPayloadType)
        throw VerifyError("not a trust root: payloadType is '" + p.env.payload_type.substr(0, 80) +
                          "', expected '" + std::string(kPayloadType) + "'");
    auto payload = parse_json_strict(p.env.payload, "trust root payload");
    p.root = TrustRoot::from_payload_json(payload);
    p.root.sha256 = crypto::sha256_hex(envelope_json);
    return p;
}

}  // namespace

TrustRoot TrustRoot::verify_signed(std::string_view envelope_json) {
    auto p = parse_root(envelope_json);
    p.root.verify_role(p.env, "root");
    return std::move(p.root);
}

TrustRoot TrustRoot::verify(std::string_view envelope_json, std::optional<std::string> now) {
    TrustRoot root = verify_signed(envelope_json);
    root.check_expiry(std::move(now));
    return root;
}

void TrustRoot::check_expiry(std::optional<std::string> now) const {
    const std::string when = now ? *now : utc_now();
    if (!is_rfc3339_utc(when)) throw UsageError("time '" + when + "' is not RFC 3339 UTC");
    if (when >= expires)
        throw VerifyError("trust root version " + std::to_string(version) + " expired on " +
                          expires + " (freeze: a newer root version is needed)");
}

TrustRoot TrustRoot::verify_successor(std::string_view next_envelope_json) const {
    auto p = parse_root(next_envelope_json);
    if (p.root.authority != authority)
        throw VerifyError("trust root version " + std::to_string(p.root.version) +
                          " belongs to another authority");
    if (p.root.version != version + 1)
        throw VerifyError("trust root version " + std::to_string(p.root.version) +
                          " does not follow version " + std::to_string(version));
    try {
        verify_role(p.env, "root");
    } catch (const VerifyError& e) {
        throw VerifyError("trust root version " + std::to_string(p.root.version) +
                          " is not signed by enough keys of version " + std::to_string(version) +
                          ": " + e.what());
    }
    try {
        p.root.verify_role(p.env, "root");
    } catch (const VerifyError& e) {
        throw VerifyError("trust root version " + std::to_string(p.root.version) +
                          " is not signed by enough of its own root keys: " + e.what());
    }
    return std::move(p.root);
}

bool TrustRoot::is_revoked(const crypto::PublicIdentity& identity) const {
    auto listed = [&](const std::string& id) {
        return std::find(revoked.begin(), revoked.end(), id) != revoked.end();
    };
    if (listed(identity.keyid)) return true;
    for (const auto& c : identity.components)
        if (listed(c.keyid)) return true;
    return false;
}

std::string sign_root(const TrustRoot& next,
                      const std::vector<const crypto::SigningKey*>& signers) {
    crypto::Envelope env;
    env.payload_type = std::string(kPayloadType);
    env.payload = next.to_payload_json().dump(2) + "\n";
    std::set<std::string> done;
    for (const auto* k : signers)
        if (done.insert(k->identity().keyid).second) env.sign(*k);
    return env.to_json() + "\n";
}

std::vector<std::string> TrustRoot::verify_role(const crypto::Envelope& env,
                                                std::string_view role) const {
    auto it = roles.find(std::string(role));
    if (it == roles.end()) throw VerifyError("unknown role '" + std::string(role) + "'");
    const RoleSpec& spec = it->second;
    const std::string message = crypto::pae(env.payload_type, env.payload);

    std::vector<std::string> signers;
    std::string problems;
    auto note = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
    for (const auto& keyid : spec.keyids) {
        auto key = keys.find(keyid);
        if (key == keys.end()) {
            note("key " + root_short_id(keyid) + " is not in the trust root");
            continue;
        }
        if (is_revoked(key->second)) {
            note("key " + root_short_id(keyid) + " is revoked");
            continue;
        }
        if (auto why = policy.refusal(key->second); !why.empty()) {
            note(why);
            continue;
        }
        std::string missing = missing_components(env, key->second, message);
        if (missing.empty())
            signers.push_back(keyid);
        else
            note("key " + root_short_id(keyid) + " has no valid " + missing + " signature");
    }
    if (signers.empty() && !env.signatures.empty()) {
        // No signature by any key this root knows, in any role: another authority's document.
        bool known = false;
        for (const auto& s : env.signatures)
            for (const auto& [id, key] : keys)
                for (const auto& c : key.components) known = known || c.keyid == s.keyid;
        if (!known)
            throw VerifyError("authority mismatch: signed by key(s) that trust root '" + authority +
                              "' (version " + std::to_string(version) +
                              ") does not hold in any role; a document of another authority? (" +
                              std::string(role) + " role needs " + std::to_string(spec.threshold) +
                              " signature(s))");
    }
    if (static_cast<long>(signers.size()) < spec.threshold)
        throw VerifyError("role '" + std::string(role) + "' needs " +
                          std::to_string(spec.threshold) + " valid signature(s), got " +
                          std::to_string(signers.size()) + (problems.empty() ? "" : ": ") +
                          problems);
    return signers;
}

void init_authority(const std::string& dir, crypto::KeyProfile profile,
                    const std::optional<std::string>& passphrase, int validity_days) {
    namespace fs = std::filesystem;
    if (validity_days < 1 || validity_days > 36500)
        throw UsageError("validity must be between 1 and 36500 days");
    const fs::path base(dir);
    const fs::path trust_path = base / "trust.json";
    std::vector<fs::path> all{trust_path, base / "collector.cert.json"};
    for (const char* r : kRoles) all.push_back(base / (std::string(r) + ".key"));
    std::error_code ec;
    for (const auto& p : all)
        if (fs::symlink_status(p, ec).type() != fs::file_type::not_found)
            throw UsageError("refusing to overwrite existing " + p.string());
    fs::create_directories(base, ec);
    if (ec) throw IoError("cannot create directory " + dir + ": " + ec.message());

    TrustRoot root;
    root.version = 1;
    root.expires = core::utc_in(static_cast<long long>(validity_days) * 86400);
    root.policy = Policy::for_profile(profile);
    std::vector<std::pair<std::string, crypto::SigningKey>> role_keys;
    for (const char* r : kRoles) {
        auto key = crypto::SigningKey::generate(profile);
        const auto& id = key.identity();
        // Collectors are certified per kit (collector.cert.json below), not listed in the root.
        if (std::string_view(r) != "collector") {
            root.keys.emplace(id.keyid, id);
            root.roles[r] = RoleSpec{{id.keyid}, 1};
        } else {
            root.roles[r] = RoleSpec{{}, 1};
        }
        role_keys.emplace_back(r, std::move(key));
    }
    root.authority = "authority-" + role_keys.front().second.identity().keyid.substr(0, 16);
    const std::string envelope = sign_root(root, {&role_keys.front().second});  // "root" first

    const auto& kit_key = role_keys.at(1).second;    // kRoles[1] is "kit"
    const auto& collector = role_keys.at(2).second;  // kRoles[2] is "collector"
    const std::string kit_id = "kit-" + collector.identity().keyid.substr(0, 8);
    TrustRoot verified = TrustRoot::verify(envelope);
    const std::string cert = issue_certificate(verified, kit_key, collector.identity(), kit_id,
                                               utc_in(-300), root.expires);

    for (const auto& [role, key] : role_keys)
        key.save((base / (role + ".key")).string(), passphrase);
    crypto::write_new_file((base / "collector.cert.json").string(), cert, 0644);
    crypto::write_new_file(trust_path.string(), envelope, 0644);
}

}  // namespace audit::trust
