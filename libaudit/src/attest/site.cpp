#include "audit/attest/site.h"
#include "json_field.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "audit/attest/report_statement.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"
#include "audit/trust/state.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxSummary = std::size_t{256} << 20;  // about 600 000 host x product
constexpr std::size_t kMaxAttestation = std::size_t{64} << 20;

bool is_sha256(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool plain_site_name(const std::string& n) {
    return !n.empty() && n.size() <= 255 && n.find('/') == std::string::npos && n != "." &&
           n != ".." && n.find('\0') == std::string::npos;
}

json string_list(const json& j) {
    json out = json::array();
    if (j.is_array())
        for (const auto& x : j)
            if (x.is_string()) out.push_back(x);
    return out;
}

// Per kit the highest sequence among the report's bundles, with its statement digest.
json kit_heads_of(const json& bundles) {
    std::map<std::string, std::pair<std::uint64_t, std::string>> heads;
    if (bundles.is_array())
        for (const auto& b : bundles) {
            if (!b.is_object() || !b.contains("sequence") || !b["sequence"].is_number_unsigned())
                continue;
            auto seq = b["sequence"].get<std::uint64_t>();
            auto& h = heads[str(b, "kit")];
            if (h.second.empty() || seq > h.first) h = {seq, str(b, "statement_sha256")};
        }
    json out = json::array();
    for (const auto& [kit, h] : heads)
        out.push_back({{"kit", kit}, {"sequence", h.first}, {"statement_sha256", h.second}});
    return out;
}

}  // namespace

json host_identity_digests(const json& result) {
    json ids = json::array();
    const json host_ids = result.is_object() ? result.value("host_ids", json::object()) : json();
    std::set<std::string> sorted;
    if (host_ids.is_object())
        for (const auto& [k, v] : host_ids.items()) {
            if (k == "hostname" || v.is_null()) continue;
            const std::string value = v.is_string() ? v.get<std::string>() : v.dump();
            if (value.empty() || value == "[]" || value == "{}") continue;
            sorted.insert(crypto::sha256_hex(k + "=" + value));
        }
    for (const auto& s : sorted) ids.push_back(s);
    return {{"host", crypto::sha256_hex(str(result, "host"))}, {"ids", ids}};
}

json site_summary_predicate(const std::string& report_dir, const json& report,
                            const std::string& report_statement_sha256,
                            const trust::TrustRoot& trust, const json& certificate,
                            std::uint64_t sequence, const std::string& generated) {
    const auto cert = trust::verify_site_certificate(trust, certificate.dump());
    json hosts = json::array();
    std::map<std::string, std::map<std::string, long long>> counts;
    std::map<std::string, std::size_t> index;  // host digest -> entry in hosts
    for (const auto& r : report.value("results", json::array())) {
        json d = host_identity_digests(r);
        std::string att_sha;
        const std::string att = str(r, "attestation");
        if (att.rfind("attestations/", 0) == 0 && plain_site_name(att.substr(13)))
            att_sha = crypto::sha256_hex(
                read_input_file(report_dir + "/" + att, kMaxAttestation, "attestation"));
        counts[str(r, "product")][str(r, "status")]++;
        // One entry per host, its identifiers once, one result per product.
        const std::string key = d["host"].get<std::string>();
        auto [it, added] = index.emplace(key, hosts.size());
        if (added) hosts.push_back({{"host", key}, {"ids", d["ids"]}, {"results", json::array()}});
        json& h = hosts[it->second];
        for (const auto& id : d["ids"])
            if (std::find(h["ids"].begin(), h["ids"].end(), id) == h["ids"].end())
                h["ids"].push_back(id);
        h["results"].push_back(
            {{"product", str(r, "product")},
             {"status", str(r, "status")},
             {"reason_codes", string_list(r.value("reason_codes", json::array()))},
             {"removed_at", str(r, "removed_at")},
             {"attestation_sha256", att_sha}});
    }
    json rejected = json::array();
    for (const auto& x : report.value("rejected", json::array()))
        rejected.push_back({{"file", std::filesystem::path(str(x, "file")).filename().string()},
                            {"sha256", str(x, "sha256")},
                            {"reason", str(x, "reason")}});
    return {
        {"site", cert.site},
        {"sequence", sequence},
        {"generated", generated},
        {"site_certificate", certificate},
        {"trust_root",
         {{"authority", trust.authority}, {"version", trust.version}, {"sha256", trust.sha256}}},
        {"report",
         {{"generated", str(report, "generated")},
          {"as_of", str(report, "as_of")},
          {"campaign_start", str(report, "campaign_start")},
          {"inspector_keyid", str(report, "inspector_keyid")},
          {"statement_sha256", report_statement_sha256},
          {"hosts", report.value("hosts", 0)}}},
        {"counts", counts},
        {"hosts", hosts},
        {"kit_heads", kit_heads_of(report.value("bundles", json::array()))},
        {"rejected", rejected},
        {"conflicts", report.value("conflicts", json::array())}};
}

