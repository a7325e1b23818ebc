#include <catch_amalgamated.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include "audit/attest/far.h"
#include "audit/attest/plan.h"
#include "audit/error.h"
#include "support.h"

namespace far_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::attest::civil_date;
using audit::attest::day_of;
using audit::attest::federal_holidays;
using audit::attest::Holidays;

// OPM's published tables (https://www.opm.gov/policy-data-oversight/pay-leave/federal-holidays/),
// typed in from OPM, not generated: the dates observed for pay and leave purposes.
TEST_CASE("federal holidays of 2025 and 2026 are OPM's", "[far]") {
    // 2025: Inauguration Day (Mon Jan 20, DC area only) falls on MLK Day; not listed separately.
    const std::vector<std::string> opm_2025 = {
        "2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04",
        "2025-09-01", "2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"};
    // 2026: Independence Day (Sat Jul 4) is observed Fri Jul 3.
    const std::vector<std::string> opm_2026 = {
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
        "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"};
    CHECK(federal_holidays(2025) == opm_2025);
    CHECK(federal_holidays(2026) == opm_2026);
    CHECK(Holidays::federal().in_year(2025) == opm_2025);
    CHECK(Holidays::federal().in_year(2026) == opm_2026);
}

TEST_CASE("observed days: Saturday -> Friday before, Sunday -> Monday after", "[far]") {
    // 2021: Juneteenth Sat Jun 19 -> Fri Jun 18; Independence Day Sun Jul 4 -> Mon Jul 5;
    // Christmas Sat Dec 25 -> Fri Dec 24; New Year's Day 2022 (Sat) -> Fri Dec 31, 2021.
    auto y2021 = federal_holidays(2021);
    for (const char* d : {"2021-06-18", "2021-07-05", "2021-12-24", "2021-12-31"})
        CHECK(std::find(y2021.begin(), y2021.end(), d) != y2021.end());
    CHECK(std::find(y2021.begin(), y2021.end(), "2021-06-19") == y2021.end());
    // ... and 2022 then has no January 1 holiday; 2027: Jul 4 Sun -> Mon Jul 5, Dec 25 Sat ->
    // Fri Dec 24, New Year's Day 2028 (Sat) -> Fri Dec 31, 2027.
    auto y2022 = federal_holidays(2022);
    CHECK(y2022.front() == "2022-01-17");
    auto y2027 = federal_holidays(2027);
    for (const char* d : {"2027-06-18", "2027-07-05", "2027-12-24", "2027-12-31"})
        CHECK(std::find(y2027.begin(), y2027.end(), d) != y2027.end());
    // Inauguration Day 2029 (Sat Jan 20) is not a holiday here: DC-area employees only.
    auto y2029 = federal_holidays(2029);
    CHECK(std::find(y2029.begin(), y2029.end(), "2029-01-20") == y2029.end());
}

TEST_CASE("business days skip weekends and holidays", "[far]") {
    const Holidays h = Holidays::federal();
    // Identified Wed 2025-12-24: Thu 25 is Christmas -> Fri 26, Mon 29, Tue 30.
    CHECK(civil_date(h.add_business_days(day_of("2025-12-24T15:00:00Z"), 3)) == "2025-12-30");
    // Identified Thu 2026-07-02: Fri Jul 3 observed -> Mon 6, Tue 7, Wed 8.
    CHECK(civil_date(h.add_business_days(day_of("2026-07-02"), 3)) == "2026-07-08");
    // Identified on a Saturday: counting starts Monday.
    CHECK(civil_date(h.add_business_days(day_of("2026-11-28"), 3)) == "2026-12-02");
    // Ten business days from Fri 2026-11-20 over Thanksgiving (Thu 26): Dec 7.
    CHECK(civil_date(h.add_business_days(day_of("2026-11-20"), 10)) == "2026-12-07");
}

TEST_CASE("a holiday file replaces the built-in list", "[far]") {
    audit_test::TempDir dir;
    const std::string path = dir.str() + "/holidays.txt";
    std::ofstream(path) << "# agency list\n2026-12-01  # a local closure\n\n2026-12-02\n";
    Holidays h = Holidays::load(path);
    CHECK(h.contains(day_of("2026-12-01")));
    CHECK_FALSE(h.contains(day_of("2026-12-25")));  // replaced, not added to
    CHECK(civil_date(h.add_business_days(day_of("2026-11-30"), 1)) == "2026-12-03");
    std::ofstream(path) << "2026-13-01\n";
    CHECK_THROWS_AS(Holidays::load(path), audit::UsageError);
    std::ofstream(path) << "tomorrow\n";
    CHECK_THROWS_AS(Holidays::load(path), audit::UsageError);
}

TEST_CASE("a holiday file over 1 MiB is refused, never read in part", "[far]") {
    audit_test::TempDir dir;
    const std::string path = dir.str() + "/holidays.txt";
    std::string lines;
    while (lines.size() <= (1u << 20)) lines += "2026-12-01\n";
    std::ofstream(path) << lines;
    CHECK_THROWS_WITH(Holidays::load(path), path + ": holiday list larger than 1 MiB");
    lines.resize(1u << 20);  // whole lines up to the limit, exactly
    lines.resize(lines.rfind('\n') + 1);
    std::ofstream(path) << lines;
    CHECK(Holidays::load(path).contains(day_of("2026-12-01")));
}

