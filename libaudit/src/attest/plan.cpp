#include "audit/attest/plan.h"
#include "finding_presence.h"
#include "json_field.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>

#include "audit/attest/far.h"
#include "audit/attest/report.h"
#include "audit/attest/report_statement.h"
#include "audit/core/ascii.h"
#include "audit/evidence/bundle.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxPlanRows = 2000;  // the page; removal-plan.csv has every row

// Ecosystems whose records name an installed article (not a service, key, unit or module).
bool article_ecosystem(const std::string& e) {
    // The sources' ecosystem names (core/catalog.cpp): "macos" and "python" were never produced,
    // so Mac apps, receipts and PyPI packages named no article.
    static const std::set<std::string> kinds = {
        "deb", "rpm",       "pacman",    "apk",  "windows-uninstall",
        "msi", "macos-app", "macos-pkg", "snap", "flatpak",
        "npm", "pypi",      "pe",        "macho"};
    return kinds.count(e) != 0;
}

bool guid_shaped(const std::string& s) {
    if (s.size() != 38 || s.front() != '{' || s.back() != '}') return false;
    for (std::size_t i = 1; i < 37; ++i) {
        const char c = s[i];
        const bool dash = i == 9 || i == 14 || i == 19 || i == 24;
        if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

// An article several rules found takes the most specific family any of them names.
int family_rank(const std::string& f) {
    return f.empty() ? 0 : f == "unspecified" ? 1 : f == "multiple" ? 2 : 3;
}

struct Seen {
    Article article;
    bool from_inventory = false;
};

BundleRefLite ref_of_bundle(const BundleSummary& b) {
    return {b.bundle_id, b.statement_sha256, b.sha256, b.finished, b.imported_at};
}

}  // namespace

json BundleRefLite::to_json() const {
    return {{"bundle_id", bundle_id},
            {"statement_sha256", statement_sha256},
            {"sha256", sha256},
            {"scan_finished", finished},
            {"imported_at", imported_at}};
}

json Article::to_json() const {
    return {{"host", host_key},
            {"hostname", hostname},
            {"product", product},
            {"product_name", product_name},
            {"family", family},
            {"status", status},
            {"name", name},
            {"version", version},
            {"ecosystem", ecosystem},
            {"publisher", publisher},
            {"product_code", product_code},
            {"where", where},
            {"uninstall_command", uninstall_command},
            {"command_source", command_source},
            {"rules", rules},
            {"first_found", first.to_json()},
            {"last_found", last.to_json()}};
}

std::pair<std::string, std::string> uninstall_command(const json& inv) {
    const std::string e = str(inv, "ecosystem"), name = str(inv, "name");
    if (e == "windows-uninstall") {
        if (std::string u = str(inv, "uninstall_string"); !u.empty())
            return {u, "UninstallString (registry)"};
        return {"", ""};
    }
    if (e == "msi") {
        if (std::string code = str(inv, "product_code"); !code.empty())
            return {"msiexec /x " + code, "MSI product code (registry)"};
        return {"", ""};
    }
    if (name.empty()) return {"", ""};
    if (e == "deb") return {"apt-get purge " + name, "package manager (dpkg)"};
    if (e == "rpm") return {"rpm -e " + name, "package manager (rpm)"};
    if (e == "pacman") return {"pacman -Rns " + name, "package manager (pacman)"};
    if (e == "apk") return {"apk del " + name, "package manager (apk)"};
    if (e == "snap") return {"snap remove " + name, "package manager (snap)"};
    if (e == "flatpak") return {"flatpak uninstall " + name, "package manager (flatpak)"};
    return {"", ""};
}

void Articles::collect(const std::vector<const BundleSummary*>& host,
                       const std::vector<HostProductStatus>& statuses) {
    std::vector<const BundleSummary*> bundles;
    for (const BundleSummary* b : host)
        if (as_of.empty() || (b->finished <= as_of && b->imported_at <= as_of))
            bundles.push_back(b);
    std::stable_sort(
        bundles.begin(), bundles.end(),
        [](const BundleSummary* a, const BundleSummary* b) { return a->finished < b->finished; });
    for (const auto& st : statuses) {
        // Per article (lower-cased name, or the product when no inventory record names one).
        std::map<std::string, Seen> seen;
        std::vector<std::string> order;
        for (const BundleSummary* b : bundles) {
            std::set<std::string> here;
            for (const auto& f : b->findings) {
                if (!finding_proves_presence(f) || str(f, "product") != st.product) continue;
                const std::string family =
                    str(f, "family").empty() ? "unspecified" : str(f, "family");
                bool named = false;
                std::string file_where;
                for (const auto& rec : f.value("records", json::array())) {
                    if (!rec.is_object()) continue;
                    if (rec.contains("file") && file_where.empty())
                        file_where = str(rec["file"], "path");
                    if (!rec.contains("inventory")) continue;
                    const json& inv = rec["inventory"];
                    const std::string eco = str(inv, "ecosystem");
                    if (!article_ecosystem(eco) || str(inv, "name").empty()) continue;
                    named = true;
                    const std::string key = core::ascii_lower(str(inv, "name"));
                    auto [it, fresh] = seen.try_emplace(key);
                    Article& a = it->second.article;
                    if (fresh) {
                        order.push_back(key);
                        a.name = str(inv, "name");
                        a.first = ref_of_bundle(*b);
                    }
                    it->second.from_inventory = true;
                    if (!here.count(key)) {  // a later bundle: its facts replace older ones
                        here.insert(key);
                        a.last = ref_of_bundle(*b);
                        a.rules.clear();
                        a.version.clear();
                        a.ecosystem.clear();
                        a.uninstall_command.clear();
                        a.command_source.clear();
                        a.product_code.clear();
                        a.where.clear();
                    }
                    if (family_rank(family) >= family_rank(a.family)) a.family = family;
                    if (std::find(a.rules.begin(), a.rules.end(), str(f, "rule")) == a.rules.end())
                        a.rules.push_back(str(f, "rule"));
                    // Uninstall entries and packages say the version; an MSI record the code.
                    if (eco == "msi") {
                        a.product_code = str(inv, "product_code");
                        if (a.version.empty()) a.version = str(inv, "version");
                        if (a.ecosystem.empty()) a.ecosystem = eco;
                    } else {
                        if (!str(inv, "version").empty() &&
                            (a.version.empty() || a.ecosystem == "msi" || a.ecosystem.empty()))
                            a.version = str(inv, "version");
                        a.ecosystem = eco;
                        if (eco == "windows-uninstall" && a.product_code.empty() &&
                            guid_shaped(str(inv, "key_name")) &&
                            core::ascii_lower(str(inv, "uninstall_string")).find("msiexec") !=
                                std::string::npos)
                            a.product_code = str(inv, "key_name");
                    }
                    if (!str(inv, "publisher").empty())
                        a.publisher = str(inv, "publisher");
                    else if (a.publisher.empty() && inv.contains("signature"))
                        a.publisher = str(inv["signature"], "subject");  // a PE file's signer
                    if (a.where.empty() || eco != "msi") a.where = str(inv, "source");
                    auto [cmd, from] = uninstall_command(inv);
                    // The uninstall entry's own string outranks a derived command.
                    if (!cmd.empty() &&
                        (a.uninstall_command.empty() || from == "UninstallString (registry)")) {
                        a.uninstall_command = cmd;
                        a.command_source = from;
                    }
                }
                if (!named) {
                    const std::string key = "\x01product";
                    auto [it, fresh] = seen.try_emplace(key);
                    Article& a = it->second.article;
                    if (fresh) {
                        order.push_back(key);
                        a.name = st.product_name;
                        a.first = ref_of_bundle(*b);
                    }
                    if (!here.count(key)) {
                        here.insert(key);
                        a.last = ref_of_bundle(*b);
                        a.rules.clear();
                        a.where.clear();
                    }
                    if (family_rank(family) >= family_rank(a.family)) a.family = family;
                    a.rules.push_back(str(f, "rule"));
                    if (a.where.empty()) a.where = file_where;
                }
            }
        }
        // A product-level article only when no inventory record named one.
        const bool any_named = std::any_of(seen.begin(), seen.end(),
                                           [](const auto& kv) { return kv.second.from_inventory; });
        for (const auto& key : order) {
            Seen& s = seen[key];
            if (any_named && !s.from_inventory) continue;
            Article a = std::move(s.article);
            a.host_key = st.host_key;
            a.hostname = st.hostname;
            a.product = st.product;
            a.product_name = st.product_name;
            a.status = to_string(st.status);
            list_.push_back(std::move(a));
        }
    }
}

std::vector<Article> Articles::take() {
    std::vector<Article> out = std::move(list_);
    list_.clear();
    return out;
}

json removal_plan(const Articles& articles) {
    return removal_plan(articles.list());
}

json removal_plan(const std::vector<Article>& articles) {
    std::vector<const Article*> rows;
    for (const auto& a : articles)
        if (a.status == "present") rows.push_back(&a);
    std::stable_sort(rows.begin(), rows.end(), [](const Article* a, const Article* b) {
        return std::tie(a->family, a->product, a->name, a->version, a->hostname, a->host_key) <
               std::tie(b->family, b->product, b->name, b->version, b->hostname, b->host_key);
    });
    json out = json::array();
    for (const Article* a : rows)
        out.push_back({{"family", a->family},
                       {"product", a->product},
                       {"name", a->name},
                       {"version", a->version},
                       {"host", a->host_key},
                       {"hostname", a->hostname},
                       {"ecosystem", a->ecosystem},
                       {"where", a->where},
                       {"uninstall_command", a->uninstall_command},
                       {"command_source", a->command_source},
                       {"last_found", a->last.finished},
                       {"owner", ""},
                       {"target_date", ""},
                       {"done_date", ""}});
    return out;
}

std::string render_plan_csv(const json& plan) {
    std::string out =
        "family,product,name,version,host,hostname,ecosystem,where,uninstall_command,"
        "command_source,last_found,owner,target_date,done_date\r\n";
    for (const auto& r : plan) {
        std::string row;
        for (const char* k : {"family", "product", "name", "version", "host", "hostname",
                              "ecosystem", "where", "uninstall_command", "command_source",
                              "last_found", "owner", "target_date", "done_date"})
            row += (row.empty() ? "" : ",") + csv_field(str(r, k));
        out += row + "\r\n";
    }
    return out;
}

std::string page_title(const json& report) {
    const std::string t = str(report, "title");
    return t.empty() ? "Removal attestation report" : t;
}

const char* print_css() {
    return R"css(
@page{size:letter landscape;margin:12mm}
@media print{
body{background:#fff;font-size:10pt;color:#000}
header,section,footer{max-width:none;padding:4px 0}
section{break-inside:auto}
h2{break-after:avoid;page-break-after:avoid}
table{font-size:8pt}thead{display:table-header-group}
tr,.tile,svg{break-inside:avoid;page-break-inside:avoid}
svg{max-width:100%;height:auto}
.tile{border:1px solid #999;border-left-width:6px}
th{background:#eee !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
rect,polyline,line{-webkit-print-color-adjust:exact;print-color-adjust:exact}
#plan{break-before:page;page-break-before:always}
.screen-only{display:none}
}
)css";
}

std::string plan_html_section(const json& report) {
    auto it = report.find("removal_plan");
    if (it == report.end() || !it->is_array()) return "";
    const json& plan = *it;
    std::map<std::pair<std::string, std::string>, long long> by_version;
    for (const auto& r : plan) by_version[{str(r, "family"), str(r, "version")}]++;
    std::string h = "<section id=\"plan\"><h2>Removal plan (" + std::to_string(plan.size()) +
                    " present articles)</h2><p>From the latest verified findings of every present "
                    "host: the uninstall command the evidence shows. Owner and dates are for the "
                    "agency to fill in <code>removal-plan.csv</code>.</p>";
    h += "<table id=\"plan-versions\"><thead><tr><th>Family</th><th>Version</th><th>Hosts</th>"
         "</tr></thead><tbody>";
    for (const auto& [k, n] : by_version)
        h += "<tr><td>" + html_escape(k.first) + "</td><td>" + html_escape(k.second) +
             "</td><td class=\"n\">" + std::to_string(n) + "</td></tr>";
    h += "</tbody></table><table id=\"plan-table\"><thead><tr><th>Family</th><th>Name</th>"
         "<th>Version</th><th>Host</th><th>Uninstall command</th><th>From</th><th>Owner</th>"
         "<th>Target date</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < plan.size() && i < kMaxPlanRows; ++i) {
        const json& r = plan[i];
        h += "<tr><td>" + html_escape(str(r, "family")) + "</td><td>" +
             html_escape(str(r, "name")) + "</td><td>" + html_escape(str(r, "version")) +
             "</td><td class=\"host\">" + html_escape(str(r, "hostname")) + "</td><td><code>" +
             html_escape(str(r, "uninstall_command")) + "</code></td><td>" +
             html_escape(str(r, "command_source")) + "</td><td></td><td></td></tr>";
    }
    h += "</tbody></table>";
    if (plan.size() > kMaxPlanRows)
        h += "<p id=\"plan-truncated\">" + std::to_string(plan.size() - kMaxPlanRows) +
             " more rows are in removal-plan.csv.</p>";
    const json far = report.value("far_52_204_23", json::object());
    if (far.is_object() && far.contains("records"))
        h += "<p id=\"far\">FAR 52.204-23 draft: <b id=\"far-records\">" +
             std::to_string(far.value("records", 0)) +
             "</b> covered article record(s) in <code>far-52.204-23.csv</code> and "
             "<code>far-52.204-23.json</code>; earliest report due <b id=\"far-earliest-due\">" +
             html_escape(str(far, "earliest_report_due")) + "</b>.</p>";
    return h + "</section>\n";
}

void add_agency_sections(json& report, const std::string& title, const json& plan,
                         const json& far) {
    if (!title.empty()) report["title"] = title;
    if (plan.is_array()) report["removal_plan"] = plan;
    if (far.is_object() && far.contains("records")) {
        std::string earliest;
        for (const auto& r : far["records"]) {
            const std::string due = str(r, "report_due");
            if (!due.empty() && (earliest.empty() || due < earliest)) earliest = due;
        }
        add_agency_sections(report, "", json(), far["records"].size(), earliest);
    }
}

void add_agency_sections(json& report, const std::string& title, const json& plan,
                         std::size_t far_records, const std::string& earliest_due) {
    if (!title.empty()) report["title"] = title;
    if (plan.is_array()) report["removal_plan"] = plan;
    report["far_52_204_23"] = {{"records", far_records},
                               {"earliest_report_due", earliest_due},
                               {"file", "far-52.204-23.json"}};
}

void write_agency_files(const std::string& out, const json& report, const json& far,
                        const crypto::SigningKey& inspector) {
    if (report.contains("removal_plan"))
        evidence::write_file_atomic(out + "/removal-plan.csv",
                                    render_plan_csv(report["removal_plan"]));
    const bool with_far = far.is_object() && far.contains("records");
    if (with_far) {
        evidence::write_file_atomic(out + "/far-52.204-23.json",
                                    far.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
        evidence::write_file_atomic(out + "/far-52.204-23.csv", render_far_csv(far));
    }
    auto results = report.find("results");
    sign_report(out, report, with_far,
                results != report.end() && results->is_array() ? results->size() : 0, inspector);
}

void sign_report(const std::string& out, const json& report, bool with_far, std::size_t results,
                 const crypto::SigningKey& inspector) {
    std::vector<std::string> names = {"report.json"};
    for (const char* n : {"report.csv", "report.html"}) {
        struct stat st {};
        if (::stat((out + "/" + n).c_str(), &st) == 0) names.push_back(n);
    }
    if (report.contains("removal_plan")) names.push_back("removal-plan.csv");
    if (with_far) {
        names.push_back("far-52.204-23.json");
        names.push_back("far-52.204-23.csv");
    }
    names.push_back("attestations/");  // every attestation: one digest over their list
    sign_report_files(out, names, inspector,
                      {{"generated", str(report, "generated")},
                       {"title", page_title(report)},
                       {"trust_root", report.value("trust_root", json::object())},
                       {"results", results}});
}

}  // namespace audit::attest