json write_site_summary(const std::string& report_dir, const trust::TrustRoot& trust,
                        const crypto::SigningKey& site_key, std::string_view certificate_text,
                        std::uint64_t sequence, const std::string& now) {
    if (sequence == 0) throw UsageError("the sequence of a site summary starts at 1");
    // The report.json bytes summarised are the ones the inspector's statement signs.
    const VerifiedReport verified = read_verified_report(report_dir, trust);
    const std::string& st_bytes = verified.statement_bytes;
    const std::string& report_bytes = verified.report_bytes;
    const auto cert = trust::verify_site_certificate(trust, certificate_text);
    if (cert.inspector.keyid != site_key.identity().keyid)
        throw UsageError("the site certificate delegates site " + cert.site + " to key " +
                         cert.inspector.keyid.substr(0, 16) + ", not to the key given (" +
                         site_key.identity().keyid.substr(0, 16) + ")");
    if (now < cert.not_before || now > cert.not_after)
        throw UsageError("the site certificate of " + cert.site + " is valid from " +
                         cert.not_before + " to " + cert.not_after + ", not now (" + now + ")");
    const json report = parse_json_strict(report_bytes, "report.json");
    json statement = {
        {"_type", evidence::kStatementType},
        {"subject", json::array({{{"name", "report.json"},
                                  {"digest", {{"sha256", crypto::sha256_hex(report_bytes)}}}}})},
        {"predicateType", kSiteSummaryPredicate},
        {"predicate", site_summary_predicate(
                          report_dir, report, crypto::sha256_hex(st_bytes), trust,
                          parse_json_strict(certificate_text, "site certificate"), sequence, now)}};
    crypto::Envelope env;
    env.payload_type = std::string(evidence::kPayloadType);
    env.payload = statement.dump();
    env.sign(site_key);
    evidence::write_file_atomic(report_dir + "/" + std::string(kSiteSummaryFile),
                                env.to_json() + "\n");
    return statement;
}

VerifiedSiteSummary verify_site_summary(std::string_view envelope_json,
                                        const trust::TrustRoot& trust) {
    auto env = crypto::Envelope::parse(envelope_json, kMaxSummary);
    if (env.payload_type != evidence::kPayloadType)
        throw VerifyError("site summary has payloadType '" + env.payload_type.substr(0, 80) + "'");
    json st = parse_json_strict(env.payload, "site summary payload");
    if (!st.is_object() || str(st, "_type") != evidence::kStatementType ||
        str(st, "predicateType") != kSiteSummaryPredicate || !st.contains("predicate") ||
        !st["predicate"].is_object() || !st.contains("subject") || !st["subject"].is_array() ||
        st["subject"].size() != 1)
        throw VerifyError("not a site summary");
    const json& subject = st["subject"][0];
    VerifiedSiteSummary v;
    v.report_sha256 = subject.is_object() && subject.contains("digest")
                          ? str(subject["digest"], "sha256")
                          : std::string();
    if (str(subject, "name") != "report.json" || !is_sha256(v.report_sha256))
        throw VerifyError("site summary: the subject is not report.json with its SHA-256");
    json& p = st["predicate"];
    v.site = str(p, "site");
    v.generated = str(p, "generated");
    if (!trust::valid_site_name(v.site) || !trust::is_rfc3339_utc(v.generated) ||
        !p.contains("sequence") || !p["sequence"].is_number_unsigned() ||
        p["sequence"].get<std::uint64_t>() == 0 || !p.contains("site_certificate") ||
        !p["site_certificate"].is_object() || !p.contains("hosts") || !p["hosts"].is_array() ||
        !p.contains("counts") || !p["counts"].is_object())
        throw VerifyError(
            "site summary: malformed predicate (site, sequence, generated, "
            "site_certificate, counts, hosts)");
    v.sequence = p["sequence"].get<std::uint64_t>();
    const auto cert = trust::verify_site_certificate(trust, p["site_certificate"].dump());
    if (cert.site != v.site)
        throw VerifyError("site summary of site " + v.site + " carries the certificate of site " +
                          cert.site);
    if (!env.signed_by(cert.inspector))
        throw VerifyError("site summary of site " + v.site +
                          " is not signed by the key the trust root delegated to that site (" +
                          cert.inspector.keyid.substr(0, 16) + ")");
    if (v.generated < cert.not_before || v.generated > cert.not_after)
        throw VerifyError("site summary of site " + v.site + " was signed at " + v.generated +
                          ", outside its certificate's window " + cert.not_before + " .. " +
                          cert.not_after);
    if (!p.contains("trust_root") || str(p["trust_root"], "authority") != trust.authority)
        throw VerifyError("site summary of site " + v.site + " is for another authority");
    auto strings = [](const json& list, bool digests) {
        return list.is_array() && std::all_of(list.begin(), list.end(), [&](const json& x) {
                   return x.is_string() && (!digests || is_sha256(x.get<std::string>()));
               });
    };
    for (const auto& h : p["hosts"]) {
        bool ok = h.is_object() && is_sha256(str(h, "host")) && h.contains("ids") &&
                  strings(h["ids"], true) && h.contains("results") && h["results"].is_array();
        if (ok)
            for (const auto& r : h["results"])
                ok = ok && r.is_object() && !str(r, "product").empty() &&
                     !str(r, "status").empty() &&
                     strings(r.value("reason_codes", json::array()), false);
        if (!ok) throw VerifyError("site summary of site " + v.site + ": malformed host entry");
    }
    for (const char* list : {"rejected", "conflicts", "kit_heads"}) {
        const json l = p.value(list, json::array());
        if (!l.is_array() ||
            !std::all_of(l.begin(), l.end(), [](const json& x) { return x.is_object(); }))
            throw VerifyError("site summary of site " + v.site + ": \"" + list +
                              "\" is not a list of objects");
    }
    v.site_keyid = cert.inspector.keyid;
    v.statement_sha256 = crypto::sha256_hex(env.payload);
    v.predicate = std::move(p);
    return v;
}

