#include <catch_amalgamated.hpp>

#include "audit/inventory.h"

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
