#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "audit/error.h"
#include "audit/formats/pe.h"
#include "audit/fs/root.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/pe_files.h"
#include "support.h"

namespace pe_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::pe::parse_pe;
using audit::pe::PeFile;

using audit_test::TempDir;

using audit_test::slurp;

void spit(const stdfs::path& p, const std::string& bytes) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

// Output of a command; rc receives its exit status.
std::string sh(const std::string& cmd, int* rc = nullptr) {
    FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    const int status = ::pclose(f);
    if (rc) {
        *rc = status;
    } else {
        INFO(cmd << "\n" << out);
        REQUIRE(status == 0);
    }
    return out;
}

std::string fixture() {
    return std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/pe-file.sh";
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// Every occurrence of from replaced by to (std::regex trips GCC 12 warnings under sanitizers).
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
        s.replace(p, from.size(), to);
    return s;
}

// "C=RU, O=X, CN=Y" -> "/C=RU/O=X/CN=Y", osslsigncode's form.
std::string slashed(const std::string& dn) {
    return "/" + replace_all(dn, ", ", "/");
}

// For each line starting with label (after indentation): the rest, without the separator
// (":" or "=" and spaces) and trailing spaces.
std::vector<std::string> after(const std::string& text, const std::string& label) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const std::size_t b = line.find_first_not_of(" \t");
        if (b == std::string::npos || line.compare(b, label.size(), label) != 0) continue;
        std::string v = line.substr(b + label.size());
        v.erase(0, v.find_first_not_of(" :="));
        while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
        out.push_back(v);
    }
    return out;
}

// The first value of a label in osslsigncode verify's output ("Subject: ...").
std::string field(const std::string& text, const std::string& label) {
    const auto all = after(text, label);
    if (all.empty()) return "";
    std::string v = all.front();
    // Digests are followed by " MISMATCH!!!" when they differ; names keep their spaces.
    if (label.find("digest") != std::string::npos) v = v.substr(0, v.find(' '));
    return v;
}

// Built once per test run: unsigned and signed fixtures with a vendor-like and a neutral signer.
struct Fixtures {
    TempDir dir;
    stdfs::path plain, signed256, signed1, other;
    Fixtures() {
        REQUIRE(std::system("command -v x86_64-w64-mingw32-gcc >/dev/null && command -v "
                            "osslsigncode >/dev/null") == 0);
        const auto d = dir.path.string();
        sh("bash " + fixture() + " ca " + d +
           "/ca '/C=RU/L=Moscow/O=AO Kaspersky Lab/CN=AO Kaspersky Lab'");
        sh("bash " + fixture() + " ca " + d +
           "/ca2 '/C=US/O=Example Software Inc/CN=Example Software Inc'");
        sh("bash " + fixture() + " build " + d + "/avp.exe 'AO Kaspersky Lab' " +
           "'Kaspersky Endpoint Security for Windows' 'Kaspersky Anti-Virus' avp.exe 21,3,10,391");
        sh("bash " + fixture() + " build " + d +
           "/tool.exe 'Example Software Inc' 'Example Tool' " +
           "'An example tool' tool.exe 1,2,3,4");
        sh("bash " + fixture() + " sign " + d + "/avp.exe " + d + "/avp-signed.exe " + d + "/ca");
        sh("bash " + fixture() + " sign " + d + "/avp.exe " + d + "/avp-sha1.exe " + d +
           "/ca sha1");
        sh("bash " + fixture() + " sign " + d + "/tool.exe " + d + "/tool-signed.exe " + d +
           "/ca2");
        plain = dir.path / "avp.exe";
        signed256 = dir.path / "avp-signed.exe";
        signed1 = dir.path / "avp-sha1.exe";
        other = dir.path / "tool-signed.exe";
    }
};

Fixtures& fixtures() {
    static Fixtures f;
    return f;
}

}  // namespace

