// Site certificates, site summaries and the roll-up's choices (issue 17 item 9).
#include <catch_amalgamated.hpp>

#include "audit/attest/site.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "test_authority.h"

namespace site_test_cases {  // one namespace per test file: unity builds compile several as one

using audit::VerifyError;
using audit::attest::RollupInput;
using audit::attest::SiteState;
using audit::crypto::SigningKey;
using nlohmann::json;

namespace {

std::string site_cert(const audit::testing::TestAuthority& a, const SigningKey& key,
                      const std::string& site) {
    return audit::trust::issue_site_certificate(a.trust, a.root, key.identity(), site,
                                                "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
}

// A summary statement as write_site_summary makes it, over a report.json of these hosts.
std::string summary(const SigningKey& signer, const std::string& cert, const std::string& site,
                    std::uint64_t seq, const json& hosts,
                    const std::string& generated = "2026-06-01T00:00:00Z") {
    json st = {
        {"_type", audit::evidence::kStatementType},
        {"subject",
         json::array({{{"name", "report.json"}, {"digest", {{"sha256", std::string(64, 'a')}}}}})},
        {"predicateType", audit::attest::kSiteSummaryPredicate},
        {"predicate",
         {{"site", site},
          {"sequence", seq},
          {"generated", generated},
          {"site_certificate", json::parse(cert)},
          {"trust_root", {{"authority", "authority-test"}, {"version", 1}}},
          {"counts", {{"kaspersky", {{"present", 1}}}}},
          {"hosts", hosts}}}};
    audit::crypto::Envelope env;
    env.payload_type = std::string(audit::evidence::kPayloadType);
    env.payload = st.dump();
    env.sign(signer);
    return env.to_json();
}

json host(const std::string& id, const std::string& status) {
    json r = {{"host", "machine-id:" + id},
              {"host_ids", {{"machine_id", id}, {"hostname", "h"}}},
              {"product", "kaspersky"},
              {"status", status}};
    json d = audit::attest::host_identity_digests(r);
    return {
        {"host", d["host"]},
        {"ids", d["ids"]},
        {"results",
         json::array(
             {{{"product", "kaspersky"}, {"status", status}, {"reason_codes", json::array()}}})}};
}

}  // namespace

TEST_CASE("a site certificate is issued by a root key and names one site", "[site]") {
    audit::testing::TestAuthority a;
    auto key = SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
    auto cert = audit::trust::verify_site_certificate(a.trust, site_cert(a, key, "site-a"));
    CHECK(cert.site == "site-a");
    CHECK(cert.inspector.keyid == key.identity().keyid);
    CHECK_THROWS_AS(
        audit::trust::issue_site_certificate(a.trust, a.kit, key.identity(), "site-a",
                                             "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        audit::UsageError);
    CHECK_THROWS_AS(site_cert(a, key, "site/a"), audit::UsageError);
    // A certificate signed by the kit key (not the root role) does not verify.
    audit::crypto::Envelope env = audit::crypto::Envelope::parse(site_cert(a, key, "site-a"));
    env.signatures.clear();
    env.sign(a.kit);
    CHECK_THROWS_AS(audit::trust::verify_site_certificate(a.trust, env.to_json()), VerifyError);
    a.trust.revoked.push_back(key.identity().keyid);
    CHECK_THROWS_AS(audit::trust::verify_site_certificate(a.trust, site_cert(a, key, "site-a")),
                    VerifyError);
}

TEST_CASE("a site summary verifies only under the key delegated to its site", "[site]") {
    audit::testing::TestAuthority a;
    auto ka = SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
    auto kb = SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
    const auto ca = site_cert(a, ka, "site-a"), cb = site_cert(a, kb, "site-b");
    const json hosts = json::array({host("01", "present")});
    auto v = audit::attest::verify_site_summary(summary(ka, ca, "site-a", 3, hosts), a.trust);
    CHECK(v.site == "site-a");
    CHECK(v.sequence == 3);
    CHECK(v.site_keyid == ka.identity().keyid);
    CHECK_THROWS_AS(
        audit::attest::verify_site_summary(summary(kb, ca, "site-a", 3, hosts), a.trust),
        VerifyError);  // site B's key, site A's certificate
    CHECK_THROWS_AS(
        audit::attest::verify_site_summary(summary(kb, cb, "site-a", 3, hosts), a.trust),
        VerifyError);  // site B's certificate claiming site A
    CHECK_THROWS_AS(audit::attest::verify_site_summary(
                        summary(ka, ca, "site-a", 3, hosts, "2027-06-01T00:00:00Z"), a.trust),
                    VerifyError);  // signed after the certificate's window
    CHECK_THROWS_AS(
        audit::attest::verify_site_summary(summary(ka, ca, "site-a", 0, hosts), a.trust),
        VerifyError);
    CHECK_THROWS_AS(audit::attest::check_site_report(v, "{}"), VerifyError);
    // Malformed entries are refused when verified, not met later by the roll-up.
    json bad = hosts;
    bad[0]["ids"].push_back(7);
    CHECK_THROWS_AS(audit::attest::verify_site_summary(summary(ka, ca, "site-a", 3, bad), a.trust),
                    VerifyError);
    bad = hosts;
    bad[0]["results"][0]["reason_codes"] = "x";
    CHECK_THROWS_AS(audit::attest::verify_site_summary(summary(ka, ca, "site-a", 3, bad), a.trust),
                    VerifyError);
}

TEST_CASE("the roll-up refuses older summaries of a site and flags shared identities", "[site]") {
    audit::testing::TestAuthority a;
    auto ka = SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
    auto kb = SigningKey::generate(audit::crypto::KeyProfile::ecdsa);
    const auto ca = site_cert(a, ka, "site-a"), cb = site_cert(a, kb, "site-b");
    auto in = [&](const SigningKey& k, const std::string& c, const std::string& site,
                  std::uint64_t seq, const json& hosts) {
        RollupInput r;
        r.summary = audit::attest::verify_site_summary(summary(k, c, site, seq, hosts), a.trust);
        r.summary.file = site + "-" + std::to_string(seq);
        return r;
    };
    const json a_hosts = json::array({host("01", "absent"), host("shared", "absent")});
    const json b_hosts = json::array({host("02", "removed"), host("shared", "absent")});
    SiteState state;
    auto sel = audit::attest::select_summaries(
        {in(ka, ca, "site-a", 1, a_hosts), in(ka, ca, "site-a", 2, a_hosts),
         in(kb, cb, "site-b", 1, b_hosts)},
        state);
    REQUIRE(sel.accepted.size() == 2);
    CHECK(sel.superseded.size() == 1);
    CHECK(sel.refused.empty());
    CHECK(state.sites["site-a"].sequence == 2);
    json report = audit::attest::rollup_report(sel, a.trust, "2026-06-02T00:00:00Z", json::array());
    CHECK(report["counts"]["inconclusive"] == 2);  // the shared host, at both sites
    CHECK(report["counts"]["absent"] == 1);
    CHECK(report["counts"]["removed"] == 1);
    for (const auto& r : report["results"])
        if (r["status"] == "inconclusive") {
            CHECK(r["site_status"] == "absent");
            CHECK(r["reason_codes"].back() == "site_identity_conflict");
        }
    REQUIRE(report["conflicts"].size() == 1);
    CHECK(report["conflicts"][0]["sites"] == json::array({"site-a", "site-b"}));
    // Later: the same summary again is accepted, an older one and a fork are refused.
    auto again = audit::attest::select_summaries({in(ka, ca, "site-a", 2, a_hosts)}, state);
    CHECK(again.accepted.size() == 1);
    auto older = audit::attest::select_summaries({in(ka, ca, "site-a", 1, a_hosts)}, state);
    CHECK(older.accepted.empty());
    REQUIRE(older.refused.size() == 1);
    CHECK(older.refused[0]["reason"].get<std::string>().starts_with("site_summary_replay"));
    auto fork = audit::attest::select_summaries(
        {in(ka, ca, "site-a", 2, json::array({host("01", "present")}))}, state);
    REQUIRE(fork.refused.size() == 1);
    CHECK(fork.refused[0]["reason"].get<std::string>().starts_with("site_summary_fork"));
}

TEST_CASE("identity digests leave hostnames out", "[site]") {
    json r = {{"host", "hostname:web01"}, {"host_ids", {{"hostname", "web01"}}}};
    CHECK(audit::attest::host_identity_digests(r)["ids"].empty());
    r["host_ids"]["root_fs_uuid"] = "u";
    CHECK(audit::attest::host_identity_digests(r)["ids"].size() == 1);
}

}  // namespace site_test_cases
