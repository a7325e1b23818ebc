// trust/rotation: the next trust root version (audit-keys rotate-root and revoke), in-process.
#include <catch_amalgamated.hpp>

#include <filesystem>

#include "audit/error.h"
#include "audit/trust/rotation.h"
#include "audit/trust/state.h"
#include "support.h"
#include "test_authority.h"

namespace rotation_test_cases {  // one namespace per test file: unity builds compile several as one

namespace crypto = audit::crypto;
namespace trust = audit::trust;
using audit_test::slurp;
using audit_test::TempDir;
using audit_test::write;

TEST_CASE("rotation: role changes, revocation, the next version kept with its history",
          "[trust][rotation]") {
    audit::testing::TestAuthority a;
    TempDir t;
    const std::string path = t.str() + "/trust.json";
    const std::string v1 = trust::sign_root(a.trust, {&a.root});
    write(path, v1);

    // A new inspector key; the old one no role names any more is dropped, revoked ids stay.
    auto next = trust::TrustRoot::verify_signed(v1);
    const auto inspector2 = crypto::SigningKey::generate(crypto::KeyProfile::ecdsa);
    trust::apply_role_changes(next, {{"inspector", {inspector2.identity()}}}, 1);
    CHECK(next.roles.at("inspector").keyids ==
          std::vector<std::string>{inspector2.identity().keyid});
    CHECK_FALSE(next.keys.count(a.inspector.identity().keyid));
    CHECK_THROWS_AS(trust::apply_role_changes(next, {{"nosuchrole", {}}}, std::nullopt),
                    audit::UsageError);
    CHECK_THROWS_AS(trust::apply_role_changes(next, {{"kit", {}}}, std::nullopt),
                    audit::UsageError);
    CHECK_THROWS_AS(trust::revoke_keys(next, {"ABC"}), audit::UsageError);
    trust::revoke_keys(next, {a.inspector.identity().keyid, a.inspector.identity().keyid});
    CHECK(next.revoked == std::vector<std::string>{a.inspector.identity().keyid});

    CHECK_THROWS_AS(trust::publish_next_root(path, v1, next, 30, {}, path), audit::UsageError);
    const auto published = trust::publish_next_root(path, v1, next, 30, {&a.root}, path);
    CHECK(published.root.version == 2);
    CHECK(published.previous_version == 1);
    CHECK(published.previous_kept == trust::history_path(path, 1));
    CHECK(slurp(published.previous_kept) == v1);
    const auto v2 = trust::TrustRoot::verify_signed(slurp(path));
    CHECK(v2.version == 2);
    CHECK(v2.roles.at("inspector").keyids == next.roles.at("inspector").keyids);

    // Signed by a key the current root does not hold: not a successor, nothing written.
    const std::string before = slurp(path);
    auto stranger_next = v2;
    CHECK_THROWS_AS(
        trust::publish_next_root(path, before, stranger_next, 30, {&inspector2}, t.str() + "/x"),
        audit::VerifyError);
    CHECK_FALSE(std::filesystem::exists(t.str() + "/x"));
    CHECK(slurp(path) == before);
}

}  // namespace rotation_test_cases
