// Trust-store certificates (issue 18): the registry Blob parser, PEM and DER anchors, the
// trust-store source on Linux anchor directories and on Windows registry stores written by
// hivex, and certificate rules. Certificates are made by openssl (tests/fixtures/trust-store.sh).
#include <catch_amalgamated.hpp>

#include <cstdlib>
#include <map>
#include <set>

#include "audit/error.h"
#include "audit/formats/certstore.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/trust_store.h"
#include "support.h"

namespace trust_store_test_cases {  // one namespace per test file: unity builds compile several as
                                    // one

using audit_test::fixture;
using audit_test::sh;
using audit_test::slurp;
using audit_test::TempDir;
using audit_test::trim_nl;
using audit_test::write;
namespace certstore = audit::certstore;
namespace stdfs = std::filesystem;

namespace {

const std::string kKav = "Kaspersky Anti-Virus Personal Root Certificate";
const std::string kKes = "Kaspersky Endpoint Security Personal Certification Authority";
const std::string kDecoy = "Kaspersky Lab Fan Club";

std::string store_sh(const std::string& args) {
    return sh("bash " + fixture("trust-store.sh") + " " + args);
}

// A root made once per test run (openssl key generation), read from there.
std::string make_root(const std::string& cn) {
    static TempDir dir;
    static std::map<std::string, std::string> made;
    auto it = made.find(cn);
    if (it == made.end()) {
        const auto path = dir.path / ("root" + std::to_string(made.size()) + ".pem");
        store_sh("root " + path.string() + " '" + cn + "'");
        it = made.emplace(cn, path.string()).first;
    }
    return it->second;
}

std::string openssl_fingerprint(const std::string& pem, const std::string& alg) {
    return trim_nl(sh("openssl x509 -in " + pem + " -noout -fingerprint -" + alg +
                      " | sed 's/.*=//; s/://g' | tr A-F a-f"));
}

std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

std::string prop(std::uint32_t id, const std::string& data) {
    return le32(id) + le32(1) + le32(static_cast<std::uint32_t>(data.size())) + data;
}

bool have_hivex() {
    return std::system("command -v hivexregedit >/dev/null 2>&1") == 0;
}

const audit::InventoryItem* find_cn(const std::vector<audit::InventoryItem>& items,
                                    const std::string& cn, const std::string& store = "") {
    for (const auto& i : items)
        if (i.ecosystem == "certificate" && i.extra.value("subject_cn", "") == cn &&
            (store.empty() || i.extra.value("store", "") == store))
            return &i;
    return nullptr;
}

}  // namespace

TEST_CASE("certstore: an openssl root read from DER, PEM and a registry Blob", "[certstore]") {
    const std::string pem = make_root(kKav);
    TempDir t;
    const auto der_path = t.path / "kav.der";
    store_sh("der " + pem + " " + der_path.string());
    const std::string der = slurp(der_path);

    const auto c = certstore::read_certificate(der);
    CHECK(c.subject_cn == kKav);
    CHECK(c.subject == "C=RU, O=AO Kaspersky Lab, CN=" + kKav);
    CHECK(c.issuer == c.subject);  // self-signed
    CHECK(c.issuer_cn == kKav);
    CHECK(c.sha1 == openssl_fingerprint(pem, "sha1"));
    CHECK(c.sha256 == openssl_fingerprint(pem, "sha256"));
    const std::string serial =
        trim_nl(sh("openssl x509 -in " + pem + " -noout -serial | sed 's/.*=//' | tr A-F a-f"));
    // openssl prints the serial's bytes; ours drops a leading sign byte only.
    CHECK((c.serial == serial || "00" + c.serial == serial));

    std::size_t malformed = 0;
    const auto ders = certstore::pem_certificates(slurp(pem), 10, malformed);
    REQUIRE(ders.size() == 1);
    CHECK(ders[0] == der);
    CHECK(malformed == 0);

    const auto blob_path = t.path / "kav.blob";
    store_sh("blob " + pem + " " + blob_path.string());
    const std::string blob = slurp(blob_path);
    const auto props = certstore::blob_properties(blob);
    REQUIRE(props.size() == 4);
    CHECK(props[0].id == certstore::kSha1Property);
    CHECK(props[2].id == certstore::kFriendlyNameProperty);
    CHECK(props[3].id == certstore::kCertProperty);
    CHECK(certstore::blob_certificate(blob) == der);
    CHECK(certstore::read_certificate(certstore::blob_certificate(blob)).sha1 == c.sha1);
}

// The Blob Windows' crypt32 writes, as Wine's implementation writes it: a program built with
// mingw-w64 adds the root to the LOCAL_MACHINE Root store under Wine, and the bytes are taken
// from the prefix's registry. Opt-in (AUDIT_WITH_WINE=1): a fresh Wine prefix takes seconds.
TEST_CASE("certstore: a Blob written by Wine's crypt32", "[certstore][wine]") {
    const char* with_wine = std::getenv("AUDIT_WITH_WINE");
    if (!with_wine || std::string(with_wine) != "1") SKIP("AUDIT_WITH_WINE=1 not set");
    const std::string pem = make_root(kKes);
    TempDir t;
    store_sh("wine-blob " + pem + " " + (t.path / "wine.blob").string());
    const std::string blob = slurp(t.path / "wine.blob");
    store_sh("der " + pem + " " + (t.path / "c.der").string());
    CHECK(certstore::blob_certificate(blob) == slurp(t.path / "c.der"));
    const auto c = certstore::read_certificate(certstore::blob_certificate(blob));
    CHECK(c.subject_cn == kKes);
    CHECK(c.sha1 == openssl_fingerprint(pem, "sha1"));
}

TEST_CASE("certstore: the Blob parser refuses what is out of bounds", "[certstore]") {
    const std::string der = "\x30\x03\x02\x01\x01";  // not a certificate, but a property
    CHECK(certstore::blob_properties("").empty());
    CHECK(certstore::blob_properties(prop(0x20, der)).size() == 1);
    CHECK(certstore::blob_certificate(prop(3, std::string(20, 'x')) + prop(0x20, der)) == der);
    // Truncated header, a length past the end, no certificate, two certificates.
    CHECK_THROWS_AS(certstore::blob_properties(prop(0x20, der).substr(0, 11)), audit::UsageError);
    std::string longer = prop(0x20, der);
    longer[8] = 6;
    CHECK_THROWS_AS(certstore::blob_properties(longer), audit::UsageError);
    std::string huge = prop(0x20, der);
    huge[11] = '\x7f';  // 2 GiB claimed by a 17-byte blob
    CHECK_THROWS_AS(certstore::blob_properties(huge), audit::UsageError);
    CHECK_THROWS_AS(certstore::blob_certificate(prop(3, "x")), audit::UsageError);
    CHECK_THROWS_AS(certstore::blob_certificate(prop(0x20, der) + prop(0x20, der)),
                    audit::UsageError);
    // At most kMaxBlobProperties properties.
    std::string many;
    for (std::size_t i = 0; i < certstore::kMaxBlobProperties; ++i) many += prop(1, "");
    CHECK(certstore::blob_properties(many).size() == certstore::kMaxBlobProperties);
    CHECK_THROWS_AS(certstore::blob_properties(many + prop(1, "")), audit::UsageError);
    // The property is there, the certificate inside it is not one.
    CHECK_THROWS_AS(certstore::read_certificate(certstore::blob_certificate(prop(0x20, der))),
                    audit::UsageError);
}

TEST_CASE("certstore: PEM bundles, other blocks and malformed blocks", "[certstore]") {
    const std::string a = slurp(make_root(kKav));
    const std::string b = slurp(make_root(kDecoy));
    const std::string text = "# bundle\n" + a + "-----BEGIN PRIVATE KEY-----\nAAAA\n" +
                             "-----END PRIVATE KEY-----\n" + b +
                             "-----BEGIN CERTIFICATE-----\n!!not base64!!\n"
                             "-----END CERTIFICATE-----\n";
    CHECK(certstore::has_pem_certificate(text));
    CHECK_FALSE(certstore::has_pem_certificate("-----BEGIN PRIVATE KEY-----\n"));
    std::size_t malformed = 0;
    const auto ders = certstore::pem_certificates(text, 10, malformed);
    REQUIRE(ders.size() == 2);
    CHECK(certstore::read_certificate(ders[0]).subject_cn == kKav);
    CHECK(certstore::read_certificate(ders[1]).subject_cn == kDecoy);
    CHECK(malformed == 1);
    malformed = 0;
    CHECK_THROWS_AS(certstore::pem_certificates(a + b + a, 2, malformed), audit::UsageError);
}

TEST_CASE("trust-store source: Linux anchor directories", "[certstore][sources]") {
    TempDir t;
    const auto root = t.path;
    // Debian: a local anchor, update-ca-certificates' link and bundle; Red Hat and Arch anchors.
    stdfs::create_directories(root / "usr/local/share/ca-certificates/kaspersky");
    stdfs::copy_file(make_root(kKav), root / "usr/local/share/ca-certificates/kaspersky/kav.crt");
    write(root / "etc/ssl/certs/ca-certificates.crt",
          slurp(make_root("Example Root CA")) + slurp(make_root(kKav)));
    stdfs::create_symlink("/usr/local/share/ca-certificates/kaspersky/kav.crt",
                          root / "etc/ssl/certs/kav.pem");
    write(root / "etc/ssl/certs/README", "not a certificate\n");
    stdfs::create_directories(root / "etc/pki/ca-trust/source/anchors");
    store_sh("der " + make_root(kKes) + " " +
             (root / "etc/pki/ca-trust/source/anchors/kes.der").string());
    stdfs::create_directories(root / "etc/ca-certificates/trust-source/anchors");
    stdfs::copy_file(make_root(kDecoy), root / "etc/ca-certificates/trust-source/anchors/d.pem");

    std::vector<audit::InventoryItem> items;
    const auto rep =
        audit::sources::TrustStoreSource().collect(audit::fs::Root(root.string()), items);
    INFO(rep.to_json().dump());
    CHECK(rep.status == audit::sources::SourceStatus::ran);
    CHECK(rep.items == items.size());
    // One item per certificate per store directory, listing every file that holds it.
    const auto* local = find_cn(items, kKav, "/usr/local/share/ca-certificates");
    REQUIRE(local);
    CHECK(local->extra["files"] ==
          nlohmann::json::array({"/usr/local/share/ca-certificates/kaspersky/kav.crt"}));
    CHECK(local->name == kKav);
    CHECK(local->extra["sha256"] == openssl_fingerprint(make_root(kKav), "sha256"));
    const auto* etc = find_cn(items, kKav, "/etc/ssl/certs");
    REQUIRE(etc);
    CHECK(etc->extra["files"] == nlohmann::json::array({"/etc/ssl/certs/ca-certificates.crt#2",
                                                        "/etc/ssl/certs/kav.pem"}));
    CHECK(find_cn(items, "Example Root CA", "/etc/ssl/certs"));
    CHECK(find_cn(items, kKes, "/etc/pki/ca-trust/source/anchors"));
    CHECK(find_cn(items, kDecoy, "/etc/ca-certificates/trust-source/anchors"));
    CHECK(items.size() == 5);

    SECTION("a certificate block that cannot be decoded fails the source") {
        write(root / "etc/ssl/certs/bad.pem",
              "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
        items.clear();
        const auto bad =
            audit::sources::TrustStoreSource().collect(audit::fs::Root(root.string()), items);
        CHECK(bad.status == audit::sources::SourceStatus::failed);
        CHECK(bad.error.find("bad.pem") != std::string::npos);
        CHECK(find_cn(items, kKav));  // what was read is still reported
    }
    SECTION("a file over the bound fails the source") {
        write(root / "etc/ssl/certs/huge.pem", std::string((8u << 20) + 1, 'A'));
        items.clear();
        const auto big =
            audit::sources::TrustStoreSource().collect(audit::fs::Root(root.string()), items);
        CHECK(big.status == audit::sources::SourceStatus::failed);
        CHECK(big.error.find("huge.pem") != std::string::npos);
    }
}

TEST_CASE("trust-store source: absent without stores", "[certstore][sources]") {
    TempDir t;
    stdfs::create_directories(t.path / "etc");
    std::vector<audit::InventoryItem> items;
    const auto rep = audit::sources::TrustStoreSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == audit::sources::SourceStatus::absent);
    CHECK(items.empty());
}

TEST_CASE("trust-store source: Windows registry stores written by hivex",
          "[certstore][sources][hivex]") {
    if (!have_hivex()) SKIP("hivexregedit not installed");
    TempDir t;
    const auto root = t.path / "win";
    sh("bash " + fixture("windows-root.sh") + " layout " + root.string() +
       " clean 3f2504e0-4f89-11d3-9a0c-0305e82c3301 >/dev/null");
    const std::string software = (root / "Windows/System32/config/SOFTWARE").string();
    const std::string alice = (root / "Users/alice/NTUSER.DAT").string();
    store_sh("registry " + software + " 'Microsoft\\SystemCertificates\\ROOT' " + make_root(kKav));
    store_sh("registry " + software + " 'Microsoft\\SystemCertificates\\ROOT' " +
             make_root(kDecoy));
    store_sh("registry " + software + " 'Policies\\Microsoft\\SystemCertificates\\Root' " +
             make_root(kKes));
    store_sh("registry " + software + " 'Microsoft\\EnterpriseCertificates\\Root' " +
             make_root(kKes));
    store_sh("registry " + alice + " 'Software\\Microsoft\\SystemCertificates\\Root' " +
             make_root(kKav));

    std::vector<audit::InventoryItem> items;
    const auto rep =
        audit::sources::TrustStoreSource().collect(audit::fs::Root(root.string()), items);
    INFO(rep.to_json().dump());
    CHECK(rep.status == audit::sources::SourceStatus::ran);
    const std::string thumb = trim_nl(store_sh("sha1 " + make_root(kKav)));
    const auto* machine =
        find_cn(items, kKav, "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT");
    REQUIRE(machine);
    CHECK(machine->extra["registry_key"] ==
          "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\" + thumb);
    CHECK(machine->source ==
          "/Windows/System32/config/SOFTWARE:" + machine->extra["registry_key"].get<std::string>());
    CHECK(machine->extra["sha1"] == openssl_fingerprint(make_root(kKav), "sha1"));
    CHECK(find_cn(items, kDecoy, "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT"));
    CHECK(find_cn(items, kKes, "HKLM\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root"));
    CHECK(find_cn(items, kKes, "HKLM\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\Root"));
    const auto* user =
        find_cn(items, kKav, "HKU\\alice\\Software\\Microsoft\\SystemCertificates\\Root");
    REQUIRE(user);
    CHECK(user->extra["registry_key"].get<std::string>().find("HKU\\alice\\") == 0);
    CHECK(items.size() == 5);

    SECTION("a Blob that is not a certificate fails the source") {
        TempDir b;
        write(b.path / "bad.reg",
              "Windows Registry Editor Version 5.00\n\n[\\Microsoft]\n\n"
              "[\\Microsoft\\SystemCertificates]\n\n[\\Microsoft\\SystemCertificates\\CA]\n\n"
              "[\\Microsoft\\SystemCertificates\\CA\\Certificates]\n\n"
              "[\\Microsoft\\SystemCertificates\\CA\\Certificates\\00]\n"
              "\"Blob\"=hex:20,00,00,00,01,00,00,00,40,00,00,00,30\n");
        sh("hivexregedit --merge " + software + " " + (b.path / "bad.reg").string());
        items.clear();
        const auto bad =
            audit::sources::TrustStoreSource().collect(audit::fs::Root(root.string()), items);
        CHECK(bad.status == audit::sources::SourceStatus::failed);
        CHECK(bad.error.find("CA\\Certificates\\00") != std::string::npos);
        CHECK(find_cn(items, kKav));
    }
}

TEST_CASE("certificate rules: exact subjects, globs, residue", "[certstore][match]") {
    auto item = [](const std::string& cn, const std::string& org) {
        audit::InventoryItem i;
        i.ecosystem = "certificate";
        i.name = cn;
        i.state = "installed";
        i.source = "/etc/ssl/certs/" + cn;
        i.extra["subject_cn"] = cn;
        i.extra["subject"] = "C=RU, O=" + org + ", CN=" + cn;
        i.extra["store"] = "/etc/ssl/certs";
        i.extra["sha256"] = "ab";
        i.extra["files"] = nlohmann::json::array({i.source});
        return i;
    };
    const std::vector<audit::InventoryItem> inventory = {
        item(kKav, "AO Kaspersky Lab"), item(kDecoy, "Kaspersky Lab Fan Club"),
        item("kaspersky web anti-virus certification authority", "AO Kaspersky Lab")};
    const auto m = audit::manifest::parse_manifest(
        "schema = 1\nid = \"k\"\nname = \"K\"\nvendor = \"V\"\nversion = \"1\"\n"
        "[[rule]]\nid = \"roots\"\nkind = \"certificate\"\nconfidence = \"strong\"\n"
        "residue = true\nsubjects = [\"" +
            kKav +
            "\", \"Kaspersky Web Anti-Virus Certification Authority\"]\n"
            "[[rule]]\nid = \"org\"\nkind = \"certificate\"\nconfidence = \"weak\"\n"
            "subjects = [\"*O=AO Kaspersky Lab,*\"]\n",
        "k.toml");
    REQUIRE(m.rules[0].kind == audit::manifest::RuleKind::certificate);
    const auto findings = audit::match::match({m}, inventory, {});
    REQUIRE(findings.size() == 2);
    const auto& roots = findings[0].rule == "roots" ? findings[0] : findings[1];
    const auto& org = findings[0].rule == "roots" ? findings[1] : findings[0];
    CHECK(roots.residue);
    CHECK_FALSE(roots.proves_presence());
    std::set<std::string> names;
    for (const auto& r : roots.records) names.insert(r["inventory"]["name"].get<std::string>());
    // Exact (no case) on the CN: the decoy whose CN merely starts alike is not matched.
    CHECK(names == std::set<std::string>{kKav, "kaspersky web anti-virus certification authority"});
    CHECK(roots.records[0]["inventory"]["certificate"]["store"] == "/etc/ssl/certs");
    CHECK(roots.records[0]["inventory"]["certificate"]["files"].size() == 1);
    // The whole subject is matched too (here a glob over it), never the decoy's organisation.
    CHECK_FALSE(org.residue);
    CHECK(org.records.size() == 2);

    // A certificate rule takes `subjects`, nothing else.
    CHECK_THROWS_WITH(audit::manifest::parse_manifest(
                          "schema = 1\nid = \"k\"\nname = \"K\"\nvendor = \"V\"\nversion = \"1\"\n"
                          "[[rule]]\nid = \"r\"\nkind = \"certificate\"\nconfidence = \"weak\"\n"
                          "names = [\"x\"]\n",
                          "k.toml"),
                      Catch::Matchers::ContainsSubstring("use 'subjects'"));
}

// Issue 18: the white-label technology manifest is part of the default set, so that a scan with
// `--manifests manifests` (the demo, a kit built from this directory) never misses a product the
// BIS determination covers; it reports under its own product id, never as "kaspersky".
TEST_CASE("the default manifest set loads the technology manifest beside kaspersky.toml",
          "[manifest]") {
    const auto all = audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) + "/manifests");
    std::set<std::string> ids;
    for (const auto& m : all) ids.insert(m.id);
    CHECK(ids == std::set<std::string>{"kaspersky", "kaspersky-technology"});
    for (const auto& m : all) {
        if (m.id != "kaspersky-technology") continue;
        for (const auto& r : m.rules) {
            INFO(r.id);
            CHECK(r.family == "oem-technology");
            CHECK(r.owner);  // every record names the product that owns it
        }
    }
}

}  // namespace trust_store_test_cases
