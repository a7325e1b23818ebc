#include "audit/sources/snap.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace snap_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::parse_snap_yaml;
using audit::sources::parse_snapd_state;
using audit::sources::SnapSource;
using audit::sources::SourceStatus;

namespace {

// snapd cannot install snaps offline here: snap.yaml and state.json are written from snapd's
// documented formats (snap.yaml reference; the "data.snaps" map of snapd's state).
const std::string kYaml = R"(name: kesl-snap
version: '11.1.0 build 3'
summary: "Endpoint \"security\" test"
publisher: kaspersky # a comment
description: |
  Long text
  name: not-this
apps:
  kesl:
    command: bin/kesl
architectures:
  - amd64
confinement: strict
)";

const std::string kState = R"({"data": {"snaps": {
  "kesl-snap": {"type": "app", "sequence": [{"name": "kesl-snap", "snap-id": "ID1", "revision": "12"}],
                "active": true, "current": "12", "tracking-channel": "latest/stable"},
  "core22": {"type": "base", "sequence": [{"name": "core22", "snap-id": "ID2", "revision": "1033"}],
             "active": true, "current": "1033"}}}, "changes": {}})";

}  // namespace

TEST_CASE("snap.yaml: the bounded YAML subset", "[snap]") {
    auto y = parse_snap_yaml(kYaml, "snap.yaml");
    CHECK(y["name"] == "kesl-snap");
    CHECK(y["version"] == "11.1.0 build 3");
    CHECK(y["summary"] == "Endpoint \"security\" test");
    CHECK(y["publisher"] == "kaspersky");
    CHECK(y["confinement"] == "strict");
    CHECK_FALSE(y.count("description"));
    CHECK_FALSE(y.count("command"));
    CHECK_THROWS_WITH(parse_snap_yaml("version: 1\n", "s"),
                      Catch::Matchers::ContainsSubstring("no name"));
    CHECK_THROWS_WITH(parse_snap_yaml("name: a\nbad line\n", "s"),
                      Catch::Matchers::ContainsSubstring("s:2"));
    CHECK_THROWS_AS(parse_snap_yaml("name: \"unterminated\n", "s"), audit::UsageError);
    CHECK_THROWS_AS(parse_snap_yaml("name: a\nname: b\n", "s"), audit::UsageError);
    CHECK_THROWS_AS(parse_snap_yaml(std::string("name: a\0\n", 9), "s"), audit::UsageError);
    CHECK_THROWS_AS(parse_snap_yaml(std::string(2u << 20, 'a'), "s"), audit::UsageError);
}

TEST_CASE("snapd state.json: snaps, revisions, malformed documents", "[snap]") {
    auto items = parse_snapd_state(kState, "state.json");
    REQUIRE(items.size() == 2);
    const auto* k = find(items, "kesl-snap");
    REQUIRE(k != nullptr);
    CHECK(k->extra["revision"] == "12");
    CHECK(k->extra["snap_id"] == "ID1");
    CHECK(k->extra["channel"] == "latest/stable");
    CHECK(parse_snapd_state(R"({"data": {}})", "s").empty());
    CHECK_THROWS_AS(parse_snapd_state("{\"data\": {\"snaps\": [1]}}", "s"), audit::UsageError);
    CHECK_THROWS_AS(parse_snapd_state("{\"changes\": {}}", "s"), audit::UsageError);
    CHECK_THROWS_AS(parse_snapd_state("{\"data\": {\"snaps\": {\"a\": 1}}}", "s"),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_snapd_state(kState.substr(0, kState.size() / 2), "s"), audit::UsageError);
    CHECK_THROWS_WITH(parse_snapd_state(std::string(100000, '[') + std::string(100000, ']'), "s"),
                      Catch::Matchers::ContainsSubstring("nested"));
}

TEST_CASE("snap source: state.json joined with the mounted snap.yaml", "[snap]") {
    TempDir t;
    std::vector<audit::InventoryItem> items;
    CHECK(SnapSource().collect(audit::fs::Root(t.str()), items).status == SourceStatus::absent);
    write(t.path / "var/lib/snapd/state.json", kState);
    write(t.path / "snap/kesl-snap/12/meta/snap.yaml", kYaml);
    stdfs::create_directory_symlink("12", t.path / "snap/kesl-snap/current");
    stdfs::create_directories(t.path / "snap/core22/1033");  // not mounted: no snap.yaml
    auto rep = SnapSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 2);
    const auto* k = find(items, "kesl-snap");
    CHECK(k->version == "11.1.0 build 3");
    CHECK(k->publisher == "kaspersky");
    CHECK(k->paths == std::vector<std::string>{"/snap/kesl-snap/12"});
    CHECK(k->purl() == "pkg:generic/snap/kesl-snap@11.1.0%20build%203");
    CHECK(find(items, "core22")->version.empty());

    write(t.path / "var/lib/snapd/state.json", "{\"data\": ");
    items.clear();
    rep = SnapSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(items.empty());
}

}  // namespace snap_test_cases
