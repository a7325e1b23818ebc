#include "audit/attest/attest.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <tuple>

#include "audit/error.h"
#include "audit/fs/walker.h"

namespace audit::attest {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
    return j[key].get<std::string>();
}

// Compare dotted versions numerically where both segments are numbers.
int compare_versions(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        auto seg = [](const std::string& s, std::size_t& k) {
            std::size_t start = k;
            while (k < s.size() && s[k] != '.' && s[k] != '-') ++k;
            std::string out = s.substr(start, k - start);
            if (k < s.size()) ++k;
            return out;
        };
        std::string x = seg(a, i), y = seg(b, j);
        bool nx = !x.empty() && std::all_of(x.begin(), x.end(), ::isdigit);
        bool ny = !y.empty() && std::all_of(y.begin(), y.end(), ::isdigit);
        if (nx && ny) {
            if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
        }
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

// Gaps, forks and broken links in each kit's hash chain.
std::vector<ChainIssue> find_chain_issues(const std::vector<const BundleRef*>& bundles) {
    std::map<std::string, std::map<std::uint64_t, std::vector<const BundleRef*>>> kits;
    for (const auto* b : bundles) kits[b->kit_id][b->sequence].push_back(b);
    std::vector<ChainIssue> issues;
    for (const auto& [kit, seqs] : kits) {
        std::uint64_t expect = 1;
        const BundleRef* prev = nullptr;
        for (const auto& [seq, list] : seqs) {
            if (seq > expect) {
                std::string missing = std::to_string(expect);
                if (seq - 1 > expect) missing += "-" + std::to_string(seq - 1);
                issues.push_back(
                    {kit, expect, "chain_gap: kit " + kit + " is missing sequence " + missing});
                prev = nullptr;
            }
            std::set<std::string> digests;
            for (const auto* b : list) digests.insert(b->sha256);
            if (digests.size() > 1) {
                issues.push_back({kit, seq,
                                  "chain_fork: kit " + kit + " has " +
                                      std::to_string(digests.size()) +
                                      " different bundles with sequence " + std::to_string(seq)});
            }
            const BundleRef* cur = list.front();
            if (seq == 1 && !cur->previous_sha256.empty())
                issues.push_back(
                    {kit, seq, "chain_broken: kit " + kit + " sequence 1 names a previous bundle"});
            if (prev && cur->previous_sha256 != prev->sha256)
                issues.push_back({kit, seq,
                                  "chain_broken: kit " + kit + " sequence " + std::to_string(seq) +
                                      " does not follow sequence " +
                                      std::to_string(prev->sequence)});
            prev = cur;
            expect = seq + 1;
        }
    }
    return issues;
}

bool has_product(const json& list, const std::string& product) {
    if (!list.is_array()) return false;
    return std::any_of(list.begin(), list.end(),
                       [&](const json& p) { return p.is_string() && p == product; });
}

const json* manifest_of(const BundleSummary& b, const std::string& product) {
    auto it = b.predicate.find("manifests");
    if (it == b.predicate.end() || !it->is_array()) return nullptr;
    for (const auto& m : *it)
        if (str(m, "id") == product) return &m;
    return nullptr;
}

json product_coverage(const BundleSummary& b, const std::string& product) {
    const json& cov = b.predicate.value("coverage", json::object());
    if (cov.contains("products") && cov["products"].is_array())
        for (const auto& p : cov["products"])
            if (str(p, "product") == product) return p;
    return json::object();
}

}  // namespace

std::string host_key(const std::string& machine_id, const std::string& windows_machine_guid,
                     const std::string& dmi_product_uuid, const std::string& hostname) {
    if (!machine_id.empty()) return "machine-id:" + machine_id;
    if (!windows_machine_guid.empty()) return "windows-machine-guid:" + windows_machine_guid;
    if (!dmi_product_uuid.empty()) return "dmi:" + dmi_product_uuid;
    return "hostname:" + hostname;
}

std::string host_key(const BundleSummary& b) {
    return host_key(b.machine_id, b.windows_machine_guid, b.dmi_product_uuid, b.hostname);
}

