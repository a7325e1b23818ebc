#include <catch_amalgamated.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/fs/root.h"
#include "audit/host/identity.h"

namespace {

namespace stdfs = std::filesystem;
using audit::host::HostIdentity;

struct TempDir {
    stdfs::path path;
    TempDir() {
        std::string t = (stdfs::temp_directory_path() / "audit-host-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        stdfs::remove_all(path, ec);
    }
};

void write(const stdfs::path& p, const std::string& bytes) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string slurp(const stdfs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("identity of a root made by the dpkg fixture", "[host]") {
    TempDir tmp;
    const auto root = tmp.path / "hostA";
    const std::string fixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/dpkg-root.sh";
    REQUIRE(std::system(("bash " + fixture + " init " + root.string()).c_str()) == 0);
    auto id = audit::host::identify(audit::fs::Root(root.string()));
    CHECK(id.hostname == "hostA");
    CHECK(id.label() == "hostA");
    std::string mid = slurp(root / "etc/machine-id");
    CHECK(id.machine_id.size() == 32);
    CHECK(id.machine_id + "\n" == mid);
    // etc/os-release is a relative symlink to ../usr/lib/os-release: resolved inside the root.
    CHECK(id.os_id == "debian");
    CHECK(id.os_version_id == "12");
    CHECK(id.os_pretty_name == "Debian GNU/Linux 12 (bookworm)");
    CHECK_FALSE(id.live);
    CHECK(id.dmi_product_uuid.empty());  // never read from a non-live root
    CHECK(id.root == root.string());
    auto ids = id.stable_ids();
    CHECK(ids["machine_id"] == id.machine_id);
    CHECK_FALSE(ids.contains("dmi_product_uuid"));
    auto j = id.to_json();
    CHECK(j["hostname"] == "hostA");
    CHECK(j["machine_id"] == id.machine_id);
    CHECK(j["live"] == false);
}

TEST_CASE("identity fallbacks and hostile values", "[host]") {
    TempDir tmp;
    const auto r = tmp.path;
    write(r / "etc/hostname", "  ../Evil host_name!\xc3\xa9\n# comment\n");
    write(r / "etc/machine-id", "uninitialized\n");
    write(r / "var/lib/dbus/machine-id", "0123456789ABCDEF0123456789abcdef\n");
    write(r / "usr/lib/os-release",
          "# comment\nID=\"ubuntu\"\nVERSION_ID='22.04'\nPRETTY_NAME=\"Ubuntu \\\"Jammy\\\"\"\n"
          "garbage line\n=novalue\n");
    // /sys inside a non-live root is not this host's hardware.
    write(r / "sys/class/dmi/id/product_uuid", "4c4c4544-0000-1000-8000-000000000000\n");
    auto id = audit::host::identify(audit::fs::Root(r.string()));
    CHECK(id.hostname == "../Evil host_name!");
    CHECK(id.label() == "Evil-host-name");
    CHECK(id.machine_id == "0123456789abcdef0123456789abcdef");
    CHECK(id.os_id == "ubuntu");
    CHECK(id.os_version_id == "22.04");
    CHECK(id.os_pretty_name == "Ubuntu \"Jammy\"");
    CHECK(id.dmi_product_uuid.empty());
}

TEST_CASE("label falls back to the machine id, then to unknown-host", "[host]") {
    HostIdentity id;
    CHECK(id.label() == "unknown-host");
    id.machine_id = "0123456789abcdef0123456789abcdef";
    CHECK(id.label() == "host-0123456789ab");
    id.hostname = "...";
    CHECK(id.label() == "host-0123456789ab");
    id.hostname = "web-01.example.org";
    CHECK(id.label() == "web-01.example.org");
    id.hostname = std::string(300, 'a');
    CHECK(id.label().size() <= 63);
    for (const std::string h : {"a/b", "-rf", "a\nb", "\x01\x02", "..", "x y"}) {
        id.hostname = h;
        for (char c : id.label()) {
            CAPTURE(h);
            CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'));
        }
        CHECK(id.label().front() != '-');
        CHECK(id.label().front() != '.');
    }
}

TEST_CASE("an empty root has no identity but a label", "[host]") {
    TempDir tmp;
    auto id = audit::host::identify(audit::fs::Root(tmp.path.string()));
    CHECK(id.hostname.empty());
    CHECK(id.machine_id.empty());
    CHECK(id.stable_ids().empty());
    CHECK(id.label() == "unknown-host");
}

TEST_CASE("the live root uses uname when etc/hostname is missing, and reads DMI", "[host]") {
    audit::fs::Root root("/");
    REQUIRE(root.is_live());
    auto id = audit::host::identify(root);
    CHECK(id.live);
    struct utsname u {};
    REQUIRE(::uname(&u) == 0);
    if (!stdfs::exists("/etc/hostname")) CHECK(id.hostname == u.nodename);
    CHECK_FALSE(id.hostname.empty());
    if (std::ifstream("/sys/class/dmi/id/product_uuid").good())
        CHECK(id.dmi_product_uuid.size() == 36);
    else
        CHECK(id.dmi_product_uuid.empty());
}
