#include <catch_amalgamated.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/fs/root.h"
#include "audit/host/identity.h"
#include "audit/host/windows_registry.h"
#include "support.h"

namespace host_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::host::HostIdentity;

using audit_test::TempDir;

using audit_test::write;

using audit_test::slurp;

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
    // Placeholders (all zeros, "To Be Filled By O.E.M.") are left out.
    if (std::ifstream("/sys/class/dmi/id/product_uuid").good())
        CHECK((id.dmi_product_uuid.empty() || id.dmi_product_uuid.size() == 36));
    else
        CHECK(id.dmi_product_uuid.empty());
    CHECK(
        id.os_family ==
        (stdfs::exists("/etc/os-release") || stdfs::exists("/usr/lib/os-release") ? "linux" : ""));
}

TEST_CASE("SSH host key fingerprints are computed as ssh-keygen -lf prints them", "[host]") {
    // ssh-keygen -lf of this line: 256 SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA
    const std::string ed25519 =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f "
        "root@host";
    CHECK(audit::host::ssh_fingerprint(ed25519) ==
          "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA");
    CHECK(audit::host::ssh_fingerprint("").empty());
    CHECK(audit::host::ssh_fingerprint("ssh-ed25519 !!!notbase64").empty());
    CHECK(audit::host::ssh_fingerprint("garbage AAAA").empty());
}

TEST_CASE("identifiers of an offline Linux root: fstab root UUID, SSH host keys", "[host]") {
    TempDir tmp;
    const auto r = tmp.path;
    write(r / "etc/os-release", "ID=debian\n");
    write(r / "etc/hostname", "web1\n");
    write(r / "etc/fstab",
          "# <fs> <mount>\nUUID=0a1b2c3d-1111-2222-3333-444455556666 /boot ext4 defaults 0 2\n"
          "UUID=\"7F3E2D1C-AAAA-BBBB-CCCC-DDDDEEEEFFFF\"   /   ext4 errors=remount-ro 0 1\n");
    write(r / "etc/ssh/ssh_host_ed25519_key.pub",
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f "
          "root@web1\n");
    write(r / "etc/ssh/ssh_host_ed25519_key", "private: never read\n");
    write(r / "etc/ssh/ssh_host_rsa_key.pub", "not a key\n");
    stdfs::create_directories(r / "var/lib");
    auto id = audit::host::identify(audit::fs::Root(r.string()));
    CHECK(id.os_family == "linux");
    CHECK(id.os_evidence == "etc/os-release");
    CHECK(id.not_a_system.empty());
    CHECK(id.machine_id.empty());
    CHECK(id.root_fs_uuid == "7f3e2d1c-aaaa-bbbb-cccc-ddddeeeeffff");
    CHECK(id.ssh_host_keys == "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA");
    auto ids = id.stable_ids();
    CHECK(ids.size() == 2);
    for (const auto& [k, v] : ids.items()) CHECK(v.is_string());
    CHECK_FALSE(ids.contains("hostname"));
}

TEST_CASE("what is not a system root is said", "[host]") {
    TempDir tmp;
    // A data partition.
    write(tmp.path / "data/home/alice/notes.txt", "x");
    auto data = audit::host::identify(audit::fs::Root((tmp.path / "data").string()));
    CHECK(data.os_family.empty());
    CHECK_FALSE(data.not_a_system.empty());
    // A /usr tree: usr/lib/os-release but nothing beside it.
    write(tmp.path / "usr/lib/os-release", "ID=debian\n");
    write(tmp.path / "usr/bin/true", "");
    auto usr = audit::host::identify(audit::fs::Root((tmp.path / "usr").string()));
    CHECK(usr.os_family.empty());
    auto usr_parent = audit::host::identify(audit::fs::Root(tmp.path.string()));
    CHECK(usr_parent.os_family == "linux");
    CHECK(usr_parent.not_a_system.find("no etc/") != std::string::npos);
}

TEST_CASE("a macOS root's hardware UUID comes from ByHost preference names", "[host]") {
    TempDir tmp;
    const auto root = tmp.path / "mac";
    const std::string fixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/macos-root.sh";
    REQUIRE(std::system(("MACOS_HARDWARE_UUID=564D1234-ABCD-4EF0-9876-0123456789AB bash " +
                         fixture + " init " + root.string() + " mac1")
                            .c_str()) == 0);
    // Another user's file from an older Mac, and names that are no UUID.
    write(root /
              "Users/bob/Library/Preferences/ByHost/"
              "com.apple.x.11111111-2222-3333-4444-555555555555.plist",
          "");
    write(root / "Users/bob/Library/Preferences/ByHost/com.apple.y.notauuid.plist", "");
    auto id = audit::host::identify(audit::fs::Root(root.string()));
    CHECK(id.os_family == "macos");
    CHECK(id.macos_hardware_uuid == "564D1234-ABCD-4EF0-9876-0123456789AB");
    CHECK(id.stable_ids()["macos_hardware_uuid"] == id.macos_hardware_uuid);
}

TEST_CASE("a Windows root's machine SID comes from the SAM hive", "[host]") {
    TempDir tmp;
    const auto root = tmp.path / "win";
    const std::string fixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/windows-root.sh";
    REQUIRE(
        std::system(
            ("bash " + fixture + " layout " + root.string() +
             " clean 6f1c2d3e-aaaa-bbbb-cccc-0123456789ab S-1-5-21-1004336348-1177238915-682003330")
                .c_str()) == 0);
    auto id = audit::host::identify(audit::fs::Root(root.string()));
    CHECK(id.os_family == "windows");
    CHECK(id.windows_machine_guid == "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab");
    CHECK(id.windows_machine_sid == "S-1-5-21-1004336348-1177238915-682003330");
    CHECK(audit::host::sid_to_string(std::string("\x01\x04\0\0\0\0\0\x05\x15\0\0\0"
                                                 "\x01\0\0\0\x02\0\0\0\x03\0\0\0",
                                                 24)) == "S-1-5-21-1-2-3");
    CHECK(audit::host::machine_sid_from_v("short").empty());
}

}  // namespace host_test_cases
