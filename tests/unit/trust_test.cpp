// The trust root: document, root-role verification, role thresholds, revocation, expiry.
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/trust/certificate.h"
#include "audit/trust/trust_root.h"
#include "support.h"

namespace trust_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit;
using namespace audit::crypto;
using audit::trust::TrustRoot;

namespace {

using audit_test::TempDir;

// Fixture: keys for a root with a configurable root role, one key for every other role.
struct Authority {
    std::vector<SigningKey> root_keys;
    SigningKey kit = SigningKey::generate(KeyProfile::ecdsa);
    SigningKey collector_a = SigningKey::generate(KeyProfile::hybrid);
    SigningKey collector_b = SigningKey::generate(KeyProfile::ed25519);
    TrustRoot doc;

    explicit Authority(int root_keys_n = 1, int root_threshold = 1) {
        for (int i = 0; i < root_keys_n; ++i)
            root_keys.push_back(SigningKey::generate(KeyProfile::hybrid));
        doc.authority = "authority-test";
        doc.version = 3;
        doc.expires = "2099-01-01T00:00:00Z";
        doc.policy.allowed = {Scheme::ecdsa_p384_sha384, Scheme::ml_dsa_87, Scheme::ed25519};
        auto add = [&](const SigningKey& k) { doc.keys.emplace(k.identity().keyid, k.identity()); };
        for (const auto& k : root_keys) {
            add(k);
            doc.roles["root"].keyids.push_back(k.identity().keyid);
        }
        doc.roles["root"].threshold = root_threshold;
        add(kit);
        add(collector_a);
        add(collector_b);
        doc.roles["kit"] = {{kit.identity().keyid}, 1};
        doc.roles["collector"] = {{collector_a.identity().keyid, collector_b.identity().keyid}, 1};
        doc.roles["inspector"] = {{kit.identity().keyid}, 1};
        doc.roles["manifest"] = {{kit.identity().keyid}, 1};
    }

