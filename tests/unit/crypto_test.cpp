// Keys, signatures and DSSE envelopes.
#include <sys/stat.h>
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "support.h"

namespace crypto_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit;
using namespace audit::crypto;

namespace {

using audit_test::TempDir;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

Envelope signed_envelope(const SigningKey& key, std::string payload = "{\"hello\":\"world\"}") {
    Envelope env;
    env.payload_type = "application/vnd.test+json";
    env.payload = std::move(payload);
    env.sign(key);
    return env;
}

}  // namespace

TEST_CASE("PAE matches the DSSE specification's test vector", "[crypto]") {
    CHECK(pae("http://example.com/HelloWorld", "hello world") ==
          "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    CHECK(pae("", "") == "DSSEv1 0  0 ");
}

TEST_CASE("base64 round-trips and rejects malformed text", "[crypto]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_decode("Zm9vYmE=") == "fooba");
    CHECK(base64_decode("Zm9vYmE") == "fooba");             // unpadded is accepted
    CHECK(base64_decode("-_8=") == base64_decode("+/8="));  // URL-safe alphabet (DSSE allows it)
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(base64_decode(base64_encode(all)) == all);

    CHECK_THROWS_AS(base64_decode("Zm9v!mFy"), VerifyError);
    CHECK_THROWS_AS(base64_decode("Zm9vY"), VerifyError);  // truncated
    CHECK(base64_decode("Zm8") == "fo");
    CHECK_THROWS_AS(base64_decode("Zg="), VerifyError);         // wrong padding
    CHECK_THROWS_AS(base64_decode("Zh=="), VerifyError);        // non-canonical trailing bits
    CHECK_THROWS_AS(base64_decode("Zm9v\nYmFy"), VerifyError);  // no whitespace
}

TEST_CASE("scheme and profile names", "[crypto]") {
    for (auto s : {Scheme::ecdsa_p384_sha384, Scheme::ml_dsa_87, Scheme::ed25519})
        CHECK(scheme_from_string(to_string(s)) == s);
    CHECK_THROWS_AS(scheme_from_string("rsa-pss-sha256"), VerifyError);
    CHECK(profile_from_string("hybrid") == KeyProfile::hybrid);
    CHECK_THROWS_AS(profile_from_string("rsa"), UsageError);
}

TEST_CASE("sign and verify round-trip for each scheme", "[crypto]") {
    struct Case {
        KeyProfile profile;
        std::vector<Scheme> schemes;
    };
    auto c = GENERATE(Case{KeyProfile::ecdsa, {Scheme::ecdsa_p384_sha384}},
                      Case{KeyProfile::ed25519, {Scheme::ed25519}},
                      Case{KeyProfile::hybrid, {Scheme::ecdsa_p384_sha384, Scheme::ml_dsa_87}});
    auto key = SigningKey::generate(c.profile);
    const auto& id = key.identity();
    REQUIRE(id.components.size() == c.schemes.size());
    for (std::size_t i = 0; i < c.schemes.size(); ++i) {
        CHECK(id.components[i].scheme == c.schemes[i]);
        CHECK(id.components[i].keyid.size() == 64);
    }
    CHECK(id.keyid == id.components[0].keyid);

    // keyid is the SHA-256 of the SPKI DER: re-deriving it from the PEM gives the same id.
    for (const auto& comp : id.components)
        CHECK(PublicKey::from_pem(comp.spki_pem).keyid == comp.keyid);

    auto sigs = key.sign("message");
    REQUIRE(sigs.size() == c.schemes.size());
    for (std::size_t i = 0; i < sigs.size(); ++i) {
        CHECK(sigs[i].first == id.components[i].keyid);
        CHECK(id.components[i].verify("message", sigs[i].second));
        CHECK_FALSE(id.components[i].verify("messagE", sigs[i].second));
        std::string bad = sigs[i].second;
        bad[bad.size() / 2] ^= 0x01;
        CHECK_FALSE(id.components[i].verify("message", bad));
        CHECK_FALSE(id.components[i].verify("message", ""));
    }

    auto env = signed_envelope(key);
    CHECK(env.signed_by(id));
    auto back = Envelope::parse(env.to_json());
    CHECK(back.payload == env.payload);
    CHECK(back.payload_type == env.payload_type);
    CHECK(back.signed_by(id));

    SECTION("tampered payload fails") {
        back.payload += " ";
        CHECK_FALSE(back.signed_by(id));
    }
    SECTION("changed payloadType fails") {
        back.payload_type = "application/vnd.other+json";
        CHECK_FALSE(back.signed_by(id));
    }
    SECTION("tampered signature fails") {
        back.signatures.back().sig[5] ^= 0x40;
        CHECK_FALSE(back.signed_by(id));
    }
    SECTION("another key's identity does not verify") {
        auto other = SigningKey::generate(c.profile);
        CHECK_FALSE(back.signed_by(other.identity()));
    }
}

TEST_CASE("a key's verifier, kept between calls, refuses what a fresh one refuses", "[crypto]") {
    // PublicKey::verify keeps a verifier per key text and thread: each outcome must be the one a
    // fresh verifier gives, whatever came before (a valid signature, a malformed one).
    auto profile = GENERATE(KeyProfile::ecdsa, KeyProfile::ed25519, KeyProfile::hybrid);
    auto key = SigningKey::generate(profile);
    auto other = SigningKey::generate(profile);
    const auto sigs = key.sign("statement");
    const auto other_sigs = other.sign("statement");
    for (std::size_t i = 0; i < sigs.size(); ++i) {
        const PublicKey& pk = key.identity().components[i];
        const std::string& sig = sigs[i].second;
        for (int round = 0; round < 3; ++round) {
            CHECK(pk.verify("statement", sig));
            CHECK_FALSE(pk.verify("statement", other_sigs[i].second));  // another key's
            CHECK(pk.verify("statement", sig));
            std::string forged = sig;
            forged[forged.size() / 3] ^= 0x20;
            CHECK_FALSE(pk.verify("statement", forged));
            // A signature of the wrong length leaves the message in Botan's verifier: the
            // next call must not hash "statement" after it.
            CHECK_FALSE(pk.verify("statement", sig.substr(0, sig.size() - 1)));
            CHECK_FALSE(pk.verify("statementstatement", sig));
            CHECK(pk.verify("statement", sig));
            CHECK_FALSE(pk.verify("statement", ""));
            CHECK_FALSE(pk.verify("", sig));
            CHECK(pk.verify("statement", sig));
        }
        // The same key under another scheme name, or another key's text, is never this key.
        PublicKey wrong_scheme = pk;
        wrong_scheme.scheme =
            pk.scheme == Scheme::ed25519 ? Scheme::ecdsa_p384_sha384 : Scheme::ed25519;
        CHECK_FALSE(wrong_scheme.verify("statement", sig));
        CHECK_FALSE(other.identity().components[i].verify("statement", sig));
    }
}

TEST_CASE("ECDSA signatures are DER-encoded", "[crypto]") {
    auto key = SigningKey::generate(KeyProfile::ecdsa);
    auto sig = key.sign("x").at(0).second;
    REQUIRE(sig.size() > 8);
    CHECK(static_cast<unsigned char>(sig[0]) == 0x30);  // SEQUENCE { r INTEGER, s INTEGER }
    CHECK(static_cast<std::size_t>(static_cast<unsigned char>(sig[1])) + 2 == sig.size());
}

TEST_CASE("hybrid identity needs every component's signature", "[crypto]") {
    auto key = SigningKey::generate(KeyProfile::hybrid);
    auto env = signed_envelope(key);
    REQUIRE(env.signatures.size() == 2);
    CHECK(env.signed_by(key.identity()));

    auto no_mldsa = env;
    no_mldsa.signatures.pop_back();
    CHECK_FALSE(no_mldsa.signed_by(key.identity()));

    auto no_ecdsa = env;
    no_ecdsa.signatures.erase(no_ecdsa.signatures.begin());
    CHECK_FALSE(no_ecdsa.signed_by(key.identity()));

    // A signature under the right keyid but by another key does not count.
    auto other = SigningKey::generate(KeyProfile::hybrid);
    auto swapped = env;
    swapped.signatures[1].sig = signed_envelope(other).signatures[1].sig;
    CHECK_FALSE(swapped.signed_by(key.identity()));
}

TEST_CASE("PublicIdentity JSON round-trip and validation", "[crypto]") {
    auto key = SigningKey::generate(KeyProfile::hybrid);
    const auto& id = key.identity();
    auto j = id.to_json();
    auto back = PublicIdentity::from_json(j);
    CHECK(back.keyid == id.keyid);
    REQUIRE(back.components.size() == 2);
    CHECK(back.components[1].spki_pem == id.components[1].spki_pem);
    CHECK(id.fingerprint().size() == 64 + 15);
    CHECK(id.fingerprint().substr(0, 5) == id.keyid.substr(0, 4) + " ");

    SECTION("keyid that is not the SPKI hash") {
        j["components"][0]["keyid"] = std::string(64, '0');
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
    SECTION("scheme that does not match the key") {
        j["components"][0]["scheme"] = "ed25519";
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
    SECTION("scheme that is not allowed") {
        j["components"][0]["scheme"] = "rsassa-pss-sha256";
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
    SECTION("ECDSA on another curve (P-256) is not ecdsa-p384-sha384") {
        const std::string p256 =
            "-----BEGIN PUBLIC KEY-----\n"
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEL91fFrUdxd16rO5PwiDoPGiRCD68\n"
            "4C4HaatsEky/B62Bzjqpw6PrZOSysdhNYdrQmWanxCEHuqwnT2iCBulIxQ==\n"
            "-----END PUBLIC KEY-----\n";
        CHECK_THROWS_AS(PublicKey::from_pem(p256), VerifyError);
        j["components"][0]["public"] = p256;
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
    SECTION("garbage PEM") {
        j["components"][1]["public"] =
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
    SECTION("wrong types") {
        CHECK_THROWS_AS(PublicIdentity::from_json(nlohmann::json::array()), VerifyError);
        j["components"] = "x";
        CHECK_THROWS_AS(PublicIdentity::from_json(j), VerifyError);
    }
}

TEST_CASE("key files: save, load, encryption and refusal to overwrite", "[crypto]") {
    TempDir dir;
    auto key = SigningKey::generate(KeyProfile::hybrid);

    SECTION("unencrypted") {
        key.save(dir / "k.key", std::nullopt);
        struct stat st {};
        REQUIRE(::stat((dir / "k.key").c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        const std::string text = read_all(dir / "k.key");
        CHECK(text.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);  // ECDSA block first
        CHECK_FALSE(SigningKey::is_encrypted(dir / "k.key"));
        auto loaded = SigningKey::load(dir / "k.key", std::nullopt);
        CHECK(loaded.identity().keyid == key.identity().keyid);
        CHECK(signed_envelope(loaded).signed_by(key.identity()));

        CHECK_THROWS_AS(key.save(dir / "k.key", std::nullopt), UsageError);
        CHECK(read_all(dir / "k.key") == text);
        // No temporary files are left behind.
        CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                            std::filesystem::directory_iterator()) == 1);
    }
    SECTION("encrypted") {
        key.save(dir / "e.key", std::string("correct horse"));
        CHECK(SigningKey::is_encrypted(dir / "e.key"));
        CHECK(read_all(dir / "e.key").find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos);
        auto loaded = SigningKey::load(dir / "e.key", std::string("correct horse"));
        CHECK(loaded.identity().keyid == key.identity().keyid);
        CHECK(loaded.identity().components.size() == 2);
        CHECK_THROWS_AS(SigningKey::load(dir / "e.key", std::string("wrong horse")), UsageError);
        CHECK_THROWS_AS(SigningKey::load(dir / "e.key", std::nullopt), UsageError);
    }
    SECTION("missing and malformed files") {
        CHECK_THROWS_AS(SigningKey::load(dir / "absent.key", std::nullopt), IoError);
        std::ofstream(dir / "junk.key") << "not a key\n";
        CHECK_THROWS_AS(SigningKey::load(dir / "junk.key", std::nullopt), UsageError);
        std::ofstream(dir / "bad.key")
            << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        CHECK_THROWS_AS(SigningKey::load(dir / "bad.key", std::nullopt), UsageError);
    }
}

TEST_CASE("malformed envelopes give VerifyError", "[crypto]") {
    auto key = SigningKey::generate(KeyProfile::ed25519);
    const std::string good = signed_envelope(key).to_json();
    REQUIRE_NOTHROW(Envelope::parse(good));

    // Every truncation of a valid envelope is rejected cleanly.
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("truncated at " << n);
        CHECK_THROWS_AS(Envelope::parse(good.substr(0, n)), VerifyError);
    }
    auto j = nlohmann::json::parse(good);
    auto with = [&](auto edit) {
        auto copy = j;
        edit(copy);
        return copy.dump();
    };
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x["payload"] = "@@@@"; })), VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x["signatures"][0]["sig"] = "a"; })),
                    VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x["payload"] = 5; })), VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x.erase("payloadType"); })), VerifyError);
    CHECK_THROWS_AS(
        Envelope::parse(with([](auto& x) { x["signatures"] = nlohmann::json::array(); })),
        VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x["signatures"] = "sig"; })), VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) { x["signatures"][0] = 1; })), VerifyError);
    CHECK_THROWS_AS(Envelope::parse(with([](auto& x) {
                        for (int i = 0; i < 100; ++i) x["signatures"].push_back(x["signatures"][0]);
                    })),
                    VerifyError);
    CHECK_THROWS_AS(Envelope::parse("[]"), VerifyError);
    CHECK_THROWS_AS(Envelope::parse("null"), VerifyError);
    CHECK_THROWS_AS(Envelope::parse(std::string(100000, '[') + std::string(100000, ']')),
                    VerifyError);
    // Bigger than the caller's bound.
    CHECK_THROWS_AS(Envelope::parse(good, good.size() - 1), VerifyError);
    std::string huge = with([](auto& x) { x["payload"] = std::string(4u << 20, 'A'); });
    CHECK_THROWS_AS(Envelope::parse(huge, 1u << 20), VerifyError);
    CHECK_NOTHROW(Envelope::parse(huge));
    try {
        Envelope::parse("{\"payload\": \"!!\", \"payloadType\": \"t\", \"signatures\": []}");
        FAIL("no exception");
    } catch (const VerifyError& e) {
        CHECK(std::string(e.what()).find("payload") != std::string::npos);
    }
}

}  // namespace crypto_test_cases
