#include "audit/attest/report.h"
#include "json_field.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "attest/report_parts.h"
#include "audit/attest/attestation.h"
#include "audit/attest/plan.h"
#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr const char* kStatuses[] = {"removed", "absent", "present", "inconclusive"};
constexpr std::size_t kMaxAttentionRows = 2000;  // the CSV has every row; the page stays readable
constexpr std::size_t kMaxListRows = 200;        // removed/absent, leads, residue on the page

void make_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw IoError("cannot create " + dir + ": " + std::strerror(errno));
}

std::string file_label(const std::string& s) {
    std::string out;
    for (char c : s)
        out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c
                                                                                          : '_');
    while (!out.empty() && out.front() == '.') out.front() = '_';
    return out.substr(0, 96);
}

std::string attestation_name(const HostProductStatus& st) {
    const std::string id = st.host_key.substr(st.host_key.find(':') + 1, 12);
    return file_label(st.hostname.empty() ? st.host_key : st.hostname) + "_" + file_label(id) +
           "_" + file_label(st.product) + ".dsse.json";
}

// Many small files: renamed into place without a sync each; one syncfs at the end covers them.
void write_unsynced(const std::string& path, std::string_view bytes) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError("cannot create " + tmp + ": " + std::strerror(errno));
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw IoError("cannot write " + tmp + ": " + std::strerror(e));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0)
        throw IoError("cannot write " + path + ": " + std::strerror(errno));
}

void sync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open " + dir + ": " + std::strerror(errno));
    int rc = ::syncfs(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) throw IoError("cannot sync " + dir + ": " + std::strerror(e));
}