    std::string envelope(std::size_t signers, std::string_view type = trust::kPayloadType) const {
        Envelope env;
        env.payload_type = std::string(type);
        env.payload = doc.to_payload_json().dump();
        for (std::size_t i = 0; i < signers; ++i) env.sign(root_keys.at(i));
        return env.to_json();
    }
};

Envelope collector_envelope(const std::vector<const SigningKey*>& signers) {
    Envelope env;
    env.payload_type = "application/vnd.in-toto+json";
    env.payload = "{}";
    for (const auto* k : signers) env.sign(*k);
    return env;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const VerifyError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("trust root verifies and round-trips", "[trust]") {
    Authority a;
    const std::string text = a.envelope(1);
    auto root = TrustRoot::verify(text, "2030-01-01T00:00:00Z");
    CHECK(root.version == 3);
    CHECK(root.expires == "2099-01-01T00:00:00Z");
    CHECK(root.keys.size() == 4);
    CHECK(root.roles.at("collector").keyids.size() == 2);
    CHECK(root.sha256 == sha256_hex(text));
    CHECK(root.to_payload_json() == a.doc.to_payload_json());
}

TEST_CASE("trust root rejections", "[trust]") {
    SECTION("wrong payloadType") {
        Authority a;
        auto msg =
            error_of([&] { TrustRoot::verify(a.envelope(1, "application/vnd.in-toto+json")); });
        CHECK(msg.find("payloadType") != std::string::npos);
    }
    SECTION("unsigned by the root role") {
        Authority a;
        Envelope env = Envelope::parse(a.envelope(1));
        env.signatures.clear();
        env.sign(a.kit);
        CHECK_FALSE(error_of([&] { TrustRoot::verify(env.to_json()); }).empty());
    }
    SECTION("hybrid root key with its ML-DSA signature removed") {
        Authority a;
        Envelope env = Envelope::parse(a.envelope(1));
        REQUIRE(env.signatures.size() == 2);
        env.signatures.pop_back();
        auto msg = error_of([&] { TrustRoot::verify(env.to_json()); });
        CHECK(msg.find("role 'root'") != std::string::npos);
        CHECK(msg.find("ml-dsa-87") != std::string::npos);
    }
    SECTION("tampered payload") {
        Authority a;
        Envelope env = Envelope::parse(a.envelope(1));
        env.payload.replace(env.payload.find("2099"), 4, "2199");
        CHECK_FALSE(error_of([&] { TrustRoot::verify(env.to_json()); }).empty());
    }
    SECTION("threshold 2 with one signer") {
        Authority a(2, 2);
        auto msg = error_of([&] { TrustRoot::verify(a.envelope(1)); });
        CHECK(msg.find("needs 2") != std::string::npos);
        CHECK(msg.find("got 1") != std::string::npos);
        CHECK_NOTHROW(TrustRoot::verify(a.envelope(2)));
    }
    SECTION("expired") {
        Authority a;
        a.doc.expires = "2020-01-01T00:00:00Z";
        auto msg = error_of([&] { TrustRoot::verify(a.envelope(1)); });
        CHECK(msg ==
              "trust root version 3 expired on 2020-01-01T00:00:00Z (freeze: a newer root version "
              "is needed)");
        CHECK_NOTHROW(TrustRoot::verify(a.envelope(1), "2019-12-31T23:59:59Z"));
        CHECK_FALSE(
            error_of([&] { TrustRoot::verify(a.envelope(1), "2020-01-01T00:00:00Z"); }).empty());
    }
    SECTION("revoked root key") {
        Authority a(2, 1);
        a.doc.revoked.push_back(a.root_keys[0].identity().keyid);
        auto msg = error_of([&] { TrustRoot::verify(a.envelope(1)); });
        CHECK(msg.find("revoked") != std::string::npos);
        // The other root key still counts.
        Envelope env = Envelope::parse(a.envelope(1));
        env.signatures.clear();
        env.sign(a.root_keys[1]);
        CHECK_NOTHROW(TrustRoot::verify(env.to_json()));
    }
    SECTION("malformed documents") {
        Authority a;
        // A signed but absurdly nested payload is refused without exhausting the stack.
        Envelope deep;
        deep.payload_type = std::string(trust::kPayloadType);
        deep.payload = std::string(200000, '[') + std::string(200000, ']');
        deep.sign(a.root_keys[0]);
        CHECK_THROWS_AS(TrustRoot::verify(deep.to_json()), VerifyError);
        CHECK_THROWS_AS(TrustRoot::verify("{"), VerifyError);
        CHECK_THROWS_AS(TrustRoot::verify(""), VerifyError);
        auto bad_payload = [&](auto edit) {
            auto j = a.doc.to_payload_json();
            edit(j);
            Envelope env;
            env.payload_type = std::string(trust::kPayloadType);
            env.payload = j.dump();
            env.sign(a.root_keys[0]);
            return error_of([&] { TrustRoot::verify(env.to_json()); });
        };
        CHECK_FALSE(bad_payload([](auto& j) { j["_type"] = "other"; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["version"] = "1"; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["expires"] = "tomorrow"; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["expires"] = "2099-13-01T00:00:00Z"; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j = nlohmann::json::array(); }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["roles"].erase("kit"); }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["roles"]["kit"]["threshold"] = 2; }).empty());
        CHECK_FALSE(
            bad_payload([](auto& j) { j["roles"]["kit"]["keyids"].push_back("ab"); }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["roles"]["root"]["threshold"] = 0; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) { j["roles"]["admin"] = j["roles"]["kit"]; }).empty());
        CHECK_FALSE(bad_payload([](auto& j) {
                        auto& k = j["keys"].begin().value();
                        k["components"][0]["scheme"] = "rsa-pkcs1v15-sha256";
                    }).empty());
    }
}