BundleRef ref_of(const BundleSummary& b) {
    BundleRef r;
    r.sha256 = b.sha256;
    r.statement_sha256 = b.statement_sha256;
    r.previous_statement_sha256 = b.previous_statement_sha256;
    r.format = b.format;
    r.kit_id = b.kit_id;
    r.previous_sha256 = b.previous_sha256;
    r.host_key = host_key(b);
    r.dmi_product_uuid = b.dmi_product_uuid;
    r.sequence = b.sequence;
    return r;
}

std::string reason_code(const std::string& reason) {
    auto pos = reason.find(": ");
    return pos == std::string::npos ? reason : reason.substr(0, pos);
}

FleetFacts::FleetFacts(const std::vector<BundleRef>& bundles,
                       const std::vector<evidence::ChainHead>& /*heads*/,
                       const MergeOptions& options)
    : options_(options) {
    std::vector<const BundleRef*> unique;
    std::set<std::string> seen;
    for (const auto& b : bundles)
        if (seen.insert(b.statement_sha256.empty() ? b.sha256 : b.statement_sha256).second)
            unique.push_back(&b);
    chain_issues_ = find_chain_issues(unique);
    for (const auto& issue : chain_issues_) issues_by_kit_[issue.kit].push_back(&issue);
    for (const auto* b : unique)
        if (!b->dmi_product_uuid.empty()) dmi_hosts_[b->dmi_product_uuid].insert(b->host_key);
}

std::vector<std::string> FleetFacts::host_reasons(
    const std::vector<const BundleSummary*>& host) const {
    std::vector<std::string> reasons;
    std::set<std::string> dmis;
    for (const auto* b : host) {
        if (b->dmi_product_uuid.empty()) continue;
        dmis.insert(b->dmi_product_uuid);
        auto it = dmi_hosts_.find(b->dmi_product_uuid);
        if (it != dmi_hosts_.end() && it->second.size() > 1)
            reasons.push_back("identity_conflict: DMI UUID " + b->dmi_product_uuid +
                              " appears under more than one machine-id");
    }
    if (dmis.size() > 1)
        reasons.push_back("identity_conflict: one machine-id with " + std::to_string(dmis.size()) +
                          " DMI UUIDs");
    std::set<std::string> kits;
    for (const auto* b : host) kits.insert(b->kit_id);
    for (const auto& kit : kits) {
        auto it = issues_by_kit_.find(kit);
        if (it == issues_by_kit_.end()) continue;
        for (const auto* issue : it->second)
            for (const auto* b : host)
                if (b->kit_id == issue->kit && b->sequence >= issue->from_sequence) {
                    reasons.push_back(issue->reason);
                    break;
                }
    }
    return reasons;
}

const char* to_string(Status s) {
    switch (s) {
        case Status::removed:
            return "removed";
        case Status::absent:
            return "absent";
        case Status::present:
            return "present";
        case Status::inconclusive:
            return "inconclusive";
    }
    return "inconclusive";
}

BundleSummary summarize(const std::string& path, const std::string& sha256, json predicate,
                        std::string_view findings_json) {
    return summarize(path, sha256, sha256, std::move(predicate), findings_json);
}

BundleSummary summarize(const std::string& path, const std::string& sha256,
                        const std::string& statement_sha256, json predicate,
                        std::string_view findings_json) {
    BundleSummary s;
    s.path = path;
    s.sha256 = sha256;
    s.statement_sha256 = statement_sha256;
    s.predicate = std::move(predicate);
    const json& p = s.predicate;
    try {
        s.bundle_id = p.at("bundle_id").get<std::string>();
        s.kit_id = p.at("kit").at("id").get<std::string>();
        s.sequence = p.at("kit").at("sequence").get<std::uint64_t>();
        const auto& prev = p.at("kit").at("previous_bundle_sha256");
        s.previous_sha256 = prev.is_string() ? prev.get<std::string>() : "";
        const json& kit = p.at("kit");
        if (kit.contains("previous_statement_sha256")) {
            s.format = 2;
            s.previous_statement_sha256 = str(kit, "previous_statement_sha256");
        }
        s.finished = p.at("scan").at("finished").get<std::string>();
        const auto& host = p.at("host");
        s.hostname = str(host, "hostname");
        s.machine_id = str(host.value("ids", json::object()), "machine_id");
        s.dmi_product_uuid = str(host.value("ids", json::object()), "dmi_product_uuid");
        s.windows_machine_guid = str(host.value("ids", json::object()), "windows_machine_guid");
        s.live = host.value("live", false) == true ||
                 str(p.value("scan", json::object()), "mode") == "live";
    } catch (const json::exception& e) {
        throw VerifyError(path + ": statement predicate is incomplete (" + e.what() + ")");
    }
    if (!findings_json.empty()) {
        try {
            s.findings = json::parse(findings_json);
        } catch (const json::exception&) {
            throw VerifyError(path + ": findings.json is not JSON");
        }
        if (!s.findings.is_array()) throw VerifyError(path + ": findings.json is not a list");
    }
    return s;
}