TEST_CASE("pe: version resource made by windres") {
    const PeFile pe = parse_pe(slurp(fixtures().plain), "avp.exe");
    CHECK(pe.pe32_plus);
    CHECK(pe.machine == 0x8664);
    REQUIRE(pe.version.present);
    CHECK(pe.version.file_version == "21.3.10.391");
    CHECK(pe.version.product_version == "21.3.10.391");
    CHECK(pe.version.language == "040904b0");
    CHECK(pe.version.get("CompanyName") == "AO Kaspersky Lab");
    CHECK(pe.version.get("ProductName") == "Kaspersky Endpoint Security for Windows");
    CHECK(pe.version.get("FileDescription") == "Kaspersky Anti-Virus");
    CHECK(pe.version.get("OriginalFilename") == "avp.exe");
    CHECK(pe.version.get("FileVersion") == "21.3.10.391");
    CHECK_FALSE(pe.signature.present);
    CHECK(pe.warnings.empty());
}

TEST_CASE("pe: Authenticode signature agrees with osslsigncode and openssl") {
    const auto ca = (fixtures().dir.path / "ca/ca.pem").string();
    const auto ca2 = (fixtures().dir.path / "ca2/ca.pem").string();
    for (const auto& [file, algo, cafile] :
         {std::tuple{fixtures().signed256, std::string("sha256"), ca},
          std::tuple{fixtures().signed1, std::string("sha1"), ca},
          std::tuple{fixtures().other, std::string("sha256"), ca2}}) {
        INFO(file.string());
        const PeFile pe = parse_pe(slurp(file), file.string());
        const auto& sig = pe.signature;
        REQUIRE(sig.present);
        CHECK(sig.error.empty());
        CHECK(sig.digest_algorithm == algo);
        CHECK(sig.digest_matches);
        CHECK(sig.content_bound);
        CHECK(sig.signature_check == "verified");
        CHECK(pe.version.present);  // signing keeps the resource readable

        const std::string v =
            sh("osslsigncode verify -CAfile '" + cafile + "' -in '" + file.string() + "'");
        CHECK(upper(sig.file_digest) == field(v, "Calculated message digest"));
        CHECK(upper(sig.signed_digest) == field(v, "Current message digest"));
        CHECK(slashed(sig.subject) == field(v, "Subject"));
        CHECK(slashed(sig.issuer) == field(v, "Issuer "));
        CHECK(upper(sig.serial) == field(v, "Serial "));

        // Every certificate openssl finds in the extracted PKCS#7, in the same order.
        const std::string der = file.string() + ".p7";
        sh("osslsigncode extract-signature -in '" + file.string() + "' -out '" + der + "'");
        const std::string certs =
            sh("openssl pkcs7 -inform DER -in '" + der + "' -print_certs -noout");
        // OpenSSL's default form: "subject=C = RU, O = X, CN = Y", RDNs in encoded order.
        std::vector<std::string> subjects;
        for (const auto& line : after(certs, "subject="))
            subjects.push_back(replace_all(line, " = ", "="));
        REQUIRE(subjects.size() == 2);  // the signer and its CA
        const std::vector<std::string> ours = sig.certificates;
        CHECK(ours == subjects);
    }
    const PeFile vendor = parse_pe(slurp(fixtures().signed256), "avp");
    CHECK(vendor.signature.subject == "C=RU, L=Moscow, O=AO Kaspersky Lab, CN=AO Kaspersky Lab");
    CHECK(vendor.signature.subject_cn == "AO Kaspersky Lab");
}

TEST_CASE("pe: a tampered file no longer matches its signed digest") {
    TempDir tmp;
    std::string bytes = slurp(fixtures().signed256);
    const PeFile good = parse_pe(bytes, "good");
    // A byte in the code, far from headers and the certificate table.
    bytes[0x600] = static_cast<char>(bytes[0x600] ^ 0x5a);
    spit(tmp.path / "tampered.exe", bytes);
    const PeFile bad = parse_pe(bytes, "tampered");
    CHECK(bad.signature.present);
    CHECK_FALSE(bad.signature.digest_matches);
    CHECK(bad.signature.signed_digest == good.signature.signed_digest);
    CHECK(bad.signature.file_digest != good.signature.file_digest);
    CHECK(bad.signature.signature_check == "verified");  // the signature itself is intact
    int rc = 0;
    const std::string v =
        sh("osslsigncode verify -CAfile '" + (fixtures().dir.path / "ca/ca.pem").string() +
               "' -in '" + (tmp.path / "tampered.exe").string() + "'",
           &rc);
    CHECK(rc != 0);
    CHECK(upper(bad.signature.file_digest) == field(v, "Calculated message digest"));

    // The checksum field is not covered: changing it keeps the digest.
    std::string sum = slurp(fixtures().signed256);
    const std::uint32_t lfanew =
        static_cast<unsigned char>(sum[0x3c]) | (static_cast<unsigned char>(sum[0x3d]) << 8);
    sum[lfanew + 24 + 64] = static_cast<char>(sum[lfanew + 24 + 64] ^ 0xff);
    CHECK(parse_pe(sum, "checksum").signature.digest_matches);
}