TEST_CASE("verify_role: thresholds, distinct keys, revocation, hybrid components", "[trust]") {
    Authority a;
    auto root = TrustRoot::verify(a.envelope(1));
    const auto& ca = a.collector_a;
    const auto& cb = a.collector_b;

    CHECK(root.verify_role(collector_envelope({&ca}), "collector") ==
          std::vector<std::string>{ca.identity().keyid});
    CHECK(root.verify_role(collector_envelope({&cb}), "collector").size() == 1);
    CHECK(root.verify_role(collector_envelope({&ca, &cb}), "collector").size() == 2);

    SECTION("a key of another role does not count") {
        auto msg = error_of([&] { root.verify_role(collector_envelope({&a.kit}), "collector"); });
        CHECK(msg.find("role 'collector'") != std::string::npos);
    }
    SECTION("unknown role") {
        CHECK_THROWS_AS(root.verify_role(collector_envelope({&ca}), "janitor"), VerifyError);
    }
    SECTION("threshold 2 needs two distinct keys") {
        root.roles["collector"].threshold = 2;
        CHECK_THROWS_AS(root.verify_role(collector_envelope({&ca}), "collector"), VerifyError);
        // The same key signing twice is still one key.
        CHECK_THROWS_AS(root.verify_role(collector_envelope({&ca, &ca}), "collector"), VerifyError);
        CHECK(root.verify_role(collector_envelope({&ca, &cb}), "collector").size() == 2);
    }
    SECTION("revoked key") {
        root.revoked.push_back(ca.identity().keyid);
        auto msg = error_of([&] { root.verify_role(collector_envelope({&ca}), "collector"); });
        CHECK(msg.find("revoked") != std::string::npos);
        CHECK(root.verify_role(collector_envelope({&ca, &cb}), "collector") ==
              std::vector<std::string>{cb.identity().keyid});
    }
    SECTION("hybrid key missing one component") {
        auto env = collector_envelope({&ca});
        env.signatures.erase(env.signatures.begin());  // drop the ECDSA signature
        auto msg = error_of([&] { root.verify_role(env, "collector"); });
        CHECK(msg.find("ecdsa-p384-sha384") != std::string::npos);
    }
}

TEST_CASE("init_authority writes keys and a verifiable trust root", "[trust]") {
    TempDir dir;
    const std::string d = dir / "authority";
    trust::init_authority(d, KeyProfile::ed25519, std::nullopt, 30);
    auto root = TrustRoot::load(d + "/trust.json");
    CHECK(root.version == 1);
    CHECK(root.expires > trust::utc_now());
    CHECK(root.authority.rfind("authority-", 0) == 0);
    CHECK(root.policy.to_json() == trust::Policy::for_profile(KeyProfile::ed25519).to_json());
    // The collector is certified for its kit rather than listed in the root.
    CHECK(root.roles.at("collector").keyids.empty());
    {
        std::ifstream in(d + "/collector.cert.json");
        std::string cert(std::istreambuf_iterator<char>(in), {});
        auto c = trust::verify_certificate(root, cert);
        auto collector = SigningKey::load(d + "/collector.key", std::nullopt);
        CHECK(c.collector.keyid == collector.identity().keyid);
        CHECK(c.kit_id == "kit-" + collector.identity().keyid.substr(0, 8));
        CHECK(c.issuer_role == "kit");
        CHECK(c.not_after == root.expires);
    }
    for (const char* role : trust::kRoles) {
        INFO(role);
        if (std::string_view(role) == "collector") continue;
        const auto& spec = root.roles.at(role);
        REQUIRE(spec.keyids.size() == 1);
        auto key = SigningKey::load(d + "/" + role + ".key", std::nullopt);
        CHECK(key.identity().keyid == spec.keyids[0]);
        Envelope env;
        env.payload_type = "t";
        env.payload = "p";
        env.sign(key);
        CHECK(root.verify_role(env, role).size() == 1);
    }
    CHECK_THROWS_AS(trust::init_authority(d, KeyProfile::ed25519, std::nullopt, 30), UsageError);
    CHECK_THROWS_AS(trust::init_authority(dir / "x", KeyProfile::ed25519, std::nullopt, 0),
                    UsageError);
    CHECK_THROWS_AS(TrustRoot::load(dir / "missing.json"), IoError);

    // A tampered file fails with the path in the message.
    std::string text;
    {
        std::ifstream in(d + "/trust.json");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto pos = text.find("\"payload\":\"") + 12;
    text[pos] = text[pos] == 'A' ? 'B' : 'A';
    std::ofstream(dir / "tampered.json") << text;
    auto msg = error_of([&] { TrustRoot::load(dir / "tampered.json"); });
    CHECK(msg.find("tampered.json") != std::string::npos);
}

}  // namespace trust_test_cases