BundleSummary summarize(const evidence::Bundle& bundle) {
    auto it = bundle.files.find("findings.json");
    auto s =
        summarize(bundle.path, bundle.sha256,
                  bundle.statement_sha256.empty() ? bundle.sha256 : bundle.statement_sha256,
                  bundle.predicate(),
                  it == bundle.files.end() ? std::string_view() : std::string_view(it->second));
    s.format = bundle.format;
    return s;
}

json HostProductStatus::to_json() const {
    json ev = json::array();
    for (const auto& e : evidence)
        ev.push_back({{"bundle_id", e.bundle_id},
                      {"statement_sha256", e.statement_sha256},
                      {"sha256", e.sha256},
                      {"role", e.role}});
    return {{"host", host_key},
            {"hostname", hostname},
            {"host_ids", host_ids},
            {"product", product},
            {"product_name", product_name},
            {"status", to_string(status)},
            {"reasons", reasons},
            {"reason_codes", reason_codes},
            {"residue", residue},
            {"evidence", ev},
            {"manifest_versions", manifest_versions},
            {"first_scan", first_scan},
            {"latest_scan", latest_scan}};
}

std::vector<HostProductStatus> merge(const std::vector<BundleSummary>& all,
                                     const std::vector<evidence::ChainHead>& heads,
                                     const MergeOptions& options) {
    // The same bundle given twice counts once.
    std::vector<const BundleSummary*> bundles;
    std::vector<BundleRef> refs;
    std::set<std::string> seen;
    for (const auto& b : all)
        if (seen.insert(b.statement_sha256.empty() ? b.sha256 : b.statement_sha256).second) {
            bundles.push_back(&b);
            refs.push_back(ref_of(b));
        }
    FleetFacts fleet(refs, heads, options);
    std::map<std::string, std::vector<const BundleSummary*>> hosts;
    for (const auto* b : bundles) hosts[host_key(*b)].push_back(b);
    std::vector<HostProductStatus> out;
    for (auto& [key, list] : hosts) {
        auto statuses = merge_host(std::move(list), fleet);
        std::move(statuses.begin(), statuses.end(), std::back_inserter(out));
    }
    return out;
}

