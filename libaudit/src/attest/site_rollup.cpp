// The headquarters roll-up: accepted site summaries merged into one report with a site column.
#include <algorithm>
#include <set>

#include "audit/attest/attest.h"
#include "audit/attest/site.h"
#include "json_field.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr const char* kRollupStatuses[] = {"removed", "absent", "present", "inconclusive"};

// A result row from the summary alone (the site's report.json did not come along).
json row_from_summary(const json& h, const json& r) {
    json codes = r.value("reason_codes", json::array());
    return {{"host", "sha256:" + str(h, "host")},
            {"hostname", ""},
            {"product", str(r, "product")},
            {"product_name", str(r, "product")},
            {"status", str(r, "status")},
            {"reasons", codes},
            {"reason_codes", codes},
            {"removed_at", str(r, "removed_at")},
            {"attestation_sha256", str(r, "attestation_sha256")},
            {"findings", json::array()},
            {"leads", json::array()},
            {"residue", json::array()}};
}

}  // namespace

json rollup_report(const RollupSelection& selection, const trust::TrustRoot& trust,
                   const std::string& generated, const json& rejected_in) {
    // Which identifiers each site reports (from the signed summaries).
    std::map<std::string, std::set<std::string>> id_sites;
    for (const auto& in : selection.accepted)
        for (const auto& h : in.summary.predicate["hosts"])
            for (const auto& id : h["ids"])
                if (id.is_string()) id_sites[id.get<std::string>()].insert(in.summary.site);
    json conflicts = json::array();
    std::map<std::string, std::set<std::string>> conflict_ids;  // id -> sites
    for (const auto& [id, sites] : id_sites)
        if (sites.size() > 1) {
            conflict_ids[id] = sites;
            conflicts.push_back(
                {{"kind", "site_identity_conflict"}, {"identity_sha256", id}, {"sites", sites}});
        }

    json results = json::array(), sites = json::array(), rejected = rejected_in;
    std::map<std::string, long long> counts, reason_codes;
    std::map<std::string, std::pair<std::string, std::map<std::string, long long>>> products;
    std::set<std::pair<std::string, std::string>> hosts;
    std::string campaign_start;
    bool all_clear = true;
    for (const auto& in : selection.accepted) {
        const auto& s = in.summary;
        const json& p = s.predicate;
        std::vector<json> rows;
        if (!in.report.is_null()) {
            for (const auto& r : in.report.value("results", json::array())) rows.push_back(r);
        } else {
            for (const auto& h : p["hosts"])
                for (const auto& r : h["results"]) rows.push_back(row_from_summary(h, r));
        }
        for (auto& r : rows) {
            r["site"] = s.site;
            // Identifiers of this row: from report.json computed as the summary computed them.
            json ids = in.report.is_null() ? json::array() : host_identity_digests(r)["ids"];
            if (in.report.is_null())
                for (const auto& h : p["hosts"])
                    if ("sha256:" + str(h, "host") == str(r, "host")) ids = h["ids"];
            std::set<std::string> others;
            for (const auto& id : ids)
                if (auto c = conflict_ids.find(id.get<std::string>()); c != conflict_ids.end())
                    for (const auto& other : c->second)
                        if (other != s.site) others.insert(other);
            if (!others.empty()) {
                std::string list;
                for (const auto& o : others) list += (list.empty() ? "" : ", ") + o;
                r["site_status"] = r.value("status", "");
                r["status"] = "inconclusive";
                json reasons = r.value("reasons", json::array());
                reasons.push_back(
                    "site_identity_conflict: an identifier of this host is also "
                    "reported by site " +
                    list + " (resolve it; not merged)");
                r["reasons"] = reasons;
                json codes = r.value("reason_codes", json::array());
                codes.push_back("site_identity_conflict");
                r["reason_codes"] = codes;
            }
            const std::string status = str(r, "status");
            counts[status]++;
            auto& prod = products[str(r, "product")];
            prod.first = str(r, "product_name");
            prod.second[status]++;
            for (const auto& c : r.value("reason_codes", json::array()))
                if (c.is_string()) reason_codes[c.get<std::string>()]++;
            hosts.insert({s.site, str(r, "host")});
            if (status != "removed" && status != "absent") all_clear = false;
            results.push_back(std::move(r));
        }
        const std::string start = str(p.value("report", json::object()), "campaign_start");
        if (!start.empty() && (campaign_start.empty() || start < campaign_start))
            campaign_start = start;
        for (const auto& x : p.value("rejected", json::array())) {
            json e = x;
            e["site"] = s.site;
            e["file"] = s.site + ": " + str(x, "file");
            rejected.push_back(e);
        }
        for (const auto& x : p.value("conflicts", json::array())) {
            json e = x;
            e["site"] = s.site;
            conflicts.push_back(e);
        }
        sites.push_back({{"site", s.site},
                         {"sequence", s.sequence},
                         {"generated", s.generated},
                         {"summary", s.file},
                         {"summary_statement_sha256", s.statement_sha256},
                         {"report_sha256", s.report_sha256},
                         {"report_included", !in.report.is_null()},
                         {"site_keyid", s.site_keyid},
                         {"trust_root", p.value("trust_root", json::object())},
                         {"report", p.value("report", json::object())},
                         {"counts", p["counts"]},
                         {"kit_heads", p.value("kit_heads", json::array())}});
    }
    for (const char* st : kRollupStatuses) counts.emplace(st, 0);
    json product_list = json::array();
    for (auto& [id, pr] : products) {
        for (const char* st : kRollupStatuses) pr.second.emplace(st, 0);
        product_list.push_back({{"product", id}, {"name", pr.first}, {"counts", pr.second}});
    }
    return {
        {"generated", generated},
        {"campaign_start", campaign_start},
        {"as_of", ""},
        {"today", generated},
        {"marks", json::array()},
        {"families", json::array()},
        {"trust_root",
         {{"version", trust.version}, {"sha256", trust.sha256}, {"authority", trust.authority}}},
        {"sites", sites},
        {"summaries_refused", selection.refused},
        {"summaries_superseded", selection.superseded},
        {"hosts", hosts.size()},
        {"counts", counts},
        {"reason_codes", reason_codes},
        {"products", product_list},
        {"results", results},
        {"bundles", json::array()},
        {"rejected", rejected},
        {"conflicts", conflicts},
        {"not_verified", json::array()},
        {"all_clear", all_clear}};
}

}  // namespace audit::attest
