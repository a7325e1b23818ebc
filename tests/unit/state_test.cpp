// Trust state: first use pins, freeze refuses an expired root whatever the state, corrupt state
// is refused rather than silently reset.
#include <unistd.h>

#include <catch_amalgamated.hpp>
#include <filesystem>
#include <fstream>

#include "audit/error.h"
#include "audit/trust/state.h"
#include "support.h"

namespace state_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

using audit_test::TempDir;

}  // namespace

TEST_CASE("trust state: pin, freeze, corrupt state", "[trust]") {
    TempDir dir;
    const auto auth = (dir.path / "auth").string();
    audit::trust::init_authority(auth, audit::crypto::KeyProfile::ed25519, std::nullopt, 2);
    const auto trust = auth + "/trust.json";
    const auto state = (dir.path / "state.json").string();

    auto first = audit::trust::load_trusted(trust, state);
    REQUIRE(first.notes.size() == 1);
    CHECK(first.notes[0].find("first use") != std::string::npos);
    CHECK(std::filesystem::exists(state));
    CHECK(audit::trust::load_trusted(trust, state).notes.empty());

    SECTION("freeze: expired is refused, with or without state") {
        CHECK_THROWS_WITH(audit::trust::load_trusted(trust, state, "2999-01-01T00:00:00Z"),
                          Catch::Matchers::ContainsSubstring("expired on"));
        CHECK_THROWS_AS(audit::trust::load_trusted(trust, std::nullopt, "2999-01-01T00:00:00Z"),
                        audit::VerifyError);
    }
    SECTION("a corrupt state file is refused, not reset") {
        std::ofstream(state) << "{\"_type\": \"something else\"}";
        CHECK_THROWS_WITH(audit::trust::load_trusted(trust, state),
                          Catch::Matchers::ContainsSubstring("not a trust state file"));
    }
    SECTION("another authority is pinned separately") {
        const auto other = (dir.path / "other").string();
        audit::trust::init_authority(other, audit::crypto::KeyProfile::ed25519, std::nullopt, 2);
        auto r = audit::trust::load_trusted(other + "/trust.json", state);
        REQUIRE(r.notes.size() == 1);
        CHECK(r.notes[0].find("first use") != std::string::npos);
    }
}

}  // namespace state_test_cases