std::vector<HostProductStatus> merge_host(std::vector<const BundleSummary*> list,
                                          const FleetFacts& fleet) {
    std::vector<HostProductStatus> out;
    if (list.empty()) return out;
    const std::string key = host_key(*list.front());
    std::sort(list.begin(), list.end(), [](const BundleSummary* a, const BundleSummary* b) {
        return std::tie(a->finished, a->kit_id, a->sequence) <
               std::tie(b->finished, b->kit_id, b->sequence);
    });
    std::vector<std::string> host_reasons = fleet.host_reasons(list);
    // Within one kit the sequence is authoritative; host clocks that disagree are suspect.
    std::map<std::string, std::uint64_t> last_seq;
    for (const auto* b : list) {
        auto& ls = last_seq[b->kit_id];
        if (b->sequence < ls)
            host_reasons.push_back("clock_disorder: kit " + b->kit_id + " sequence " +
                                   std::to_string(b->sequence) + " has a later scan time than " +
                                   std::to_string(ls));
        ls = std::max(ls, b->sequence);
    }
    std::sort(host_reasons.begin(), host_reasons.end());
    host_reasons.erase(std::unique(host_reasons.begin(), host_reasons.end()), host_reasons.end());

    std::map<std::string, std::string> products;  // id -> name
    for (const auto* b : list)
        for (const auto& m : b->predicate.value("manifests", json::array()))
            products.emplace(str(m, "id"), str(m, "name"));
    for (const auto& [product, name_hint] : products) {
        HostProductStatus st;
        st.host_key = key;
        st.hostname = list.back()->hostname;
        st.host_ids =
            list.back()->predicate.value("host", json::object()).value("ids", json::object());
        st.product = product;
        std::vector<const BundleSummary*> evaluated;
        for (const auto* b : list)
            if (manifest_of(*b, product)) evaluated.push_back(b);
        const BundleSummary* latest = evaluated.back();
        st.first_scan = evaluated.front()->finished;
        st.latest_scan = latest->finished;
        const BundleSummary* last_finding = nullptr;
        for (const auto* b : evaluated)
            if (has_product(
                    b->predicate.value("findings", json::object()).value("present", json::array()),
                    product))
                last_finding = b;
        for (const auto* b : evaluated) {
            const json* m = manifest_of(*b, product);
            st.manifest_versions.push_back({{"bundle_id", b->bundle_id},
                                            {"version", str(*m, "version")},
                                            {"sha256", str(*m, "sha256")}});
        }
        for (const auto& f : latest->findings)
            if (str(f, "product") == product) {
                if (st.product_name.empty()) st.product_name = str(f, "product_name");
                if (f.value("residue", false)) st.residue.push_back(f);
            }
        if (st.product_name.empty()) st.product_name = name_hint.empty() ? product : name_hint;

        bool latest_present = last_finding == latest;
        json cov = product_coverage(*latest, product);
        std::vector<std::string> reasons = host_reasons;
        if (!cov.value("sufficient", false)) {
            auto gaps = cov.value("gaps", json::array());
            std::string detail = gaps.empty() || !gaps[0].is_string() ? "no coverage record"
                                                                      : gaps[0].get<std::string>();
            reasons.push_back("coverage_gap: " + detail);
        }
        if (last_finding && !latest_present) {
            std::string before = str(*manifest_of(*last_finding, product), "version");
            std::string after = str(*manifest_of(*latest, product), "version");
            if (compare_versions(after, before) < 0)
                reasons.push_back("manifest_downgraded: " + before + " -> " + after);
        }
        if (latest_present) {
            st.status = Status::present;
            st.evidence.push_back(
                {latest->bundle_id, latest->statement_sha256, latest->sha256, "finding"});
        } else {
            if (last_finding)
                st.evidence.push_back({last_finding->bundle_id, last_finding->statement_sha256,
                                       last_finding->sha256, "finding"});
            st.evidence.push_back(
                {latest->bundle_id, latest->statement_sha256, latest->sha256, "latest"});
            if (!reasons.empty())
                st.status = Status::inconclusive;
            else
                st.status = last_finding ? Status::removed : Status::absent;
        }
        st.reasons = reasons;
        for (const auto& r : reasons) st.reason_codes.push_back(reason_code(r));
        std::sort(st.reason_codes.begin(), st.reason_codes.end());
        st.reason_codes.erase(std::unique(st.reason_codes.begin(), st.reason_codes.end()),
                              st.reason_codes.end());
        out.push_back(std::move(st));
    }
    return out;
}

crypto::Envelope attestation(const HostProductStatus& status, const crypto::SigningKey& inspector,
                             const std::string& attested_at) {
    json statement = {
        {"_type", evidence::kStatementType},
        {"subject",
         json::array({{{"name", status.host_key},
                       {"digest", {{"sha256", fs::sha256_hex(status.host_ids.dump())}}}}})},
        {"predicateType", kAttestationPredicate},
        {"predicate", {{"attested_at", attested_at}, {"result", status.to_json()}}}};
    crypto::Envelope env;
    env.payload_type = std::string(evidence::kPayloadType);
    env.payload = statement.dump();
    env.sign(inspector);
    return env;
}

json verify_attestation(const crypto::Envelope& env, const trust::TrustRoot& trust) {
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("attestation has payloadType '" + env.payload_type + "'");
    trust.verify_role(env, "inspector");
    json statement;
    try {
        statement = json::parse(env.payload);
    } catch (const json::exception&) {
        throw VerifyError("attestation payload is not JSON");
    }
    if (!statement.is_object() || statement.value("_type", "") != evidence::kStatementType ||
        statement.value("predicateType", "") != kAttestationPredicate ||
        !statement.contains("predicate") || !statement["predicate"].contains("result"))
        throw VerifyError("not a removal attestation statement");
    return statement;
}

}  // namespace audit::attest
