#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace read_link_test_cases {  // one namespace per test file: unity builds compile several as
                                  // one

using namespace audit_test;

TEST_CASE("Root::read_link reads targets without following them", "[fs]") {
    TempDir t;
    write(t.path / "etc/a.service", "x");
    stdfs::create_directories(t.path / "etc/wants");
    stdfs::create_symlink("/usr/lib/x.service", t.path / "etc/wants/x.service");
    stdfs::create_symlink("/etc/passwd", t.path / "etc/out");
    stdfs::create_directory_symlink("etc", t.path / "linkdir");
    audit::fs::Root root(t.str());
    CHECK(root.read_link("/etc/wants/x.service") ==
          std::optional<std::string>("/usr/lib/x.service"));
    CHECK(root.read_link("etc/out") == std::optional<std::string>("/etc/passwd"));
    CHECK_FALSE(root.read_link("/etc/a.service").has_value());  // not a link
    CHECK_FALSE(root.read_link("/etc/missing").has_value());
    CHECK_FALSE(root.read_link("/").has_value());
    // The parent is resolved inside the root (linkdir -> etc).
    CHECK(root.read_link("/linkdir/out") == std::optional<std::string>("/etc/passwd"));
}

}  // namespace read_link_test_cases