// Seconds since the epoch of "YYYY-MM-DD[THH:MM:SS[.frac]Z]".
long long epoch_of(const std::string& t) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    int n = std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s);
    if ((n != 3 && n != 6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        throw UsageError("'" + t + "' is not a date (YYYY-MM-DD or RFC 3339 UTC)");
    const long long days =
        core::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return days * 86400 + h * 3600 + mi * 60 + s;
}

// "YYYY-MM-DD" of seconds since the epoch.
std::string date_of(long long epoch) {
    return core::format_date((epoch >= 0 ? epoch : epoch - 86399) / 86400);
}

// Whole days from t0 to the time t ("" or malformed: nullopt); a day starts at t0's time.
std::optional<long> day_of(const std::string& t, long long t0) {
    if (t.empty()) return std::nullopt;
    try {
        long long d = epoch_of(t) - t0;
        return static_cast<long>(d >= 0 ? d / 86400 : (d - 86399) / 86400);
    } catch (const UsageError&) {
        return std::nullopt;
    }
}

std::string fmt_int(long long v) {
    return std::to_string(v);
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

const char* status_color(const std::string& s) {
    if (s == "removed") return "#2e7d32";
    if (s == "absent") return "#00838f";
    if (s == "present") return "#c62828";
    return "#ef6c00";
}

long long get_int(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

// The reason codes of one result: its "reason_codes", else the codes of its "reasons".
std::vector<std::string> codes_of(const json& r) {
    std::set<std::string> codes;
    auto it = r.find("reason_codes");
    if (it != r.end() && it->is_array()) {
        for (const auto& c : *it)
            if (c.is_string()) codes.insert(c.get<std::string>());
    } else {
        for (const auto& why : r.value("reasons", json::array()))
            if (why.is_string()) codes.insert(reason_code(why.get<std::string>()));
    }
    return {codes.begin(), codes.end()};
}

// The unique non-empty values, in first-seen order, joined.
std::string join_unique(const std::vector<std::string>& v, const char* sep = "; ") {
    std::vector<std::string> seen;
    std::string out;
    for (const auto& x : v) {
        if (x.empty() || std::find(seen.begin(), seen.end(), x) != seen.end()) continue;
        seen.push_back(x);
        out += (out.empty() ? "" : sep) + x;
    }
    return out;
}

// What one finding item is: "name version (publisher | signer)".
std::string item_what(const json& item) {
    std::string out = str(item, "name");
    if (!str(item, "version").empty()) out += (out.empty() ? "" : " ") + str(item, "version");
    std::string by = str(item, "publisher");
    if (by.empty() && !str(item, "signer").empty()) by = "signed " + str(item, "signer");
    if (!by.empty()) out += (out.empty() ? "" : " ") + ("(" + by + ")");
    return out;
}

// Where one finding item is: path, registry key, unit.
std::string item_where(const json& item) {
    std::vector<std::string> w;
    if (!str(item, "path").empty()) w.push_back(str(item, "path"));
    if (!str(item, "registry_key").empty()) w.push_back(str(item, "registry_key"));
    if (!str(item, "unit").empty()) w.push_back("unit " + str(item, "unit"));
    return join_unique(w, " ");
}

struct FindingText {
    std::vector<std::string> rules, what, versions, where;
};

FindingText finding_text(const json& findings) {
    FindingText t;
    if (!findings.is_array()) return t;
    for (const auto& f : findings) {
        t.rules.push_back(str(f, "rule") + " (" + str(f, "confidence") + ", " + str(f, "family") +
                          ")");
        for (const auto& item : f.value("items", json::array())) {
            t.what.push_back(item_what(item));
            t.versions.push_back(str(item, "version"));
            t.where.push_back(item_where(item));
        }
    }
    return t;
}

// Residue findings (raw findings.json records) as "rule: where".
std::string residue_text(const json& residue) {
    std::vector<std::string> out;
    if (residue.is_array())
        for (const auto& f : residue) {
            json s = finding_summary(f);
            std::vector<std::string> where;
            for (const auto& item : s["items"]) where.push_back(item_where(item));
            out.push_back(str(s, "rule") + ": " + join_unique(where, " "));
        }
    return join_unique(out);
}

// Stacked horizontal bars, one per product, with the count printed in each segment.
std::string product_chart(const json& products) {
    const int bar_h = 26, gap = 14, label_w = 210, width = 760, plot_w = width - label_w - 20;
    const int height = static_cast<int>(products.size()) * (bar_h + gap) + 40;
    std::string svg = "<svg id=\"chart-products\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      fmt_int(width) + "\" height=\"" + fmt_int(height) + "\" viewBox=\"0 0 " +
                      fmt_int(width) + " " + fmt_int(height) +
                      "\" role=\"img\" aria-label=\"status counts per product\">";
    int y = 10;
    for (const auto& p : products) {
        long long total = 0;
        for (const char* s : kStatuses) total += get_int(p["counts"], s);
        svg += "<text x=\"0\" y=\"" + fmt_int(y + 18) + "\" class=\"lbl\">" +
               html_escape(str(p, "name")) + "</text>";
        double x = label_w;
        for (const char* s : kStatuses) {
            long long n = get_int(p["counts"], s);
            if (n == 0 || total == 0) continue;
            double w =
                static_cast<double>(plot_w) * static_cast<double>(n) / static_cast<double>(total);
            svg += "<rect x=\"" + fmt(x) + "\" y=\"" + fmt_int(y) + "\" width=\"" + fmt(w) +
                   "\" height=\"" + fmt_int(bar_h) + "\" fill=\"" + status_color(s) + "\"><title>" +
                   std::string(s) + ": " + fmt_int(n) + "</title></rect>";
            if (w > 28)
                svg += "<text x=\"" + fmt(x + w / 2) + "\" y=\"" + fmt_int(y + 18) +
                       "\" class=\"seg\">" + fmt_int(n) + "</text>";
            x += w;
        }
        y += bar_h + gap;
    }
    int lx = label_w;
    for (const char* s : kStatuses) {
        svg += "<rect x=\"" + fmt_int(lx) + "\" y=\"" + fmt_int(y + 2) +
               "\" width=\"12\" height=\"12\" fill=\"" + status_color(s) + "\"/><text x=\"" +
               fmt_int(lx + 16) + "\" y=\"" + fmt_int(y + 13) + "\" class=\"lgd\">" + s + "</text>";
        lx += 120;
    }
    return svg + "</svg>";
}

struct Progress {
    long days = 0;                          // x axis length
    long today = 0;                         // the report's day: no line goes past it
    std::vector<long long> scanned, clean;  // cumulative host x product pairs per day
    long long total = 0;
    json marks = json::array();
    std::string start;  // YYYY-MM-DD
};

// Scanned: the pair's first scan; clean: its clean_since (the first bundle that proved it
// removed or absent), never its latest scan.
Progress progress_of(const ResultSource& results, const std::string& start,
                     const std::string& today, const json& marks) {
    Progress p;
    const long long t0 = epoch_of(start);
    p.start = date_of(t0);
    p.marks = marks.is_array() ? marks : json::array();
    p.today = std::max(0L, day_of(today, t0).value_or(0));
    long last = p.today;
    for (const auto& m : p.marks) last = std::max(last, static_cast<long>(get_int(m, "day")));
    p.days = std::max(100L, std::min(last + 10, 3650L));
    p.today = std::min(p.today, p.days);
    p.scanned.assign(static_cast<std::size_t>(p.days) + 1, 0);
    p.clean.assign(static_cast<std::size_t>(p.days) + 1, 0);
    // Per-day counts only: memory does not grow with the number of results.
    results([&](const json& r) {
        auto fs = day_of(str(r, "first_scan"), t0);
        if (!fs) return true;
        ++p.total;
        ++p.scanned[static_cast<std::size_t>(std::min(std::max(0L, *fs), p.days))];
        std::string st = str(r, "status");
        auto cs = day_of(str(r, "clean_since"), t0);
        if ((st == "removed" || st == "absent") && cs)
            ++p.clean[static_cast<std::size_t>(std::min(std::max(0L, *cs), p.days))];
        return true;
    });
    for (std::size_t i = 1; i < p.scanned.size(); ++i) {
        p.scanned[i] += p.scanned[i - 1];
        p.clean[i] += p.clean[i - 1];
    }
    return p;
}

std::string progress_chart(const Progress& p) {
    const int width = 760, height = 300, left = 50, right = 20, top = 20, bottom = 40;
    const double pw = width - left - right, ph = height - top - bottom;
    const double ymax = static_cast<double>(std::max<long long>(1, p.total));
    auto X = [&](long d) {
        return left + pw * static_cast<double>(d) / static_cast<double>(p.days);
    };
    auto Y = [&](long long v) { return top + ph - ph * static_cast<double>(v) / ymax; };
    std::string svg = "<svg id=\"chart-progress\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      fmt_int(width) + "\" height=\"" + fmt_int(height) + "\" viewBox=\"0 0 " +
                      fmt_int(width) + " " + fmt_int(height) +
                      "\" role=\"img\" aria-label=\"removal progress over time\">";
    svg += "<line x1=\"" + fmt_int(left) + "\" y1=\"" + fmt(top + ph) + "\" x2=\"" +
           fmt(left + pw) + "\" y2=\"" + fmt(top + ph) + "\" class=\"axis\"/>";
    svg += "<line x1=\"" + fmt_int(left) + "\" y1=\"" + fmt_int(top) + "\" x2=\"" + fmt_int(left) +
           "\" y2=\"" + fmt(top + ph) + "\" class=\"axis\"/>";
    svg += "<text x=\"" + fmt_int(left - 6) + "\" y=\"" + fmt_int(top + 4) + "\" class=\"ax\">" +
           fmt_int(p.total) + "</text><text x=\"" + fmt_int(left - 6) + "\" y=\"" + fmt(top + ph) +
           "\" class=\"ax\">0</text>";
    int row = 0;
    for (const auto& m : p.marks) {
        const long day = static_cast<long>(get_int(m, "day"));
        if (day < 0 || day > p.days) continue;
        const std::string cls = m.value("warning", false) == true ? "mark missed" : "mark";
        svg += "<line x1=\"" + fmt(X(day)) + "\" y1=\"" + fmt_int(top) + "\" x2=\"" + fmt(X(day)) +
               "\" y2=\"" + fmt(top + ph) + "\" class=\"" + cls + "\"/><text x=\"" +
               fmt(X(day) + 3) + "\" y=\"" + fmt_int(top + 10 + 12 * (row++ % 3)) +
               "\" class=\"mk\">" + fmt_int(day) + " d (" + html_escape(str(m, "date")) +
               "): " + html_escape(str(m, "label")) + "</text>";
    }
    svg += "<line id=\"today-marker\" x1=\"" + fmt(X(p.today)) + "\" y1=\"" + fmt_int(top) +
           "\" x2=\"" + fmt(X(p.today)) + "\" y2=\"" + fmt(top + ph) +
           "\" class=\"today\"/><text x=\"" + fmt(X(p.today) - 3) + "\" y=\"" + fmt(top + ph - 6) +
           "\" class=\"td\">today, day " + fmt_int(p.today) + "</text>";
    for (long d = 0; d <= p.days; d += p.days > 200 ? 60 : 10)
        svg += "<text x=\"" + fmt(X(d)) + "\" y=\"" + fmt(top + ph + 16) + "\" class=\"tick\">" +
               fmt_int(d) + "</text>";
    svg += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt_int(height - 4) +
           "\" class=\"tick\">days since campaign start (" + html_escape(p.start) + ")</text>";
    auto line = [&](const std::vector<long long>& v, const char* cls) {
        std::string pts;
        for (long d = 0; d <= p.today; ++d) {
            if (d > 0) pts += fmt(X(d)) + "," + fmt(Y(v[static_cast<std::size_t>(d - 1)])) + " ";
            pts += fmt(X(d)) + "," + fmt(Y(v[static_cast<std::size_t>(d)])) + " ";
        }
        return "<polyline class=\"" + std::string(cls) + "\" points=\"" + pts + "\"/>";
    };
    svg += line(p.scanned, "scanned") + line(p.clean, "clean");
    svg += "<rect x=\"" + fmt(left + pw - 230) + "\" y=\"" + fmt(top + ph - 44) +
           "\" width=\"12\" height=\"3\" class=\"lg-scanned\"/><text x=\"" + fmt(left + pw - 214) +
           "\" y=\"" + fmt(top + ph - 39) + "\" class=\"lgd\">scanned at least once</text>";
    svg += "<rect x=\"" + fmt(left + pw - 230) + "\" y=\"" + fmt(top + ph - 24) +
           "\" width=\"12\" height=\"3\" class=\"lg-clean\"/><text x=\"" + fmt(left + pw - 214) +
           "\" y=\"" + fmt(top + ph - 19) + "\" class=\"lgd\">proven removed or absent</text>";
    return svg + "</svg>";
}

constexpr const char* kCss = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1c1c1c;background:#fafafa}
header,section,footer{max-width:1100px;margin:0 auto;padding:12px 24px}
header{border-bottom:3px solid #263238}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:18px 0 8px}
.meta{color:#555;font-size:12px;word-break:break-all}
.tiles{display:flex;gap:12px;flex-wrap:wrap}
.tile{background:#fff;border:1px solid #ddd;border-left:6px solid #90a4ae;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:26px}
.s-removed{border-left-color:#2e7d32}.s-absent{border-left-color:#00838f}
.s-present{border-left-color:#c62828}.s-inconclusive{border-left-color:#ef6c00}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff1}td.n{text-align:right}
td.st-present{color:#c62828;font-weight:600}td.st-inconclusive{color:#ef6c00;font-weight:600}
ul.why{margin:0;padding-left:18px}
svg text{font:12px system-ui,sans-serif;fill:#222}
svg .seg{fill:#fff;text-anchor:middle;font-weight:600}svg .ax{text-anchor:end}
svg .tick{text-anchor:middle;fill:#555}svg .mk{fill:#6a1b9a}
svg .axis{stroke:#555}svg .mark{stroke:#6a1b9a;stroke-dasharray:4 3}svg .missed{stroke:#c62828}
svg .today{stroke:#000;stroke-width:2}svg .td{text-anchor:end;font-weight:600}
.warn{background:#fff3e0;border-left:6px solid #c62828;padding:6px 12px;margin:6px 0}
td.n-met{color:#2e7d32}td.n-unmet{color:#c62828;font-weight:600}
.items{margin:0;padding-left:16px;font-size:12px}code.p{word-break:break-all}
svg .scanned{fill:none;stroke:#1565c0;stroke-width:2}svg .clean{fill:none;stroke:#2e7d32;stroke-width:2}
svg .lg-scanned{fill:#1565c0}svg .lg-clean{fill:#2e7d32}
footer{color:#555;font-size:12px;border-top:1px solid #ddd;margin-top:24px}
)css";

}  // namespace

std::string html_escape(std::string_view raw) {
    // The page is UTF-8: bytes that are not show U+FFFD, replaced as report.json replaces them
    // (nlohmann's serializer), so a page rendered from results read back from that encoding (the
    // streamed report) and one rendered from results in memory are the same.
    std::string valid;
    if (std::any_of(raw.begin(), raw.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        valid = nlohmann::json::parse(
                    nlohmann::json(std::string(raw))
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                    .get<std::string>();
    const std::string_view text = valid.empty() ? raw : std::string_view(valid);
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                // Control characters from evidence would only confuse a reader.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
                    out += "&#xFFFD;";
                else
                    out.push_back(c);
        }
    }
    return out;
}

std::string csv_field(std::string_view text) {
    std::string v(text);
    if (!v.empty() &&
        (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r'))
        v.insert(v.begin(), '\'');
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

long days_between(const std::string& a, const std::string& b) {
    return static_cast<long>((epoch_of(b) - epoch_of(a)) / 86400);
}

std::string csv_header(bool by_site) {
    return std::string(by_site ? "site," : "") +
           "host,hostname,product,status,reason_codes,reasons,residue_findings,first_scan,"
           "latest_scan,attestation,family,first_found,last_found,removed_at,clean_since,rules,"
           "found,versions,where,leads,residue\r\n";
}

std::string csv_row(const json& r, bool by_site) {
    std::string out, reasons, codes;
    for (const auto& why : r.value("reasons", json::array()))
        if (why.is_string()) reasons += (reasons.empty() ? "" : "; ") + why.get<std::string>();
    for (const auto& code : codes_of(r)) codes += (codes.empty() ? "" : " ") + code;
    if (by_site) out += csv_field(str(r, "site")) + ",";
    out += csv_field(str(r, "host")) + "," + csv_field(str(r, "hostname")) + "," +
           csv_field(str(r, "product")) + "," + csv_field(str(r, "status")) + "," +
           csv_field(codes) + "," + csv_field(reasons) + "," +
           std::to_string(r.value("residue", json::array()).size()) + "," +
           csv_field(str(r, "first_scan")) + "," + csv_field(str(r, "latest_scan")) + "," +
           csv_field(str(r, "attestation"));
    FindingText f = finding_text(r.value("findings", json::array()));
    FindingText l = finding_text(r.value("leads", json::array()));
    std::vector<std::string> leads;
    for (std::size_t i = 0; i < l.rules.size(); ++i) leads.push_back(l.rules[i]);
    for (const auto& w : l.what) leads.push_back(w);
    for (const auto& w : l.where) leads.push_back(w);
    for (const char* k : {"family", "first_found", "last_found", "removed_at", "clean_since"})
        out += "," + csv_field(str(r, k));
    out += "," + csv_field(join_unique(f.rules)) + "," + csv_field(join_unique(f.what)) + "," +
           csv_field(join_unique(f.versions)) + "," + csv_field(join_unique(f.where)) + "," +
           csv_field(join_unique(leads)) + "," +
           csv_field(residue_text(r.value("residue", json::array()))) + "\r\n";
    return out;
}

std::string render_csv(const json& report) {
    // A roll-up of site summaries (it lists "sites"): the site is the first column.
    const bool by_site = report.contains("sites");
    std::string out = csv_header(by_site);
    if (auto it = report.find("results"); it != report.end() && it->is_array())
        for (const auto& r : *it) out += csv_row(r, by_site);
    return out;
}

ResultSource array_source(const json& results) {
    return [&results](const ResultVisitor& visit) {
        if (!results.is_array()) return;
        for (const auto& r : results)
            if (!visit(r)) return;
    };
}

std::string render_html(const json& report) {
    auto it = report.find("results");
    static const json none = json::array();
    return render_html(report, array_source(it != report.end() ? *it : none));
}

std::string render_html(const json& report, const ResultSource& results) {
    const json products = report.value("products", json::array());
    const json counts = report.value("counts", json::object());
    const std::string start = str(report, "campaign_start");
    std::string h;
    h.reserve(64 * 1024);
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         html_escape(page_title(report)) + "</title><style>";
    h += kCss;
    h += print_css();
    h += "</style></head><body>\n<header><h1>" + html_escape(page_title(report)) +
         "</h1><p class=\"meta\" "
         "id=\"generated\">Generated " +
         html_escape(str(report, "generated")) +
         (str(report, "as_of").empty()
              ? std::string()
              : " &middot; <b id=\"as-of\">as of " + html_escape(str(report, "as_of")) + "</b>") +
         " &middot; campaign start " + html_escape(start) + " &middot; trust root version " +
         fmt_int(get_int(report.value("trust_root", json::object()), "version")) + " (sha256 " +
         html_escape(str(report.value("trust_root", json::object()), "sha256")) +
         ") &middot; inspector key " + html_escape(str(report, "inspector_keyid")) +
         "</p></header>\n";

    // A roll-up of site summaries: the site as one more column, and the sites it merged.
    const bool by_site = report.contains("sites") && report["sites"].is_array();
    const std::string site_th = by_site ? "<th>Site</th>" : "";
    auto site_td = [&](const json& r) {
        return by_site ? "<td class=\"site\">" + html_escape(str(r, "site")) + "</td>"
                       : std::string();
    };
    h += "<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">";
    h += "<div class=\"tile\" id=\"count-hosts\"><b>" + fmt_int(get_int(report, "hosts")) +
         "</b>hosts</div>";
    for (const char* s : kStatuses)
        h += "<div class=\"tile s-" + std::string(s) + "\" id=\"count-" + s + "\"><b>" +
             fmt_int(get_int(counts, s)) + "</b>" + s + "</div>";
    h += "<div class=\"tile\" id=\"count-rejected\"><b>" +
         fmt_int(static_cast<long long>(report.value("rejected", json::array()).size())) +
         "</b>bundles rejected</div></div></section>\n";

    if (by_site) {
        h += "<section id=\"sites\"><h2>Sites (" +
             fmt_int(static_cast<long long>(report["sites"].size())) +
             ")</h2><table id=\"sites-table\"><thead><tr><th>Site</th><th>Summary sequence</th>"
             "<th>Signed</th><th>Rows from</th>";
        for (const char* s : kStatuses) h += "<th>" + std::string(s) + "</th>";
        h += "</tr></thead><tbody>";
        for (const auto& site : report["sites"]) {
            std::map<std::string, long long> n;
            const json site_counts = site.value("counts", json::object());
            for (const auto& [product, c] : site_counts.items())
                for (const char* s : kStatuses) n[s] += get_int(c, s);
            h += "<tr data-site=\"" + html_escape(str(site, "site")) + "\"><td>" +
                 html_escape(str(site, "site")) + "</td><td class=\"n\">" +
                 fmt_int(get_int(site, "sequence")) + "</td><td>" +
                 html_escape(str(site, "generated")) + "</td><td>" +
                 (site.value("report_included", false) ? "report.json" : "summary only") + "</td>";
            for (const char* s : kStatuses)
                h += "<td class=\"n\" data-status=\"" + std::string(s) + "\">" + fmt_int(n[s]) +
                     "</td>";
            h += "</tr>";
        }
        h += "</tbody></table></section>\n";
    }
    h += "<section id=\"products\"><h2>Status per product</h2>" + product_chart(products);
    h += "<table id=\"product-table\"><thead><tr><th>Product</th>";
    for (const char* s : kStatuses) h += "<th>" + std::string(s) + "</th>";
    h += "</tr></thead><tbody>";
    for (const auto& p : products) {
        h += "<tr data-product=\"" + html_escape(str(p, "product")) + "\"><td>" +
             html_escape(str(p, "name")) + "</td>";
        for (const char* s : kStatuses)
            h += "<td class=\"n\" data-status=\"" + std::string(s) + "\">" +
                 fmt_int(get_int(p.value("counts", json::object()), s)) + "</td>";
        h += "</tr>";
    }
    h += "</tbody></table></section>\n";

    const json codes = report.value("reason_codes", json::object());
    h += "<section id=\"reason-codes\"><h2>Reason codes</h2><table id=\"reason-code-table\">"
         "<thead><tr><th>Code</th><th>Host &times; product results</th></tr></thead><tbody>";
    if (codes.is_object())
        for (const auto& [code, n] : codes.items())
            h += "<tr data-code=\"" + html_escape(code) + "\"><td><code>" + html_escape(code) +
                 "</code></td><td class=\"n\">" +
                 fmt_int(n.is_number_integer() ? n.get<long long>() : 0) + "</td></tr>";
    h += "</tbody></table></section>\n";

    const json families = report.value("families", json::array());
    h += "<section id=\"families\"><h2>Product families and versions</h2><table "
         "id=\"family-table\"><thead><tr><th>Family</th><th>Versions found (host &times; product "
         "pairs)</th>";
    for (const char* s : kStatuses) h += "<th>" + std::string(s) + "</th>";
    h += "</tr></thead><tbody>";
    for (const auto& f : families) {
        h += "<tr data-family=\"" + html_escape(str(f, "family")) + "\"><td>" +
             html_escape(str(f, "family")) + "</td><td>";
        const json versions = f.value("versions", json::object());
        if (versions.is_object())
            for (const auto& [v, n] : versions.items())
                h += "<code>" + html_escape(v) + "</code>&nbsp;&times;" +
                     fmt_int(n.is_number_integer() ? n.get<long long>() : 0) + " ";
        h += "</td>";
        for (const char* s : kStatuses)
            h += "<td class=\"n\" data-status=\"" + std::string(s) + "\">" +
                 fmt_int(get_int(f.value("counts", json::object()), s)) + "</td>";
        h += "</tr>";
    }
    h += "</tbody></table></section>\n";

    if (!start.empty()) {
        const json marks = report.value("marks", json::array());
        Progress p = progress_of(results, start, str(report, "today"), marks);
        auto at = [&](const std::vector<long long>& v, long d) {
            return v[static_cast<std::size_t>(std::max(0L, std::min({d, p.days, p.today})))];
        };
        h += "<section id=\"progress\"><h2>Removal progress</h2>" + progress_chart(p) +
             "<p id=\"milestones\">Of " + fmt_int(p.total) +
             " host &times; product pairs: day 30 (identify): <b id=\"scanned-30\">" +
             fmt_int(at(p.scanned, 30)) +
             "</b> scanned; day 90 (begin removal): <b id=\"clean-90\">" +
             fmt_int(at(p.clean, 90)) + "</b> proven removed or absent; today (day " +
             fmt_int(p.today) + ", " + html_escape(str(report, "today").substr(0, 10)) +
             "): <b id=\"clean-today\">" + fmt_int(at(p.clean, p.today)) +
             "</b>. A pair counts as clean from its first scan that proved it (removed_at), not "
             "from its latest. Scan times are the hosts' own clocks.</p>";
        for (const auto& m : marks)
            if (m.value("warning", false) == true)
                h += "<p class=\"warn mark-warning\">" + html_escape(str(m, "note")) + "</p>";
        h += "<table id=\"marks-table\"><thead><tr><th>Day</th><th>Date</th><th>Milestone</th>"
             "<th>State</th><th>Measured</th></tr></thead><tbody>";
        for (const auto& m : marks) {
            const std::string state = str(m, "state");
            h += "<tr data-day=\"" + fmt_int(get_int(m, "day")) + "\"><td class=\"n\">" +
                 fmt_int(get_int(m, "day")) + "</td><td>" + html_escape(str(m, "date")) +
                 "</td><td>" + html_escape(str(m, "label")) + "</td><td class=\"n-" +
                 (state == "missed" ? std::string("unmet") : std::string("met")) + "\">" +
                 html_escape(state) + "</td><td>" + html_escape(str(m, "note")) + "</td></tr>";
        }
        h += "</tbody></table></section>\n";
    }

    // The results are visited in a few passes (counts; present, then inconclusive; the first
    // rows of each bounded list), so the page never needs every result in memory at once.
    long long n_attention = 0, n_clean = 0, n_removed = 0, n_absent = 0, n_leads = 0, n_residue = 0;
    results([&](const json& r) {
        std::string st = str(r, "status");
        n_attention += st == "present" || st == "inconclusive";
        n_clean += st == "removed" || st == "absent";
        n_removed += st == "removed";
        n_absent += st == "absent";
        n_leads += !r.value("leads", json::array()).empty();
        n_residue += !r.value("residue", json::array()).empty();
        return true;
    });
    // The findings of one result as a list: what (name version publisher) and where.
    auto found_cell = [](const json& findings) {
        std::string c = "<ul class=\"items\">";
        std::size_t shown = 0, total = 0;
        for (const auto& f : findings) {
            for (const auto& item : f.value("items", json::array())) {
                ++total;
                if (shown++ >= 5) continue;
                c += "<li><b>" + html_escape(item_what(item)) + "</b> <code class=\"p\">" +
                     html_escape(item_where(item)) + "</code> <small>" +
                     html_escape(str(f, "rule")) + ", " + html_escape(str(f, "confidence")) +
                     "</small></li>";
            }
            total += static_cast<std::size_t>(std::max<long long>(
                0, get_int(f, "items_total") -
                       static_cast<long long>(f.value("items", json::array()).size())));
        }
        if (total > 5)
            c += "<li>&hellip; " + fmt_int(static_cast<long long>(total - 5)) + " more</li>";
        return c + "</ul>";
    };
    h += "<section id=\"attention\"><h2>Hosts needing attention (" + fmt_int(n_attention) +
         ")</h2><table id=\"attention-table\"><thead><tr>" + site_th +
         "<th>Host</th><th>Identifier</th>"
         "<th>Product</th><th>Status</th><th>Reason codes</th><th>Why</th><th>Family</th>"
         "<th>Found (what, where)</th><th>First found</th><th>Last found</th><th>Latest scan</th>"
         "</tr></thead><tbody>";
    // Present first, then inconclusive, each in report order: the first kMaxAttentionRows in
    // full, the rest in a short form (folded).
    std::string more;
    std::size_t shown = 0;
    for (const char* wanted : {"present", "inconclusive"})
        results([&](const json& r) {
            const std::string st = str(r, "status");
            if (st != wanted) return true;
            if (shown++ >= kMaxAttentionRows) {
                more += "<tr><td>" + html_escape(str(r, "hostname")) + "</td><td>" +
                        html_escape(str(r, "host")) + "</td><td>" + html_escape(str(r, "product")) +
                        "</td><td>" + html_escape(st) + "</td><td>";
                for (const auto& code : codes_of(r)) more += html_escape(code) + " ";
                more += "</td></tr>";
                return true;
            }
            h += "<tr>" + site_td(r) + "<td class=\"host\">" + html_escape(str(r, "hostname")) +
                 "</td><td>" + html_escape(str(r, "host")) + "</td><td>" +
                 html_escape(str(r, "product")) + "</td><td class=\"st-" + st + "\">" +
                 html_escape(st) + "</td><td class=\"codes\">";
            for (const auto& code : codes_of(r)) h += "<code>" + html_escape(code) + "</code> ";
            h += "</td><td><ul class=\"why\">";
            if (st == "present") h += "<li>product found in the latest verified bundle</li>";
            for (const auto& why : r.value("reasons", json::array()))
                if (why.is_string()) h += "<li>" + html_escape(why.get<std::string>()) + "</li>";
            h += "</ul></td><td>" + html_escape(str(r, "family")) + "</td><td class=\"found\">" +
                 found_cell(r.value("findings", json::array())) + "</td><td>" +
                 html_escape(str(r, "first_found")) + "</td><td>" +
                 html_escape(str(r, "last_found")) + "</td><td>" +
                 html_escape(str(r, "latest_scan")) + "</td></tr>";
            return true;
        });
    h += "</tbody></table>";
    if (shown > kMaxAttentionRows) {
        // Every host needing attention stays on the page: the rest in a short form, folded.
        h += "<details id=\"attention-more\"><summary id=\"attention-truncated\">" +
             fmt_int(static_cast<long long>(shown - kMaxAttentionRows)) +
             " more (host, product, status, reason codes; details in report.csv)</summary><table "
             "id=\"attention-more-table\"><tbody>" +
             more + "</tbody></table></details>";
    }
    more.clear();
    more.shrink_to_fit();
    h += "</section>\n";

    // Removed and absent: counts and a bounded list (every row is in report.csv and .json).
    h += "<section id=\"clean\"><h2>Removed (<span id=\"clean-removed\">" + fmt_int(n_removed) +
         "</span>) and absent (<span id=\"clean-absent\">" + fmt_int(n_absent) +
         "</span>)</h2><table id=\"clean-table\"><thead><tr>" + site_th +
         "<th>Host</th><th>Identifier</th>"
         "<th>Product</th><th>Status</th><th>Family</th><th>Found (what, where)</th>"
         "<th>Last found</th><th>Clean since</th></tr></thead><tbody>";
    // Each bounded list: the first kMaxListRows results that belong to it, in report order.
    auto first_rows = [&](const std::function<bool(const json&)>& belongs,
                          const std::function<void(const json&)>& row) {
        std::size_t n = 0;
        results([&](const json& r) {
            if (!belongs(r)) return true;
            row(r);
            return ++n < kMaxListRows;
        });
    };
    first_rows(
        [](const json& r) {
            const std::string st = str(r, "status");
            return st == "removed" || st == "absent";
        },
        [&](const json& r) {
            h += "<tr>" + site_td(r) + "<td class=\"host\">" + html_escape(str(r, "hostname")) +
                 "</td><td>" + html_escape(str(r, "host")) + "</td><td>" +
                 html_escape(str(r, "product")) + "</td><td>" + html_escape(str(r, "status")) +
                 "</td><td>" + html_escape(str(r, "family")) + "</td><td class=\"found\">" +
                 found_cell(r.value("findings", json::array())) + "</td><td>" +
                 html_escape(str(r, "last_found")) + "</td><td>" +
                 html_escape(str(r, "clean_since")) + "</td></tr>";
        });
    h += "</tbody></table>";
    if (n_clean > static_cast<long long>(kMaxListRows))
        h += "<p id=\"clean-truncated\">" + fmt_int(n_clean) +
             " removed or absent in all; the first " +
             fmt_int(static_cast<long long>(kMaxListRows)) +
             " are shown, every row is in report.csv and report.json.</p>";
    h += "</section>\n";

    h += "<section id=\"leads\"><h2>Leads for review (" + fmt_int(n_leads) +
         ")</h2><p>Weak matches: not presence, not cleared either; look at them.</p><table "
         "id=\"leads-table\"><thead><tr><th>Host</th><th>Product</th><th>Status</th><th>Lead "
         "(what, where)</th></tr></thead><tbody>";
    first_rows([](const json& r) { return !r.value("leads", json::array()).empty(); },
               [&](const json& r) {
                   h += "<tr><td class=\"host\">" + html_escape(str(r, "hostname")) + "</td><td>" +
                        html_escape(str(r, "product")) + "</td><td>" +
                        html_escape(str(r, "status")) + "</td><td class=\"found\">" +
                        found_cell(r.value("leads", json::array())) + "</td></tr>";
               });
    h += "</tbody></table>";
    if (n_leads > static_cast<long long>(kMaxListRows))
        h += "<p id=\"leads-truncated\">" +
             fmt_int(n_leads - static_cast<long long>(kMaxListRows)) + " more in report.csv.</p>";
    h += "</section>\n";

    h += "<section id=\"residue\"><h2>Residue left (" + fmt_int(n_residue) +
         ")</h2><table id=\"residue-table\"><thead><tr><th>Host</th><th>Product</th><th>Status</th>"
         "<th>Residue</th></tr></thead><tbody>";
    first_rows([](const json& r) { return !r.value("residue", json::array()).empty(); },
               [&](const json& r) {
                   h += "<tr><td class=\"host\">" + html_escape(str(r, "hostname")) + "</td><td>" +
                        html_escape(str(r, "product")) + "</td><td>" +
                        html_escape(str(r, "status")) + "</td><td><code class=\"p\">" +
                        html_escape(residue_text(r.value("residue", json::array()))) +
                        "</code></td></tr>";
               });
    h += "</tbody></table>";
    if (n_residue > static_cast<long long>(kMaxListRows))
        h += "<p id=\"residue-truncated\">" +
             fmt_int(n_residue - static_cast<long long>(kMaxListRows)) + " more in report.csv.</p>";
    h += "</section>\n";

    h += plan_html_section(report);

    const json rejected = report.value("rejected", json::array());
    h += "<section id=\"rejected\"><h2>Bundles rejected (" +
         fmt_int(static_cast<long long>(rejected.size())) +
         ")</h2><table id=\"rejected-table\"><thead><tr><th>File</th><th>Reason</th></tr></thead>"
         "<tbody>";
    for (const auto& r : rejected)
        h += "<tr><td>" + html_escape(str(r, "file")) + "</td><td>" +
             html_escape(str(r, "reason")) + "</td></tr>";
    h += "</tbody></table></section>\n";

    const json not_verified = report.value("not_verified", json::array());
    h += "<section id=\"not-verified\"><h2>Stored evidence that no longer verifies (" +
         fmt_int(static_cast<long long>(not_verified.size())) +
         ", not used)</h2><table id=\"not-verified-table\"><thead><tr><th>Kind</th><th>File</th>"
         "<th>Reason</th></tr></thead><tbody>";
    for (const auto& r : not_verified)
        h += "<tr><td>" + html_escape(str(r, "kind")) + "</td><td>" + html_escape(str(r, "file")) +
             "</td><td>" + html_escape(str(r, "reason")) + "</td></tr>";
    h += "</tbody></table></section>\n";

    const json conflicts = report.value("conflicts", json::array());
    h += "<section id=\"conflicts\"><h2>Conflicting bundles (" +
         fmt_int(static_cast<long long>(conflicts.size())) +
         ")</h2><table id=\"conflicts-table\"><thead><tr><th>Kit</th><th>Sequence</th>"
         "<th>File</th><th>Other bundle</th></tr></thead><tbody>";
    for (const auto& c : conflicts)
        h += "<tr><td>" + html_escape(str(c, "kit")) + "</td><td class=\"n\">" +
             fmt_int(get_int(c, "sequence")) + "</td><td>" + html_escape(str(c, "file")) +
             "</td><td>" + html_escape(str(c, "other_sha256")) + "</td></tr>";
    h += "</tbody></table></section>\n";

    h +=
        by_site
            ? "<footer><p>This page holds no scripts and loads nothing. It merges the site "
              "summaries listed above, each verified against the trust root and its site's "
              "certificate; the sites' signed attestations are the authority (the summaries "
              "carry their digests): check a sampled host's with <code>audit-verify</code> at "
              "its site. Every row is in report.csv and report.json.</p></footer>\n</body></html>\n"
            : "<footer><p>This page holds no scripts and loads nothing. The signed attestations "
              "in <code>attestations/</code> are the authority: check them with "
              "<code>audit-verify --trust TRUST attestations/*.dsse.json</code>. Every row is in "
              "report.csv and report.json.</p></footer>\n</body></html>\n";
    return h;
}

namespace {

// The unique versions of a result's findings.
std::set<std::string> versions_of(const json& r) {
    std::set<std::string> out;
    for (const auto& f : r.value("findings", json::array()))
        for (const auto& item : f.value("items", json::array()))
            if (!str(item, "version").empty()) out.insert(str(item, "version"));
    return out;
}

json marks_of(const ResultSource& results, const std::vector<Mark>& marks, long long t0,
              const std::string& today) {
    const long today_day = day_of(today, t0).value_or(0);
    // One pass over the results for every mark: per mark four counters.
    std::vector<std::array<long long, 4>> n(marks.size(), {0, 0, 0, 0});
    results([&](const json& r) {
        auto fs = day_of(str(r, "first_scan"), t0);
        if (!fs) return true;
        auto ff = day_of(str(r, "first_found"), t0);
        auto ra = day_of(str(r, "removed_at"), t0);
        for (std::size_t i = 0; i < marks.size(); ++i) {
            const long D = marks[i].day;
            ++n[i][0];
            if (*fs > D) ++n[i][1];
            if (ff && *ff <= D) {
                ++n[i][2];
                if (ra && *ra <= D) ++n[i][3];
            }
        }
        return true;
    });
    json out = json::array();
    for (std::size_t i = 0; i < marks.size(); ++i) {
        const Mark& m = marks[i];
        const long D = m.day;
        const long long pairs = n[i][0], late = n[i][1], found_by = n[i][2], removed_by = n[i][3];
        const bool passed = today_day > D;
        std::string state, note;
        const std::string when =
            "day " + std::to_string(D) + " (" + date_of(t0 + D * 86400) + ", " + m.label + ")";
        if (m.kind == "identify") {
            note = std::to_string(pairs - late) + " of " + std::to_string(pairs) +
                   " host x product pairs were first scanned by " + when +
                   "; hosts never scanned are not counted";
            state = !passed ? "upcoming" : late == 0 ? "met" : "missed";
        } else if (m.kind == "begin-removal" || m.kind == "removed") {
            note = std::to_string(removed_by) + " of " + std::to_string(found_by) +
                   " host x product pairs found by " + when + " were proven removed by then";
            bool met =
                m.kind == "removed" ? removed_by == found_by : found_by == 0 || removed_by > 0;
            state = !passed ? "upcoming" : met ? "met" : "missed";
        } else {
            note = "not judged from the evidence";
            state = !passed ? "upcoming" : "not judged";
        }
        if (state == "missed") note = when + " has passed unmet: " + note;
        out.push_back({{"day", D},
                       {"date", date_of(t0 + D * 86400)},
                       {"kind", m.kind},
                       {"label", m.label},
                       {"state", state},
                       {"passed", passed},
                       {"warning", state == "missed"},
                       {"note", note}});
    }
    return out;
}

}  // namespace

std::vector<Mark> default_marks() {
    return {{30, "identify", "identify and report"},
            {60, "plan", "removal plan"},
            {90, "begin-removal", "begin removal"}};
}

Mark parse_mark(const std::string& text) {
    Mark m;
    auto c1 = text.find(':');
    std::string day = text.substr(0, c1);
    if (day.empty() || day.size() > 4 || !std::all_of(day.begin(), day.end(), ::isdigit) ||
        c1 == std::string::npos)
        throw UsageError("--mark '" + text + "' is not DAY:KIND[:LABEL]");
    m.day = std::stol(day);
    auto c2 = text.find(':', c1 + 1);
    m.kind = text.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    if (m.kind != "identify" && m.kind != "plan" && m.kind != "begin-removal" &&
        m.kind != "removed" && m.kind != "none")
        throw UsageError("--mark '" + text +
                         "': KIND is one of identify, plan, begin-removal, removed, none");
    m.label = c2 == std::string::npos ? m.kind : text.substr(c2 + 1);
    return m;
}

std::string end_of_day(const std::string& date) {
    epoch_of(date);  // throws UsageError
    if (date.size() == 10) return date + "T23:59:59Z";
    if (!trust::is_rfc3339_utc(date))
        throw UsageError("'" + date + "' is not a date (YYYY-MM-DD or RFC 3339 UTC)");
    return date;
}

void restrict_to_as_of(ReportContext& context, const std::string& as_of) {
    if (as_of.empty()) return;
    const long long limit = epoch_of(as_of);
    auto after = [&](const json& entry, const char* key) {
        const std::string t = str(entry, key);
        return trust::is_rfc3339_utc(t) && epoch_of(t) > limit;
    };
    auto drop = [&](json& list, const char* key) {
        if (!list.is_array()) return;
        json kept = json::array();
        for (auto& e : list)
            if (!after(e, key)) kept.push_back(std::move(e));
        list = std::move(kept);
    };
    drop(context.bundles, "finished");
    drop(context.conflicts, "finished");
    drop(context.rejected, "rejected_at");
}

namespace detail {

unsigned worker_threads(unsigned cap) {
    if (const char* env = std::getenv("AUDIT_WORKERS"); env && *env) {
        char* end = nullptr;
        const unsigned long n = std::strtoul(env, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 64) return static_cast<unsigned>(n);
    }
    return std::max(1u, std::min(cap, std::thread::hardware_concurrency()));
}

void make_report_dir(const std::string& dir) {
    make_dir(dir);
}

void sync_report_dir(const std::string& dir) {
    sync_dir(dir);
}

long long report_epoch(const std::string& t) {
    return epoch_of(t);
}

std::vector<std::string> sign_attestations(const HostProductStatus* statuses, std::size_t count,
                                           std::vector<std::optional<crypto::SigningKey>>& keys,
                                           const crypto::SigningKey& inspector,
                                           const std::string& out, const std::string& generated) {
    // Sign on every core: signatures, not SQL or JSON, are the cost at fleet scale.
    std::vector<std::string> names(count);
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&](std::optional<crypto::SigningKey>& key) {
        for (std::size_t i = next++; i < count; i = next++) {
            try {
                if (!key) key = inspector.clone();  // a key signs from one thread at a time
                names[i] = attestation_name(statuses[i]);
                auto env = attestation(statuses[i], *key, generated);
                write_unsynced(out + "/attestations/" + names[i], env.to_json() + "\n");
            } catch (...) {
                std::lock_guard<std::mutex> g(error_mutex);
                if (!error) error = std::current_exception();
                next = count;
            }
        }
    };
    if (keys.empty()) keys.resize(worker_threads(16));
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < keys.size() && i < count; ++i)
        threads.emplace_back(worker, std::ref(keys[i]));
    worker(keys[0]);
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
    return names;
}

void ReportTotals::add(const json& r) {
    const std::string status = str(r, "status"), product = str(r, "product");
    ++results_;
    for (const auto& code : codes_of(r)) reason_codes_[code]++;
    counts_[status]++;
    auto& p = products_[product];
    p.first = str(r, "product_name");
    p.second[status]++;
    const std::string first_scan = str(r, "first_scan");
    if (!first_scan.empty() && (earliest_.empty() || first_scan < earliest_))
        earliest_ = first_scan;
    if (status != "removed" && status != "absent") all_clear_ = false;
    // Families (item 3): host x product pairs per family and status, and per version found.
    const std::string fam = str(r, "family").empty() ? "unspecified" : str(r, "family");
    family_counts_[fam][status]++;
    for (const auto& v : versions_of(r)) {
        family_versions_[fam][v]++;
        product_versions_[product][v]++;
    }
}

json ReportTotals::head(const ReportOptions& options, const ReportContext& context,
                        const std::string& inspector_keyid, std::size_t hosts,
                        const ResultSource& results) const {
    std::map<std::string, long long> counts = counts_;
    for (const char* s : kStatuses) counts.emplace(s, 0);
    json product_list = json::array();
    for (auto [id, p] : products_) {
        for (const char* s : kStatuses) p.second.emplace(s, 0);
        auto v = product_versions_.find(id);
        product_list.push_back({{"product", id},
                                {"name", p.first},
                                {"counts", p.second},
                                {"versions", v != product_versions_.end()
                                                 ? json(v->second)
                                                 : json(std::map<std::string, long long>())}});
    }
    std::string start = options.campaign_start.empty() ? earliest_ : options.campaign_start;
    const std::string today = options.as_of.empty() ? options.generated : options.as_of;
    if (!start.empty()) epoch_of(start);  // a malformed --campaign-start is a usage error
    if (!options.campaign_start.empty() && epoch_of(start) > epoch_of(today))
        throw UsageError("--campaign-start " + start + " is after the report's date " + today +
                         "; a campaign cannot start in the future");
    json family_list = json::array();
    for (auto [fam, c] : family_counts_) {
        for (const char* st : kStatuses) c.emplace(st, 0);
        auto v = family_versions_.find(fam);
        family_list.push_back(
            {{"family", fam},
             {"counts", c},
             {"versions", v != family_versions_.end() ? json(v->second)
                                                      : json(std::map<std::string, long long>())}});
    }
    const json marks =
        start.empty() ? json::array() : marks_of(results, options.marks, epoch_of(start), today);
    json report = {{"generated", options.generated},
                   {"campaign_start", start},
                   {"as_of", options.as_of},
                   {"today", today},
                   {"marks", marks},
                   {"families", family_list},
                   {"trust_root", context.trust_root},
                   {"inspector_keyid", inspector_keyid},
                   {"hosts", hosts},
                   {"counts", counts},
                   {"reason_codes", reason_codes_},
                   {"products", product_list},
                   {"rejected", context.rejected},
                   {"conflicts", context.conflicts},
                   {"not_verified", context.not_verified}};
    if (!context.ledger.is_null()) report["ledger"] = context.ledger;
    return report;
}

}  // namespace detail

ReportSummary write_report(const std::vector<HostProductStatus>& statuses,
                           const crypto::SigningKey& inspector, const ReportOptions& options,
                           const ReportContext& context) {
    const std::string& out = options.out_dir;
    make_dir(out);
    make_dir(out + "/attestations");
    std::vector<std::optional<crypto::SigningKey>> keys;
    const std::vector<std::string> names = detail::sign_attestations(
        statuses.data(), statuses.size(), keys, inspector, out, options.generated);
    sync_dir(out + "/attestations");

    ReportSummary summary;
    detail::ReportTotals totals;
    json results = json::array();
    std::set<std::string> hosts;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        json r = statuses[i].to_json();
        r["attestation"] = "attestations/" + names[i];
        totals.add(r);
        hosts.insert(statuses[i].host_key);
        results.push_back(std::move(r));
    }
    summary.all_clear = totals.all_clear();
    summary.report = totals.head(options, context, inspector.identity().keyid, hosts.size(),
                                 array_source(results));
    summary.report["results"] = std::move(results);
    summary.report["bundles"] = context.bundles;

    add_agency_sections(summary.report, options.title, context.removal_plan, context.far);
    evidence::write_file_atomic(
        out + "/report.json",
        summary.report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (options.html) {
        evidence::write_file_atomic(out + "/report.csv", render_csv(summary.report));
        evidence::write_file_atomic(out + "/report.html", render_html(summary.report));
    }
    write_agency_files(out, summary.report, context.far, inspector);
    return summary;
}

}  // namespace audit::attest

namespace audit::attest {

json report_diff(const json& a, const json& b) {
    auto index = [](const json& report) {
        std::map<std::pair<std::string, std::string>, const json*> out;
        if (report.contains("results") && report["results"].is_array())
            for (const auto& r : report["results"]) out[{str(r, "host"), str(r, "product")}] = &r;
        return out;
    };
    if (!a.is_object() || !b.is_object() || !a.contains("results") || !b.contains("results"))
        throw UsageError("report-diff compares two report.json files");
    const auto ia = index(a), ib = index(b);
    json counts = json::object();
    for (const char* s : kStatuses) {
        long long x = get_int(a.value("counts", json::object()), s);
        long long y = get_int(b.value("counts", json::object()), s);
        counts[s] = {{"a", x}, {"b", y}, {"delta", y - x}};
    }
    auto brief = [](const json& r) {
        std::set<std::string> v = versions_of(r);
        return json{{"host", str(r, "host")},
                    {"hostname", str(r, "hostname")},
                    {"product", str(r, "product")},
                    {"status", str(r, "status")},
                    {"reason_codes", codes_of(r)},
                    {"removed_at", str(r, "removed_at")},
                    {"versions", std::vector<std::string>(v.begin(), v.end())}};
    };
    json changed = json::array(), added = json::array(), gone = json::array();
    for (const auto& [key, rb] : ib) {
        auto it = ia.find(key);
        if (it == ia.end()) {
            added.push_back(brief(*rb));
            continue;
        }
        json x = brief(*it->second), y = brief(*rb);
        if (x["status"] == y["status"] && x["removed_at"] == y["removed_at"] &&
            x["versions"] == y["versions"] && x["reason_codes"] == y["reason_codes"])
            continue;
        json c = {{"host", y["host"]},
                  {"hostname", y["hostname"]},
                  {"product", y["product"]},
                  {"from", x},
                  {"to", y}};
        changed.push_back(std::move(c));
    }
    for (const auto& [key, ra] : ia)
        if (!ib.count(key)) gone.push_back(brief(*ra));
    return {{"a", {{"generated", str(a, "generated")}, {"as_of", str(a, "as_of")}}},
            {"b", {{"generated", str(b, "generated")}, {"as_of", str(b, "as_of")}}},
            {"counts", counts},
            {"changed", changed},
            {"added", added},
            {"gone", gone}};
}

}  // namespace audit::attest
