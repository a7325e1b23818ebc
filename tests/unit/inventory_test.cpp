#include <catch_amalgamated.hpp>

#include "audit/inventory.h"

namespace inventory_test_cases {  // one namespace per test file: unity builds compile several as
                                  // one

TEST_CASE("deb purl encodes version and arch", "[inventory]") {
    audit::InventoryItem item;
    item.ecosystem = "deb";
    item.name = "kesl";
    item.version = "11.1.0+1:2";
    item.arch = "amd64";
    item.state = "installed";
    CHECK(item.purl() == "pkg:deb/debian/kesl@11.1.0%2B1%3A2?arch=amd64");
    CHECK(item.installed());
    item.state = "config-files";
    CHECK_FALSE(item.installed());
}

TEST_CASE("rpm purl moves the epoch into a qualifier and takes the distro as namespace",
          "[inventory]") {
    audit::InventoryItem item;
    item.ecosystem = "rpm";
    item.name = "kesl";
    item.version = "2:11.1.0-3393";
    item.arch = "x86_64";
    item.state = "installed";
    CHECK(item.purl() == "pkg:rpm/kesl@11.1.0-3393?arch=x86_64&epoch=2");
    item.extra["distro"] = "rocky";
    item.version = "11.1.0-3393";
    CHECK(item.purl() == "pkg:rpm/rocky/kesl@11.1.0-3393?arch=x86_64");
    item.arch.clear();
    item.version = "1:1.0-1";
    CHECK(item.purl() == "pkg:rpm/rocky/kesl@1.0-1?epoch=1");
    CHECK(item.installed());
}

}  // namespace inventory_test_cases