TEST_CASE("pe: a forged signature value fails verification") {
    TempDir tmp;
    const std::string der = (tmp.path / "sig.p7").string();
    sh("osslsigncode extract-signature -in '" + fixtures().signed256.string() + "' -out '" + der +
       "'");
    std::string p7 = slurp(der);
    const std::string bytes = slurp(fixtures().signed256);
    const PeFile pe = parse_pe(bytes, "signed");
    // The file digest the signature expects, as the PE parser would supply it.
    std::string digest;
    for (std::size_t i = 0; i < pe.signature.file_digest.size(); i += 2)
        digest.push_back(
            static_cast<char>(std::stoi(pe.signature.file_digest.substr(i, 2), nullptr, 16)));
    auto fn = [&](const std::string&) { return digest; };
    audit::pe::Signature ok;
    audit::pe::parse_authenticode(p7, ok, fn);
    CHECK(ok.signature_check == "verified");
    CHECK(ok.digest_matches);
    // The RSA signature is the last OCTET STRING: its last byte is the DER's last byte.
    p7.back() = static_cast<char>(p7.back() ^ 1);
    audit::pe::Signature forged;
    audit::pe::parse_authenticode(p7, forged, fn);
    CHECK(forged.signature_check == "failed");
    CHECK(forged.digest_matches);
    // Truncated DER is refused.
    audit::pe::Signature cut;
    CHECK_THROWS_AS(audit::pe::parse_authenticode(p7.substr(0, p7.size() / 2), cut, fn),
                    audit::UsageError);
}

TEST_CASE("pe: truncated and corrupted files are refused or reported, never crash") {
    const std::string good = slurp(fixtures().signed256);
    for (std::size_t n = 0; n < good.size(); n += n < 1024 ? 1 : 61) {
        try {
            const PeFile pe = parse_pe(good.substr(0, n), "cut");
            // Headers survived the cut: the signature cannot be whole.
            CHECK((!pe.signature.present || !pe.signature.error.empty() ||
                   !pe.signature.digest_matches));
        } catch (const audit::UsageError&) {
        }
    }
    std::mt19937 rng(99);
    for (int i = 0; i < 3000; ++i) {
        std::string bad = good;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < flips; ++k) {
            // Mostly the headers, resource and certificate table, where the structure is.
            const std::size_t at = rng() % 2 ? rng() % 0x400 : good.size() - 1 - rng() % 1800;
            bad[at] = static_cast<char>(rng());
        }
        try {
            (void)parse_pe(bad, "fuzz");
        } catch (const audit::UsageError&) {
        }
    }
    CHECK_THROWS_AS(parse_pe("MZ", "short"), audit::UsageError);
    CHECK_THROWS_AS(parse_pe(std::string("MZ") + std::string(62, '\0'), "no PE"),
                    audit::UsageError);
    std::string huge_lfanew = good;
    huge_lfanew[0x3c] = huge_lfanew[0x3d] = huge_lfanew[0x3e] = huge_lfanew[0x3f] = '\x7f';
    CHECK_THROWS_AS(parse_pe(huge_lfanew, "lfanew"), audit::UsageError);
}

