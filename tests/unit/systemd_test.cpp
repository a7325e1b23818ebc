#include "audit/sources/systemd.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace systemd_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::parse_unit_file;
using audit::sources::SourceStatus;
using audit::sources::SystemdSource;

namespace {

const std::string kUnit = R"([Unit]
Description=Kaspersky Endpoint Security for Linux
# ExecStart=/not/this
[Service]
Type=forking
ExecStartPre=-/opt/kaspersky/kesl/libexec/prepare \
    --with-continuation
ExecStart=@/opt/kaspersky/kesl/libexec/kesl_launcher.sh kesl --daemon
ExecStop=/bin/kill $MAINPID
ExecReload=true

[Install]
WantedBy=multi-user.target
Alias=kesl-alias.service
)";

std::string state_of(const std::vector<audit::InventoryItem>& items, const std::string& name) {
    const auto* i = find(items, name);
    return i ? i->extra.value("enablement", "?") + "/" + i->state : "missing";
}

}  // namespace

TEST_CASE("unit files: description, Exec paths, [Install]", "[systemd]") {
    auto u = parse_unit_file(kUnit, "kesl.service");
    CHECK(u.description == "Kaspersky Endpoint Security for Linux");
    CHECK(u.exec == std::vector<std::string>{"/opt/kaspersky/kesl/libexec/prepare",
                                             "/opt/kaspersky/kesl/libexec/kesl_launcher.sh",
                                             "/bin/kill"});
    CHECK(u.wanted_by == std::vector<std::string>{"multi-user.target"});
    CHECK(u.aliases == std::vector<std::string>{"kesl-alias.service"});
}

TEST_CASE("unit files: malformed input is refused with a location", "[systemd]") {
    CHECK_THROWS_WITH(parse_unit_file("[Service]\nExecStart /bin/x\n", "u"),
                      Catch::Matchers::ContainsSubstring("u:2"));
    CHECK_THROWS_AS(parse_unit_file("[Service\n", "u"), audit::UsageError);
    CHECK_THROWS_AS(parse_unit_file(std::string("[Unit]\nDescription=a\0b\n", 23), "u"),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_unit_file("[Unit]\nDescription=" + std::string(70000, 'x') + "\n", "u"),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_unit_file(std::string(2u << 20, '#'), "u"), audit::UsageError);
    CHECK(parse_unit_file("", "u").exec.empty());
}

TEST_CASE("systemd: enablement as systemctl --root sees it", "[systemd]") {
    TempDir t;
    const auto lib = t.path / "usr/lib/systemd/system";
    write(lib / "kesl.service", kUnit);
    write(lib / "klnagent64.service",
          "[Service]\nExecStart=/opt/kaspersky/klnagent64/sbin/"
          "klnagent\n[Install]\nWantedBy=multi-user.target\n");
    write(lib / "static.service", "[Service]\nExecStart=/bin/true\n");
    write(lib / "getty@.service",
          "[Service]\nExecStart=/sbin/agetty %I\n[Install]\nWantedBy=getty.target\n");
    write(lib / "masked.service",
          "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
    stdfs::create_directories(t.path / "etc/systemd/system");
    const std::string ctl = "systemctl --root " + t.str() + " ";
    sh(ctl + "enable kesl.service getty@tty1.service 2>/dev/null");
    sh(ctl + "mask masked.service 2>/dev/null");

    std::vector<audit::InventoryItem> items;
    auto rep = SystemdSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    for (const std::string unit : {"kesl.service", "klnagent64.service", "static.service",
                                   "masked.service", "getty@.service"}) {
        const std::string want = trim_nl(sh(ctl + "is-enabled " + unit + " || true"));
        const auto* i = find(items, unit);
        REQUIRE(i != nullptr);
        INFO(unit);
        CHECK(i->extra.value("enablement", "") == want);
    }
    const auto* k = find(items, "kesl.service");
    CHECK(k->paths.front() == "/usr/lib/systemd/system/kesl.service");
    CHECK(k->extra["exec"][1] == "/opt/kaspersky/kesl/libexec/kesl_launcher.sh");
    CHECK(k->purl() == "pkg:generic/systemd/kesl.service");
    // The alias link systemctl made names the unit it stands for.
    CHECK(find(items, "kesl-alias.service")->extra["alias_of"] == "kesl.service");

    // A removal that deleted the unit file but left the enablement link behind.
    stdfs::remove(lib / "kesl.service");
    items.clear();
    SystemdSource().collect(audit::fs::Root(t.str()), items);
    CHECK(state_of(items, "kesl.service") == "dangling/link-only");
    CHECK_FALSE(find(items, "kesl.service")->installed());
}

TEST_CASE("systemd: links never lead out of the root", "[systemd]") {
    TempDir outside, t;
    write(outside.path / "evil.service", "[Service]\nExecStart=/outside/bin\n");
    const auto etc = t.path / "etc/systemd/system";
    stdfs::create_directories(etc);
    // Absolute target: resolved inside the root, where it does not exist.
    stdfs::create_symlink(outside.path / "evil.service", etc / "evil.service");
    stdfs::create_symlink("../../../../../../../../" + (outside.path / "evil.service").string(),
                          etc / "evil2.service");
    std::vector<audit::InventoryItem> items;
    auto rep = SystemdSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::ran);
    for (const auto& i : items) {
        CHECK(i.state == "link-only");
        CHECK_FALSE(i.extra.contains("exec"));
    }
    TempDir empty;
    CHECK(SystemdSource().collect(audit::fs::Root(empty.str()), items).status ==
          SourceStatus::absent);
}

}  // namespace systemd_test_cases