TEST_CASE("articles: signer as supplier, identified by the earliest bundle, import bounds it",
          "[far]") {
    using audit::attest::BundleSummary;
    using audit::attest::HostProductStatus;
    using nlohmann::json;
    auto pe_finding = [](const std::string& version) {
        return json::array(
            {{{"product", "kaspersky"},
              {"rule", "pe-signer"},
              {"family", "endpoint-windows"},
              {"confidence", "strong"},
              {"residue", false},
              {"records", json::array({{{"inventory",
                                         {{"ecosystem", "pe"},
                                          {"name", "avp.exe"},
                                          {"version", version},
                                          {"source", "/Program Files/avp.exe"},
                                          {"signature", {{"subject", "CN=AO Kaspersky Lab"}}}}}},
                                       {{"file", {{"path", "/Program Files/avp.exe"}}}}})}}});
    };
    BundleSummary a, b;
    a.bundle_id = "a";
    a.statement_sha256 = "aa";
    a.finished = "2026-07-06T10:00:00Z";  // the host clock is ahead of the import
    a.imported_at = "2026-07-01T09:00:00Z";
    a.findings = pe_finding("21.3");
    b.bundle_id = "b";
    b.statement_sha256 = "bb";
    b.finished = "2026-08-03T10:00:00Z";
    b.imported_at = "2026-08-04T09:00:00Z";
    b.findings = pe_finding("21.4");
    HostProductStatus st;
    st.host_key = "machine-id:1";
    st.hostname = "ws";
    st.product = "kaspersky";
    st.product_name = "Kaspersky";
    st.status = audit::attest::Status::present;
    audit::attest::Articles articles;
    articles.collect({&b, &a}, {st});
    REQUIRE(articles.list().size() == 1);
    const auto& art = articles.list()[0];
    CHECK(art.publisher == "CN=AO Kaspersky Lab");
    CHECK(art.version == "21.4");  // the latest bundle's
    CHECK(art.family == "endpoint-windows");
    CHECK(art.first.bundle_id == "a");
    CHECK(art.last.bundle_id == "b");
    audit::attest::FarOptions options;
    options.generated = "2026-08-05T00:00:00Z";
    const json far = audit::attest::far_draft(articles, options);
    REQUIRE(far["records"].size() == 1);
    const json& r = far["records"][0];
    CHECK(r["identification_date"] == "2026-07-01");  // the import, not the later host clock
    CHECK(r["identification_basis"] == "import");
    CHECK(r["report_due"] == "2026-07-07");  // Jul 3 (observed Independence Day) is skipped
    CHECK(r["supplier_name"] == "CN=AO Kaspersky Lab");
    CHECK(r["report_overdue"] == true);
    CHECK(audit::attest::removal_plan(articles).size() == 1);
    // As of a day before the second bundle, only the first counts.
    audit::attest::Articles before;
    before.as_of = "2026-07-31T23:59:59Z";
    before.collect({&b, &a}, {st});
    REQUIRE(before.list().size() == 1);
    CHECK(before.list()[0].version == "21.3");
}

TEST_CASE("articles: Mac apps, installer receipts and PyPI packages are articles; extensions not",
          "[far]") {
    using nlohmann::json;
    auto finding = [](const std::string& rule, const std::string& ecosystem,
                      const std::string& name) {
        return json{{"product", "kaspersky"},
                    {"rule", rule},
                    {"family", "endpoint-mac"},
                    {"confidence", "strong"},
                    {"residue", false},
                    {"records", json::array({{{"inventory",
                                               {{"ecosystem", ecosystem},
                                                {"name", name},
                                                {"version", "12.1"},
                                                {"source", "/x"}}}}})}};
    };
    audit::attest::BundleSummary b;
    b.bundle_id = "b";
    b.statement_sha256 = "bb";
    b.finished = "2026-08-03T10:00:00Z";
    b.imported_at = "2026-08-04T09:00:00Z";
    b.findings = json::array({finding("macos-bundles", "macos-app", "com.kaspersky.kav"),
                              finding("macos-receipts", "macos-pkg", "com.kaspersky.kav.core"),
                              finding("pypi-lead", "pypi", "kaspersky-sdk"),
                              finding("macos-extensions", "macos-ext", "com.kaspersky.kext.klif")});
    audit::attest::HostProductStatus st;
    st.host_key = "machine-id:2";
    st.hostname = "mac";
    st.product = "kaspersky";
    st.product_name = "Kaspersky";
    st.status = audit::attest::Status::present;
    audit::attest::Articles articles;
    articles.collect({&b}, {st});
    std::set<std::string> names;
    for (const auto& a : articles.list()) names.insert(a.name);
    CHECK(names ==
          std::set<std::string>{"com.kaspersky.kav", "com.kaspersky.kav.core", "kaspersky-sdk"});
}

}  // namespace far_test_cases