TEST_CASE(
    "pe-files source: a renamed vendor binary on a Windows root is found by signer and version") {
    TempDir tmp;
    const stdfs::path r = tmp.path / "win";
    stdfs::create_directories(r / "Windows/System32/config");
    stdfs::create_directories(r / "Windows/System32/drivers");
    spit(r / "Program Files/Renamed/notes.dat", slurp(fixtures().signed256));
    spit(r / "Program Files (x86)/Example/tool.exe", slurp(fixtures().other));
    spit(r / "ProgramData/junk.bin",
         "MZ this is not a PE file at all, just bytes that start with MZ....");
    spit(r / "Windows/System32/drivers/readme.txt", "text");
    audit::fs::Root root(r.string());
    REQUIRE(audit::sources::is_windows_root(root));
    CHECK(audit::sources::find_case_insensitive(root, "program files/RENAMED") ==
          "/Program Files/Renamed");

    std::vector<audit::InventoryItem> items;
    const auto rep = audit::sources::PeFileSource().collect(root, items);
    CHECK(rep.status == audit::sources::SourceStatus::ran);
    REQUIRE(items.size() == 2);
    const auto& avp = items[0].name == "notes.dat" ? items[0] : items[1];
    CHECK(avp.ecosystem == "pe");
    CHECK(avp.publisher == "AO Kaspersky Lab");
    CHECK(avp.version == "21.3.10.391");
    CHECK(avp.extra["original_filename"] == "avp.exe");
    CHECK(avp.extra["signature"]["subject_cn"] == "AO Kaspersky Lab");
    CHECK(avp.extra["signature"]["digest_matches"] == true);

    const auto manifests =
        audit::manifest::load_manifests(std::string(AUDIT_SOURCE_DIR) + "/manifests");
    const auto findings = audit::match::match(manifests, items, {});
    std::set<std::string> rules;
    for (const auto& f : findings) {
        rules.insert(f.rule);
        for (const auto& rec : f.records) CHECK(rec["inventory"]["name"] == "notes.dat");
    }
    CHECK(rules.count("pe-signer"));
    CHECK(rules.count("pe-version"));

    // Not a Windows root: absent, not "ran with nothing".
    items.clear();
    audit::fs::Root plain(tmp.path.string());
    CHECK(audit::sources::PeFileSource().collect(plain, items).status ==
          audit::sources::SourceStatus::absent);
}

TEST_CASE("manifest: pe_signer and pe_version rules") {
    const std::string head =
        "schema = 1\nid = \"p\"\nname = \"P\"\nvendor = \"V\"\nversion = \"1\"\n";
    const auto m = audit::manifest::parse_manifest(
        head +
            "[[rule]]\nid = \"v\"\nkind = \"pe_version\"\nconfidence = \"strong\"\n"
            "companies = [\"Acme*\"]\nproducts = [\"Rocket\"]\n"
            "[[rule]]\nid = \"s\"\nkind = \"pe_signer\"\nconfidence = \"weak\"\nsigners = "
            "[\"*Acme*\"]\n",
        "m.toml");
    REQUIRE(m.rules.size() == 2);
    CHECK(m.rules[0].patterns == std::vector<std::string>{"Acme*"});
    CHECK(m.rules[0].products == std::vector<std::string>{"Rocket"});
    CHECK_THROWS_WITH(audit::manifest::parse_manifest(
                          head + "[[rule]]\nid = \"s\"\nkind = \"pe_signer\"\nconfidence = "
                                 "\"weak\"\nnames = [\"x\"]\n",
                          "m.toml"),
                      Catch::Matchers::ContainsSubstring("does not belong"));

    int n = 0;
    auto item = [&n](std::string company, std::string product, std::string subject) {
        audit::InventoryItem i;
        i.ecosystem = "pe";
        i.name = "x" + std::to_string(++n) + ".exe";
        i.state = "installed";
        i.extra = {{"company_name", company},
                   {"product_name", product},
                   {"signature",
                    {{"present", !subject.empty()}, {"subject", subject}, {"subject_cn", ""}}}};
        return i;
    };
    const std::vector<audit::InventoryItem> inv = {
        item("Acme Corp", "", ""), item("Other", "Rocket", ""),
        item("Other", "Rocket Two", "CN=Nobody"), item("", "", "C=US, O=Acme, CN=Acme Signing")};
    const auto findings = audit::match::match({m}, inv, {});
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].rule == "s");
    CHECK(findings[0].records.size() == 1);
    CHECK(findings[1].rule == "v");
    CHECK(findings[1].records.size() == 2);
}

}  // namespace pe_test_cases
