#include <catch_amalgamated.hpp>

#include "audit/attest/report.h"
#include "audit/error.h"

namespace report_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::attest::csv_field;
using audit::attest::html_escape;
using nlohmann::json;

namespace {

json report_with(const std::string& hostname, const std::string& reason) {
    json r = {{"host", "machine-id:" + hostname},
              {"hostname", hostname},
              {"product", "kaspersky"},
              {"status", "inconclusive"},
              {"reasons", json::array({reason})},
              {"residue", json::array()},
              {"first_scan", "2026-01-10T00:00:00Z"},
              {"latest_scan", "2026-02-20T00:00:00Z"},
              {"attestation", "attestations/x.dsse.json"}};
    json clean = r;
    clean["hostname"] = "clean-host";
    clean["status"] = "removed";
    clean["reasons"] = json::array();
    return {
        {"generated", "2026-03-01T00:00:00Z"},
        {"campaign_start", "2026-01-05"},
        {"hosts", 2},
        {"counts", {{"removed", 1}, {"absent", 0}, {"present", 0}, {"inconclusive", 1}}},
        {"products",
         json::array(
             {{{"product", "kaspersky"},
               {"name", "Kaspersky <b>"},
               {"counts", {{"removed", 1}, {"absent", 0}, {"present", 0}, {"inconclusive", 1}}}}})},
        {"results", json::array({r, clean})},
        {"rejected", json::array({{{"file", "<img src=x onerror=alert(1)>"}, {"reason", "bad"}}})},
        {"conflicts", json::array()}};
}

}  // namespace