bool is_site_summary(const crypto::Envelope& env) {
    if (env.payload_type != evidence::kPayloadType) return false;
    json st = json::parse(env.payload, nullptr, false);
    return st.is_object() && str(st, "predicateType") == kSiteSummaryPredicate;
}

std::string site_report_path(const std::string& summary_path) {
    const std::string suffix(kSiteSummaryFile);
    if (!summary_path.ends_with(suffix)) return "";
    return summary_path.substr(0, summary_path.size() - suffix.size()) + "report.json";
}

void check_site_report(const VerifiedSiteSummary& summary, std::string_view report_json) {
    const std::string got = crypto::sha256_hex(report_json);
    if (got != summary.report_sha256)
        throw VerifyError("report.json of site " + summary.site +
                          " is not the one its summary signs (sha256 " + got + ", signed " +
                          summary.report_sha256 + ")");
}

SiteState SiteState::load(const std::string& path) {
    SiteState s;
    auto bytes = read_input_file_if_exists(path, 64u << 20, "site state");
    if (!bytes) return s;
    json j = json::parse(*bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("sites") || !j["sites"].is_object())
        throw IoError(path + ": not a site state file");
    for (const auto& [site, e] : j["sites"].items()) {
        if (!e.is_object() || !e.contains("sequence") || !e["sequence"].is_number_unsigned())
            throw IoError(path + ": malformed entry for site " + site);
        s.sites[site] = {e["sequence"].get<std::uint64_t>(), str(e, "statement_sha256"),
                         str(e, "generated")};
    }
    return s;
}

void SiteState::save(const std::string& path) const {
    json list = json::object();
    for (const auto& [site, e] : sites)
        list[site] = {{"sequence", e.sequence},
                      {"statement_sha256", e.statement_sha256},
                      {"generated", e.generated}};
    const auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    evidence::write_file_atomic(path, json{{"schema_version", 1}, {"sites", list}}.dump(2) + "\n",
                                false, 0600);
}

std::string default_site_state_path(const std::string& name) {
    return (std::filesystem::path(trust::default_state_path()).parent_path() / name).string();
}

RollupSelection select_summaries(std::vector<RollupInput> inputs, SiteState& state) {
    std::stable_sort(inputs.begin(), inputs.end(), [](const RollupInput& a, const RollupInput& b) {
        return std::tie(a.summary.site, b.summary.sequence) <
               std::tie(b.summary.site, a.summary.sequence);
    });
    RollupSelection out;
    std::map<std::string, std::pair<std::uint64_t, std::string>> taken;  // site -> sequence, digest
    for (auto& in : inputs) {
        const auto& s = in.summary;
        auto refuse = [&](const std::string& why) {
            out.refused.push_back({{"file", s.file},
                                   {"site", s.site},
                                   {"sequence", s.sequence},
                                   {"statement_sha256", s.statement_sha256},
                                   {"reason", why}});
        };
        if (auto t = taken.find(s.site); t != taken.end()) {
            if (t->second.second == s.statement_sha256) continue;  // the same, twice
            if (t->second.first == s.sequence)
                refuse("site_summary_fork: two summaries of site " + s.site + " with sequence " +
                       std::to_string(s.sequence));
            else
                out.superseded.push_back(
                    {{"file", s.file}, {"site", s.site}, {"sequence", s.sequence}});
            continue;
        }
        auto it = state.sites.find(s.site);
        if (it != state.sites.end()) {
            const auto& last = it->second;
            if (s.sequence < last.sequence) {
                refuse("site_summary_replay: sequence " + std::to_string(s.sequence) +
                       " is older than the last accepted for site " + s.site + " (" +
                       std::to_string(last.sequence) + ", " + last.generated + ")");
                continue;
            }
            if (s.sequence == last.sequence && s.statement_sha256 != last.statement_sha256) {
                refuse("site_summary_fork: sequence " + std::to_string(s.sequence) + " of site " +
                       s.site + " was accepted before with other content");
                continue;
            }
        }
        state.sites[s.site] = {s.sequence, s.statement_sha256, s.generated};
        taken[s.site] = {s.sequence, s.statement_sha256};
        out.accepted.push_back(std::move(in));
    }
    return out;
}

}  // namespace audit::attest
