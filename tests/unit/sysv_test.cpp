#include "audit/sources/sysv.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace sysv_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::parse_init_script;
using audit::sources::SourceStatus;
using audit::sources::SysvSource;

namespace {

// Written from the LSB 3.1 "Init Script Comment Conventions" and Debian's /etc/init.d/skeleton
// (update-rc.d cannot work on an alternative root, so the rc?.d links are made by hand).
const std::string kScript = R"(#!/bin/sh
### BEGIN INIT INFO
# Provides:          kav4fs-supervisor
# Required-Start:    $local_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Kaspersky Anti-Virus for Linux File Server
# Description:       Starts the supervisor
#                    of the anti-virus.
### END INIT INFO
DAEMON=/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor
NAME=kav4fs-supervisor
)";

}  // namespace

TEST_CASE("init scripts: LSB header and DAEMON", "[sysv]") {
    auto f = parse_init_script(kScript, "s");
    CHECK(f["provides"] == "kav4fs-supervisor");
    CHECK(f["default-start"] == "2 3 4 5");
    CHECK(f["short-description"] == "Kaspersky Anti-Virus for Linux File Server");
    CHECK(f["description"] == "Starts the supervisor of the anti-virus.");
    CHECK(f["daemon"] == "/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor");
    CHECK(parse_init_script("#!/bin/sh\nDAEMON=$X/bin\n", "s").empty());
    CHECK_THROWS_AS(parse_init_script(std::string("\x7f"
                                                  "ELF\0\0",
                                                  6),
                                      "s"),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_init_script(std::string(5u << 20, ' '), "s"), audit::UsageError);
}

TEST_CASE("sysv source: scripts and the runlevels that start them", "[sysv]") {
    TempDir t;
    write(t.path / "etc/init.d/kav4fs-supervisor", kScript);
    write(t.path / "etc/init.d/other", "#!/bin/sh\n");
    write(t.path / "etc/init.d/README", "not a script\n");
    write(t.path / "etc/init.d/kav4fs-supervisor.dpkg-old", kScript);
    for (const char* rc : {"rc2.d", "rc3.d"}) {
        stdfs::create_directories(t.path / "etc" / rc);
        stdfs::create_symlink("../init.d/kav4fs-supervisor",
                              t.path / "etc" / rc / "S01kav4fs-supervisor");
    }
    stdfs::create_directories(t.path / "etc/rc0.d");
    stdfs::create_symlink("../init.d/kav4fs-supervisor", t.path / "etc/rc0.d/K01kav4fs-supervisor");
    std::vector<audit::InventoryItem> items;
    auto rep = SysvSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 2);
    const auto* k = find(items, "kav4fs-supervisor");
    REQUIRE(k != nullptr);
    CHECK(k->ecosystem == "sysv");
    CHECK(k->extra["enablement"] == "enabled");
    CHECK(k->extra["runlevels"] == nlohmann::json::array({"2", "3"}));
    CHECK(k->paths == std::vector<std::string>{"/etc/init.d/kav4fs-supervisor",
                                               "/opt/kaspersky/kav4fs/libexec/kav4fs-supervisor"});
    CHECK(find(items, "other")->extra["enablement"] == "disabled");

    TempDir empty;
    CHECK(SysvSource().collect(audit::fs::Root(empty.str()), items).status == SourceStatus::absent);
}

}  // namespace sysv_test_cases
