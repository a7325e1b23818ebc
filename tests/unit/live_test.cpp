#include <unistd.h>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "audit/sources/live.h"
#include "support.h"

namespace live_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::LiveSource;
using audit::sources::parse_proc_modules;
using audit::sources::SourceStatus;

TEST_CASE("live: this test's own process is listed with the digest of its executable", "[live]") {
    audit::fs::Root root("/");
    REQUIRE(root.is_live());
    std::vector<audit::InventoryItem> items;
    auto rep = LiveSource().collect(root, items);
    REQUIRE(rep.status == SourceStatus::ran);
    const std::string self = stdfs::read_symlink("/proc/self/exe").string();
    const audit::InventoryItem* me = nullptr;
    for (const auto& i : items)
        if (i.ecosystem == "process" && i.extra.value("exe", "") == self) me = &i;
    REQUIRE(me != nullptr);
    CHECK(me->extra["live"] == true);
    CHECK(me->state == "running");
    CHECK(me->installed());
    CHECK(me->extra["sha256"] == audit::fs::sha256_hex(slurp(self)));
    bool has_me = false;
    for (const auto& p : me->extra["pids"]) has_me = has_me || p == ::getpid();
    CHECK(has_me);
    CHECK(me->purl().find("checksum=sha256:") != std::string::npos);
}

TEST_CASE("live: absent on a root that is not the running system", "[live]") {
    TempDir t;
    std::vector<audit::InventoryItem> items;
    auto rep = LiveSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::absent);
    CHECK(items.empty());
    auto failed = LiveSource(t.str() + "/no-proc").collect(audit::fs::Root("/"), items);
    CHECK(failed.status == SourceStatus::failed);
}

TEST_CASE("live: /proc/modules lines", "[live]") {
    auto m = parse_proc_modules(
        "kesl_test 16384 0 - Live 0x0000000000000000 (OE)\next4 1011712 2 - Live "
        "0x0000000000000000\n",
        "/proc/modules");
    REQUIRE(m.size() == 2);
    CHECK(m[0].name == "kesl_test");
    CHECK(m[0].ecosystem == "kmod");
    CHECK(m[0].state == "loaded");
    CHECK(m[0].installed());
    CHECK(m[0].extra["taint"] == "(OE)");
    CHECK(m[0].extra["live"] == true);
    CHECK_THROWS_WITH(parse_proc_modules("ext4 notanumber 0 - Live 0x0\n", "pm"),
                      Catch::Matchers::ContainsSubstring("pm:1"));
    CHECK_THROWS_AS(parse_proc_modules("bad/name 1 0 - Live 0x0\n", "pm"), audit::UsageError);
    CHECK_THROWS_AS(parse_proc_modules("short 1\n", "pm"), audit::UsageError);
}

TEST_CASE("live: secret-looking argument values are redacted", "[live]") {
    using audit::sources::redact_cmdline;
    CHECK(redact_cmdline({"mysql", "-uroot", "-phunter2", "db"}) == "mysql -uroot -p<redacted> db");
    CHECK(redact_cmdline({"tool", "-p", "hunter2", "x"}) == "tool -p <redacted> x");
    CHECK(redact_cmdline({"tool", "--password=hunter2", "--Token", "abc", "--verbose"}) ==
          "tool --password=<redacted> --Token <redacted> --verbose");
    CHECK(redact_cmdline({"env", "AWS_SECRET_ACCESS_KEY=abc", "HOME=/root"}) ==
          "env AWS_SECRET_ACCESS_KEY=<redacted> HOME=/root");
    CHECK(redact_cmdline({"curl", "https://alice:s3cret@example.org/p?q=1"}) ==
          "curl https://alice:<redacted>@example.org/p?q=1");
    CHECK(redact_cmdline({"curl", "-H", "Authorization: Bearer abc.def"}) ==
          "curl -H Authorization: <redacted>");
    CHECK(redact_cmdline({"curl", "-H", "X-Api-Key: abc"}) == "curl -H X-Api-Key: <redacted>");
    // argv[0] is the program, never redacted; plain arguments stay; control characters are '?'.
    CHECK(redact_cmdline({"/usr/bin/passwd", "alice"}) == "/usr/bin/passwd alice");
    CHECK(redact_cmdline({"sleep", "60\n"}) == "sleep 60?");
    // The last flag without its value: nothing to redact, nothing else touched.
    CHECK(redact_cmdline({"tool", "--password"}) == "tool --password");
}

// /proc/modules used to be read into a fixed bound and silently cut there: modules past it were
// simply not listed. Now a list over the bound fails the source with the reason.
TEST_CASE("live: a module list over its bound fails the source, never shortens it", "[live]") {
    TempDir t;
    const std::string modules =
        "kesl_test 16384 0 - Live 0x0000000000000000 (OE)\next4 1011712 2 - Live "
        "0x0000000000000000\n";
    write(t.path / "modules", modules);
    std::vector<audit::InventoryItem> items;
    auto whole = LiveSource(t.str(), modules.size()).collect(audit::fs::Root("/"), items);
    CHECK(whole.status == SourceStatus::ran);
    CHECK(items.size() == 2);

    items.clear();
    auto over = LiveSource(t.str(), modules.size() - 1).collect(audit::fs::Root("/"), items);
    CHECK(over.status == SourceStatus::failed);
    CHECK(over.error == t.str() + "/modules is larger than " + std::to_string(modules.size() - 1) +
                            " bytes; loaded modules were not listed");
    CHECK(items.empty());  // no partial list (and no processes in this fake /proc)
}

}  // namespace live_test_cases
