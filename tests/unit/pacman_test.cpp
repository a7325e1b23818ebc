#include <sys/stat.h>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/sources/pacman.h"
#include "support.h"

namespace pacman_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::PacmanSource;
using audit::sources::parse_pacman_desc;
using audit::sources::parse_pacman_files;
using audit::sources::SourceStatus;

namespace {

std::string pacman_root(const TempDir& debs, const TempDir& root, const std::string& name,
                        const std::string& version, const std::string& file) {
    const std::string pkg =
        trim_nl(sh("bash " + fixture("pacman-root.sh") + " build " + debs.str() + " " + name + " " +
                   version + " 'Kaspersky Lab <support@example.invalid>' " + file));
    sh("bash " + fixture("pacman-root.sh") + " install " + root.str() + " " + pkg);
    return pkg;
}

}  // namespace

TEST_CASE("pacman: a database written by pacman -U reads like pacman -Q", "[pacman]") {
    TempDir pkgs, root;
    pacman_root(pkgs, root, "kesl", "11.1.0-1", "/opt/kaspersky/kesl/bin/kesl");
    pacman_root(pkgs, root, "libfoo", "2:1.5-3", "/usr/lib/libfoo.so.1");
    std::vector<audit::InventoryItem> items;
    auto rep = PacmanSource().collect(audit::fs::Root(root.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    // pacman's own view of the same database.
    const std::string q =
        sh("pacman -Q --root " + root.str() + " --dbpath " + root.str() + "/var/lib/pacman");
    std::string ours;
    for (const auto& i : items) ours += i.name + " " + i.version + "\n";
    CHECK(ours == q);
    const auto* k = find(items, "kesl");
    REQUIRE(k != nullptr);
    CHECK(k->ecosystem == "pacman");
    CHECK(k->arch == "x86_64");
    CHECK(k->publisher == "Kaspersky Lab <support@example.invalid>");
    CHECK(k->installed());
    CHECK(k->paths == std::vector<std::string>{"/opt/kaspersky/kesl/bin/kesl"});
    CHECK(k->source == "/var/lib/pacman/local/kesl-11.1.0-1/desc");
    CHECK(k->purl() == "pkg:alpm/arch/kesl@11.1.0-1?arch=x86_64");
    CHECK(find(items, "libfoo")->version == "2:1.5-3");

    sh("bash " + fixture("pacman-root.sh") + " remove " + root.str() + " kesl");
    items.clear();
    rep = PacmanSource().collect(audit::fs::Root(root.str()), items);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(find(items, "kesl") == nullptr);
    CHECK(find(items, "libfoo") != nullptr);
}

TEST_CASE("pacman: malformed desc and files are refused with a location", "[pacman]") {
    const std::string good = "%NAME%\nkesl\n\n%VERSION%\n1-1\n\n%PACKAGER%\nX\n";
    CHECK(parse_pacman_desc(good, "d").name == "kesl");
    CHECK_THROWS_WITH(parse_pacman_desc("%VERSION%\n1-1\n", "d"),
                      Catch::Matchers::ContainsSubstring("no %NAME%"));
    CHECK_THROWS_WITH(parse_pacman_desc("NAME\nkesl\n", "d"),
                      Catch::Matchers::ContainsSubstring("d:1"));
    CHECK_THROWS_AS(parse_pacman_desc(good + "\n%NAME%\nagain\n", "d"), audit::UsageError);
    CHECK_THROWS_AS(parse_pacman_desc(std::string("%NAME%\nke\0sl\n", 13), "d"), audit::UsageError);
    CHECK_THROWS_AS(parse_pacman_desc("%NAME%\n" + std::string(70000, 'a') + "\n", "d"),
                    audit::UsageError);
    audit::InventoryItem item;
    CHECK_THROWS_AS(parse_pacman_files("%FILES%\n/etc/abs\n", "f", item), audit::UsageError);
    parse_pacman_files("%FILES%\nopt/\nopt/k/x\n\n%BACKUP%\netc/k.conf\tabc\n", "f", item);
    CHECK(item.paths == std::vector<std::string>{"/opt/k/x"});
    CHECK(item.extra["backup"][0]["path"] == "/etc/k.conf");
}

TEST_CASE("pacman: a broken record stays in the inventory, an unreadable db fails", "[pacman]") {
    TempDir t;
    write(t.path / "var/lib/pacman/local/ALPM_DB_VERSION", "9\n");
    write(t.path / "var/lib/pacman/local/kesl-11.1.0-1/desc", "garbage\x01\n");
    std::vector<audit::InventoryItem> items;
    auto rep = PacmanSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 1);
    CHECK(items[0].name == "kesl");
    CHECK(items[0].version == "11.1.0-1");
    CHECK(items[0].installed());  // unknown state: never read as absence
    CHECK(items[0].extra["malformed"] == true);
    CHECK(any_contains(rep.warnings, "kept from the directory name"));

    TempDir absent;
    CHECK(PacmanSource().collect(audit::fs::Root(absent.str()), items).status ==
          SourceStatus::absent);
    TempDir fifo;
    stdfs::create_directories(fifo.path / "var/lib/pacman");
    REQUIRE(::mkfifo((fifo.path / "var/lib/pacman/local").c_str(), 0600) == 0);
    rep = PacmanSource().collect(audit::fs::Root(fifo.str()), items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK_FALSE(rep.error.empty());
}

}  // namespace pacman_test_cases
