// The typed attestation and report statement: what the readers accept, and what they refuse.
#include <catch_amalgamated.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

#include "audit/attest/attestation.h"
#include "audit/attest/report_statement.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "support.h"
#include "test_authority.h"

namespace attestation_test_cases {  // one namespace per test file: unity builds compile several as
                                    // one

using audit::attest::Attestation;
using audit::attest::HostProductStatus;
using audit::attest::Status;
using nlohmann::json;

namespace {

HostProductStatus removed_status() {
    HostProductStatus st;
    st.host_key = "machine-id:m1";
    st.hostname = "host-1";
    st.host_ids = {{"machine_id", "m1"}};
    st.product = "kaspersky";
    st.product_name = "Kaspersky";
    st.status = Status::removed;
    st.evidence = {{"b-1", "s1", "f1", "finding"}, {"b-2", "s2", "f2", "latest"}};
    st.first_scan = "2026-01-01T00:00:00Z";
    st.latest_scan = "2026-02-01T00:00:00Z";
    st.removed_at = st.clean_since = "2026-02-01T00:00:00Z";
    return st;
}

// read(good edited by edit) must throw an error whose text contains why.
template <class Read>
void check_refused(Read read, const json& good, const std::function<void(json&)>& edit,
                   const std::string& why) {
    json st = good;
    edit(st);
    CAPTURE(why);
    CHECK_THROWS_WITH(read(st), Catch::Matchers::ContainsSubstring(why));
}

json statement_of(const HostProductStatus& st) {
    audit::testing::TestAuthority a;
    auto env = audit::attest::attestation(st, a.inspector, "2026-03-01T00:00:00Z");
    return json::parse(env.payload);
}

}  // namespace

TEST_CASE("an attestation is read back as the status it was signed from", "[attest][model]") {
    audit::testing::TestAuthority a;
    auto st = removed_status();
    auto env = audit::attest::attestation(st, a.inspector, "2026-03-01T00:00:00Z");
    const Attestation got = audit::attest::verify_attestation(env, a.trust);
    CHECK(got.attested_at == "2026-03-01T00:00:00Z");
    CHECK(got.host == st.host_key);
    CHECK(got.hostname == "host-1");
    CHECK(got.product == "kaspersky");
    CHECK(got.status == Status::removed);
    CHECK(got.reasons.empty());
    CHECK(got.removed_at == st.removed_at);
    REQUIRE(got.evidence.size() == 2);
    CHECK(got.evidence[1].bundle_id == "b-2");
    CHECK(got.evidence[1].statement_sha256 == "s2");
    CHECK(got.evidence[1].sha256 == "f2");
    CHECK(got.evidence[1].role == "latest");
    CHECK(got.result == st.to_json());

    // Another key than the inspector's: refused before the payload is read.
    audit::testing::TestAuthority other;
    auto forged = audit::attest::attestation(st, other.inspector, "2026-03-01T00:00:00Z");
    CHECK_THROWS_AS(audit::attest::verify_attestation(forged, a.trust), audit::VerifyError);
}

TEST_CASE("an attestation the merge could not have signed is refused", "[attest][model]") {
    const json good = statement_of(removed_status());
    REQUIRE_NOTHROW(audit::attest::read_attestation(good));
    auto refused = [&](const std::function<void(json&)>& edit, const std::string& why) {
        check_refused(audit::attest::read_attestation, good, edit, why);
    };
    auto result = [](json& st) -> json& { return st["predicate"]["result"]; };
    refused([&](json& st) { result(st)["status"] = "clean"; }, "unknown status 'clean'");
    refused([&](json& st) { result(st)["status"] = 1; }, "status is not a string");
    refused([&](json& st) { result(st).erase("status"); }, "no status");
    refused([&](json& st) { result(st)["reasons"] = {"coverage_gap: dpkg failed"}; },
            "removed with reasons");
    refused([&](json& st) { result(st)["reasons"] = "none"; }, "reasons is not a list");
    refused([&](json& st) { result(st)["evidence"].erase(1); },
            "removed without the latest bundle");
    refused([&](json& st) { result(st)["evidence"] = json::array(); }, "lists no evidence");
    refused([&](json& st) { result(st)["evidence"][0]["sha256"] = 7; }, "sha256 is not a string");
    refused([&](json& st) { result(st)["evidence"][0]["statement_sha256"] = ""; },
            "statement_sha256 is empty");
    refused([&](json& st) { result(st)["removed_at"] = ""; }, "removed without removed_at");
    refused([&](json& st) { result(st)["product"] = ""; }, "product is empty");
    refused([&](json& st) { st["subject"][0]["name"] = "machine-id:other"; },
            "subject is not the host");
    refused([&](json& st) { st["predicateType"] = "urn:other"; },
            "not a removal attestation statement");

    // Inconclusive and present carry reasons and any evidence; absent has no removed_at.
    json st = good;
    result(st)["status"] = "inconclusive";
    result(st)["reasons"] = {"coverage_gap: dpkg failed"};
    result(st).erase("reason_codes");  // an older attestation: derived from the reasons
    const Attestation a = audit::attest::read_attestation(st);
    CHECK(a.status == Status::inconclusive);
    CHECK(a.reason_codes == std::vector<std::string>{"coverage_gap"});
    st = good;
    result(st)["status"] = "absent";
    result(st)["removed_at"] = "";
    result(st)["evidence"].erase(0);
    CHECK(audit::attest::read_attestation(st).status == Status::absent);
}

TEST_CASE("check_evidence names an attestation's evidence missing from the bundles given",
          "[attest][model]") {
    const Attestation a = audit::attest::read_attestation(statement_of(removed_status()));
    CHECK_NOTHROW(audit::attest::check_evidence(a, {{"s1", "b-1"}, {"s2", "b-2"}}));
    CHECK_THROWS_WITH(audit::attest::check_evidence(a, {{"s1", "b-1"}}),
                      Catch::Matchers::ContainsSubstring("b-2"));
    CHECK_THROWS_WITH(audit::attest::check_evidence(a, {{"s1", "b-1"}, {"s2", "b-9"}}),
                      Catch::Matchers::ContainsSubstring("is bundle b-9, not b-2"));
    // An entry without a statement digest is looked up by its file digest.
    json st = statement_of(removed_status());
    for (auto& e : st["predicate"]["result"]["evidence"]) e.erase("statement_sha256");
    const Attestation v1 = audit::attest::read_attestation(st);
    CHECK_NOTHROW(audit::attest::check_evidence(v1, {{"f1", "b-1"}, {"f2", "b-2"}}));
    CHECK_THROWS(audit::attest::check_evidence(v1, {{"s1", "b-1"}, {"s2", "b-2"}}));
}

TEST_CASE("a report statement is typed once; report.json is read as signed", "[report][model]") {
    audit::testing::TestAuthority a;
    audit_test::TempDir dir;
    const std::string d = dir.str();
    std::filesystem::create_directories(d + "/attestations");
    std::ofstream(d + "/report.json") << R"({"results":[]})"
                                      << "\n";
    std::ofstream(d + "/report.csv") << "host,product\n";
    std::ofstream(d + "/attestations/x.dsse.json") << "{}";
    audit::attest::sign_report_files(d, {"report.json", "report.csv", "attestations/"}, a.inspector,
                                     {{"generated", "2026-03-01T00:00:00Z"}});
    const std::string st_path = d + "/" + std::string(audit::attest::kReportStatementFile);

    auto verified = audit::attest::read_verified_report(d, a.trust);
    CHECK(verified.report_bytes == "{\"results\":[]}\n");
    CHECK(verified.statement.generated == "2026-03-01T00:00:00Z");
    CHECK(verified.statement.inspector_keyid == a.inspector.identity().keyid);
    REQUIRE(verified.statement.files.size() == 3);
    CHECK(verified.statement.file("report.csv") != nullptr);
    CHECK(verified.statement.file("report.html") == nullptr);
    CHECK(verified.statement.detail()["files"] ==
          json::array({"report.json", "report.csv", "attestations/"}));

    // Any signed file changed, an attestation added: refused, naming the file.
    std::ofstream(d + "/report.csv", std::ios::app) << "x,y\n";
    CHECK_THROWS_WITH(audit::attest::read_verified_report(d, a.trust),
                      Catch::Matchers::ContainsSubstring("report.csv changed"));
    std::ofstream(d + "/report.csv") << "host,product\n";
    REQUIRE_NOTHROW(audit::attest::read_verified_report(d, a.trust));
    std::ofstream(d + "/attestations/y.dsse.json") << "{}";
    CHECK_THROWS_WITH(audit::attest::read_verified_report(d, a.trust),
                      Catch::Matchers::ContainsSubstring("attestations/"));

    // Malformed statements are refused by the reader.
    const json st =
        json::parse(audit::crypto::Envelope::parse(audit_test::slurp(st_path), 1 << 20).payload);
    REQUIRE_NOTHROW(audit::attest::read_report_statement(st));
    auto refused = [&](const std::function<void(json&)>& edit, const std::string& why) {
        check_refused(audit::attest::read_report_statement, st, edit, why);
    };
    refused([](json& s) { s["subject"][1]["name"] = "../report.csv"; }, "is not a file name");
    refused([](json& s) { s["subject"][1] = s["subject"][0]; }, "signed twice");
    refused([](json& s) { s["subject"] = json::array(); }, "not a report statement");
    refused([](json& s) { s["subject"][0]["digest"] = "abc"; }, "malformed subject");
    refused([](json& s) { s["predicate"]["generated"] = 5; }, "generated is not a string");

    // A predicate string that is not UTF-8 (a --title) is signed with U+FFFD, as report.json has
    // it.
    audit::attest::sign_report_files(d, {"report.json"}, a.inspector,
                                     {{"generated", "g"}, {"title", "caf\xe9"}});
    CHECK(audit::attest::read_verified_report(d, a.trust).statement.predicate["title"] ==
          "caf\xef\xbf\xbd");

    // A statement that does not sign report.json is no signature of the report.
    std::filesystem::remove(d + "/attestations/y.dsse.json");
    audit::attest::sign_report_files(d, {"report.csv"}, a.inspector, json::object());
    CHECK_THROWS_WITH(audit::attest::read_verified_report(d, a.trust),
                      Catch::Matchers::ContainsSubstring("does not sign report.json"));
}

}  // namespace attestation_test_cases