TEST_CASE("html_escape leaves no markup from evidence", "[report]") {
    CHECK(html_escape("<a href=\"x\">O'Neil & co</a>") ==
          "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
    CHECK(html_escape(std::string("a\x01z", 3)) == "a&#xFFFD;z");
    // The page is UTF-8: other bytes show U+FFFD, as in report.json; UTF-8 passes unchanged.
    CHECK(html_escape("caf\xe9 <\xff>") == "caf\xef\xbf\xbd &lt;\xef\xbf\xbd&gt;");
    CHECK(html_escape("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
}

TEST_CASE("csv fields are quoted and spreadsheet formulas defused", "[report]") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0");
    CHECK(csv_field("-1+1") == "'-1+1");
}

TEST_CASE("the HTML page carries hostile strings as text only", "[report]") {
    auto html = audit::attest::render_html(
        report_with("<script>alert(1)</script>", "identity_conflict: <iframe src=//x>"));
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<iframe") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("Kaspersky &lt;b&gt;") != std::string::npos);
    // Offline: nothing is fetched from anywhere.
    CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("default-src 'none'") != std::string::npos);
    CHECK(html.find("id=\"count-inconclusive\"><b>1</b>") != std::string::npos);
}

TEST_CASE("the CSV has one row per result with its reasons", "[report]") {
    auto csv = audit::attest::render_csv(report_with("=evil", "coverage_gap: a, b"));
    CHECK(csv.find("'=evil") != std::string::npos);
    CHECK(csv.find("\"coverage_gap: a, b\"") != std::string::npos);
    std::size_t lines = 0;
    for (char c : csv) lines += c == '\n';
    CHECK(lines == 3);
}

TEST_CASE("days between dates, and malformed dates refused", "[report]") {
    CHECK(audit::attest::days_between("2026-01-05", "2026-04-05T12:00:00Z") == 90);
    CHECK(audit::attest::days_between("2024-02-28", "2024-03-01") == 2);  // leap year
    CHECK(audit::attest::days_between("1970-01-01", "1970-01-01") == 0);
    CHECK_THROWS_AS(audit::attest::days_between("2026-13-01", "2026-01-01"), audit::UsageError);
    CHECK_THROWS_AS(audit::attest::days_between("yesterday", "2026-01-01"), audit::UsageError);
}

TEST_CASE("the CSV and the page carry each result's reason codes", "[report]") {
    json report = report_with("host-a", "chain_unclosed: kit k has no verified head");
    report["results"][0]["reasons"].push_back("manifest_unsigned: kaspersky");
    report["reason_codes"] = {{"chain_unclosed", 1}, {"manifest_unsigned", 1}};
    report["not_verified"] = json::array(
        {{{"kind", "bundle"}, {"file", "<b>x</b>.evidence.tar.zst"}, {"reason", "revoked"}}});
    auto csv = audit::attest::render_csv(report);
    CHECK(csv.rfind("host,hostname,product,status,reason_codes,reasons,", 0) == 0);
    CHECK(csv.find(",inconclusive,chain_unclosed manifest_unsigned,") != std::string::npos);
    CHECK(csv.find(",removed,,") != std::string::npos);  // no reasons, no codes
    auto html = audit::attest::render_html(report);
    CHECK(html.find("<code>chain_unclosed</code> <code>manifest_unsigned</code>") !=
          std::string::npos);
    CHECK(html.find("id=\"reason-code-table\"") != std::string::npos);
    CHECK(html.find("data-code=\"manifest_unsigned\"") != std::string::npos);
    CHECK(html.find("id=\"not-verified-table\"") != std::string::npos);
    CHECK(html.find("&lt;b&gt;x&lt;/b&gt;.evidence.tar.zst") != std::string::npos);
    // Given as reason_codes, those are used as they are.
    report["results"][0]["reason_codes"] = json::array({"identity_changed"});
    CHECK(audit::attest::render_csv(report).find(",inconclusive,identity_changed,") !=
          std::string::npos);
}

TEST_CASE("findings are shown as text on the page and in the CSV", "[report]") {
    json report = report_with("host-f", "coverage_gap: x");
    report["results"][0]["status"] = "present";
    report["results"][0]["findings"] =
        json::array({{{"rule", "opt-kaspersky"},
                      {"confidence", "strong"},
                      {"family", "<i>fam</i>"},
                      {"items", json::array({{{"name", "kesl"},
                                              {"version", "12.1.0.1297"},
                                              {"path", "/opt/<script>x</script>/kesl"}}})}}});
    auto html = audit::attest::render_html(report);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("kesl 12.1.0.1297") != std::string::npos);
    CHECK(html.find("/opt/&lt;script&gt;x&lt;/script&gt;/kesl") != std::string::npos);
    auto csv = audit::attest::render_csv(report);
    CHECK(csv.find(",kesl 12.1.0.1297,12.1.0.1297,/opt/<script>x</script>/kesl,") !=
          std::string::npos);
}

TEST_CASE("marks, as-of dates and report-diff", "[report]") {
    CHECK(audit::attest::parse_mark("90:begin-removal:begin removal").day == 90);
    CHECK(audit::attest::parse_mark("60:plan").label == "plan");
    CHECK_THROWS_AS(audit::attest::parse_mark("sixty:plan"), audit::UsageError);
    CHECK_THROWS_AS(audit::attest::parse_mark("60:party"), audit::UsageError);
    CHECK(audit::attest::end_of_day("2026-02-28") == "2026-02-28T23:59:59Z");
    CHECK_THROWS_AS(audit::attest::end_of_day("2026-02-30x"), audit::UsageError);
    json a = report_with("h", "coverage_gap: x");
    a["results"][1]["host"] = "machine-id:clean-host";
    json b = a;
    b["results"][0]["status"] = "removed";
    b["results"][0]["removed_at"] = "2026-02-14T10:00:00Z";
    json d = audit::attest::report_diff(a, b);
    REQUIRE(d["changed"].size() == 1);
    CHECK(d["changed"][0]["from"]["status"] == "inconclusive");
    CHECK(d["changed"][0]["to"]["removed_at"] == "2026-02-14T10:00:00Z");
    CHECK(audit::attest::report_diff(a, a)["changed"].empty());
}

}  // namespace report_test_cases
