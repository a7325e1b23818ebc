#include "audit/attest/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "audit/attest/plan.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"

namespace audit::attest {

namespace {

using nlohmann::json;

constexpr const char* kStatuses[] = {"removed", "absent", "present", "inconclusive"};
constexpr std::size_t kMaxAttentionRows = 2000;  // the CSV has every row; the page stays readable

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
    // Days from civil (proleptic Gregorian), after H. Hinnant's algorithm.
    y -= mo <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const long long yoe = y - era * 400;
    const long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const long long days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + s;
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

std::string get_str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
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
               html_escape(get_str(p, "name")) + "</text>";
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
    std::vector<long long> scanned, clean;  // cumulative host x product pairs per day
    long long total = 0;
};

Progress progress_of(const json& results, const std::string& start) {
    Progress p;
    const long long t0 = epoch_of(start);
    std::vector<long> first, clean;
    for (const auto& r : results) {
        std::string fs = get_str(r, "first_scan"), ls = get_str(r, "latest_scan");
        if (fs.empty()) continue;
        ++p.total;
        first.push_back(std::max(0L, static_cast<long>((epoch_of(fs) - t0) / 86400)));
        std::string st = get_str(r, "status");
        if ((st == "removed" || st == "absent") && !ls.empty())
            clean.push_back(std::max(0L, static_cast<long>((epoch_of(ls) - t0) / 86400)));
    }
    long last = 0;
    for (long d : first) last = std::max(last, d);
    for (long d : clean) last = std::max(last, d);
    p.days = std::max(100L, std::min(last + 5, 3650L));
    p.scanned.assign(static_cast<std::size_t>(p.days) + 1, 0);
    p.clean.assign(static_cast<std::size_t>(p.days) + 1, 0);
    for (long d : first) ++p.scanned[static_cast<std::size_t>(std::min(d, p.days))];
    for (long d : clean) ++p.clean[static_cast<std::size_t>(std::min(d, p.days))];
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
    for (auto [day, label] : {std::pair<long, const char*>{30, "30 d: identify"},
                              {60, "60 d: plan"},
                              {90, "90 d: remove"}}) {
        svg += "<line x1=\"" + fmt(X(day)) + "\" y1=\"" + fmt_int(top) + "\" x2=\"" + fmt(X(day)) +
               "\" y2=\"" + fmt(top + ph) + "\" class=\"mark\"/><text x=\"" + fmt(X(day) + 3) +
               "\" y=\"" + fmt_int(top + 10) + "\" class=\"mk\">" + label + "</text>";
    }
    for (long d = 0; d <= p.days; d += p.days > 200 ? 60 : 10)
        svg += "<text x=\"" + fmt(X(d)) + "\" y=\"" + fmt(top + ph + 16) + "\" class=\"tick\">" +
               fmt_int(d) + "</text>";
    svg += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt_int(height - 4) +
           "\" class=\"tick\">days since campaign start</text>";
    auto line = [&](const std::vector<long long>& v, const char* cls) {
        std::string pts;
        for (long d = 0; d <= p.days; ++d) {
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
svg .axis{stroke:#555}svg .mark{stroke:#6a1b9a;stroke-dasharray:4 3}
svg .scanned{fill:none;stroke:#1565c0;stroke-width:2}svg .clean{fill:none;stroke:#2e7d32;stroke-width:2}
svg .lg-scanned{fill:#1565c0}svg .lg-clean{fill:#2e7d32}
footer{color:#555;font-size:12px;border-top:1px solid #ddd;margin-top:24px}
)css";

}  // namespace

std::string html_escape(std::string_view text) {
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

std::string render_csv(const json& report) {
    std::string out =
        "host,hostname,product,status,reason_codes,reasons,residue_findings,first_scan,"
        "latest_scan,attestation\r\n";
    for (const auto& r : report.value("results", json::array())) {
        std::string reasons, codes;
        for (const auto& why : r.value("reasons", json::array()))
            if (why.is_string()) reasons += (reasons.empty() ? "" : "; ") + why.get<std::string>();
        for (const auto& code : codes_of(r)) codes += (codes.empty() ? "" : " ") + code;
        out += csv_field(get_str(r, "host")) + "," + csv_field(get_str(r, "hostname")) + "," +
               csv_field(get_str(r, "product")) + "," + csv_field(get_str(r, "status")) + "," +
               csv_field(codes) + "," + csv_field(reasons) + "," +
               std::to_string(r.value("residue", json::array()).size()) + "," +
               csv_field(get_str(r, "first_scan")) + "," + csv_field(get_str(r, "latest_scan")) +
               "," + csv_field(get_str(r, "attestation")) + "\r\n";
    }
    return out;
}

std::string render_html(const json& report) {
    const json results = report.value("results", json::array());
    const json products = report.value("products", json::array());
    const json counts = report.value("counts", json::object());
    const std::string start = get_str(report, "campaign_start");
    std::string h;
    h.reserve(64 * 1024 + results.size() * 200);
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
         html_escape(get_str(report, "generated")) + " &middot; campaign start " +
         html_escape(start) + " &middot; trust root version " +
         fmt_int(get_int(report.value("trust_root", json::object()), "version")) + " (sha256 " +
         html_escape(get_str(report.value("trust_root", json::object()), "sha256")) +
         ") &middot; inspector key " + html_escape(get_str(report, "inspector_keyid")) +
         "</p></header>\n";

    h += "<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">";
    h += "<div class=\"tile\" id=\"count-hosts\"><b>" + fmt_int(get_int(report, "hosts")) +
         "</b>hosts</div>";
    for (const char* s : kStatuses)
        h += "<div class=\"tile s-" + std::string(s) + "\" id=\"count-" + s + "\"><b>" +
             fmt_int(get_int(counts, s)) + "</b>" + s + "</div>";
    h += "<div class=\"tile\" id=\"count-rejected\"><b>" +
         fmt_int(static_cast<long long>(report.value("rejected", json::array()).size())) +
         "</b>bundles rejected</div></div></section>\n";

    h += "<section id=\"products\"><h2>Status per product</h2>" + product_chart(products);
    h += "<table id=\"product-table\"><thead><tr><th>Product</th>";
    for (const char* s : kStatuses) h += "<th>" + std::string(s) + "</th>";
    h += "</tr></thead><tbody>";
    for (const auto& p : products) {
        h += "<tr data-product=\"" + html_escape(get_str(p, "product")) + "\"><td>" +
             html_escape(get_str(p, "name")) + "</td>";
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

    if (!start.empty()) {
        Progress p = progress_of(results, start);
        auto at = [&](const std::vector<long long>& v, long d) {
            return v[static_cast<std::size_t>(std::min(d, p.days))];
        };
        h += "<section id=\"progress\"><h2>Removal progress</h2>" + progress_chart(p) +
             "<p id=\"milestones\">Of " + fmt_int(p.total) +
             " host &times; product pairs: day 30 (identify): <b id=\"scanned-30\">" +
             fmt_int(at(p.scanned, 30)) + "</b> scanned; day 90 (remove): <b id=\"clean-90\">" +
             fmt_int(at(p.clean, 90)) +
             "</b> proven removed or absent. Scan times are the hosts' own clocks.</p></section>\n";
    }

    std::vector<const json*> attention;
    for (const auto& r : results) {
        std::string st = get_str(r, "status");
        if (st == "present" || st == "inconclusive") attention.push_back(&r);
    }
    std::stable_sort(attention.begin(), attention.end(), [](const json* a, const json* b) {
        return (get_str(*a, "status") == "present") > (get_str(*b, "status") == "present");
    });
    h += "<section id=\"attention\"><h2>Hosts needing attention (" +
         fmt_int(static_cast<long long>(attention.size())) +
         ")</h2><table id=\"attention-table\"><thead><tr><th>Host</th><th>Identifier</th>"
         "<th>Product</th><th>Status</th><th>Reason codes</th><th>Why</th><th>Latest scan</th></tr>"
         "</thead><tbody>";
    for (std::size_t i = 0; i < attention.size() && i < kMaxAttentionRows; ++i) {
        const json& r = *attention[i];
        std::string st = get_str(r, "status");
        h += "<tr><td class=\"host\">" + html_escape(get_str(r, "hostname")) + "</td><td>" +
             html_escape(get_str(r, "host")) + "</td><td>" + html_escape(get_str(r, "product")) +
             "</td><td class=\"st-" + st + "\">" + html_escape(st) + "</td><td class=\"codes\">";
        for (const auto& code : codes_of(r)) h += "<code>" + html_escape(code) + "</code> ";
        h += "</td><td><ul class=\"why\">";
        if (st == "present") h += "<li>product found in the latest verified bundle</li>";
        for (const auto& why : r.value("reasons", json::array()))
            if (why.is_string()) h += "<li>" + html_escape(why.get<std::string>()) + "</li>";
        h += "</ul></td><td>" + html_escape(get_str(r, "latest_scan")) + "</td></tr>";
    }
    h += "</tbody></table>";
    if (attention.size() > kMaxAttentionRows)
        h += "<p id=\"attention-truncated\">" +
             fmt_int(static_cast<long long>(attention.size() - kMaxAttentionRows)) +
             " more rows are in report.csv.</p>";
    h += "</section>\n";

    h += plan_html_section(report);

    const json rejected = report.value("rejected", json::array());
    h += "<section id=\"rejected\"><h2>Bundles rejected (" +
         fmt_int(static_cast<long long>(rejected.size())) +
         ")</h2><table id=\"rejected-table\"><thead><tr><th>File</th><th>Reason</th></tr></thead>"
         "<tbody>";
    for (const auto& r : rejected)
        h += "<tr><td>" + html_escape(get_str(r, "file")) + "</td><td>" +
             html_escape(get_str(r, "reason")) + "</td></tr>";
    h += "</tbody></table></section>\n";

    const json not_verified = report.value("not_verified", json::array());
    h += "<section id=\"not-verified\"><h2>Stored evidence that no longer verifies (" +
         fmt_int(static_cast<long long>(not_verified.size())) +
         ", not used)</h2><table id=\"not-verified-table\"><thead><tr><th>Kind</th><th>File</th>"
         "<th>Reason</th></tr></thead><tbody>";
    for (const auto& r : not_verified)
        h += "<tr><td>" + html_escape(get_str(r, "kind")) + "</td><td>" +
             html_escape(get_str(r, "file")) + "</td><td>" + html_escape(get_str(r, "reason")) +
             "</td></tr>";
    h += "</tbody></table></section>\n";

    const json conflicts = report.value("conflicts", json::array());
    h += "<section id=\"conflicts\"><h2>Conflicting bundles (" +
         fmt_int(static_cast<long long>(conflicts.size())) +
         ")</h2><table id=\"conflicts-table\"><thead><tr><th>Kit</th><th>Sequence</th>"
         "<th>File</th><th>Other bundle</th></tr></thead><tbody>";
    for (const auto& c : conflicts)
        h += "<tr><td>" + html_escape(get_str(c, "kit")) + "</td><td class=\"n\">" +
             fmt_int(get_int(c, "sequence")) + "</td><td>" + html_escape(get_str(c, "file")) +
             "</td><td>" + html_escape(get_str(c, "other_sha256")) + "</td></tr>";
    h += "</tbody></table></section>\n";

    h += "<footer><p>This page holds no scripts and loads nothing. The signed attestations in "
         "<code>attestations/</code> are the authority: check them with <code>audit-verify "
         "--trust TRUST attestations/*.dsse.json</code>. Every row is in report.csv and "
         "report.json.</p></footer>\n</body></html>\n";
    return h;
}

ReportSummary write_report(const std::vector<HostProductStatus>& statuses,
                           const crypto::SigningKey& inspector, const ReportOptions& options,
                           const ReportContext& context) {
    const std::string& out = options.out_dir;
    make_dir(out);
    make_dir(out + "/attestations");

    // Sign on every core: signatures, not SQL or JSON, are the cost at fleet scale.
    std::vector<std::string> names(statuses.size());
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        std::optional<crypto::SigningKey> key;
        for (std::size_t i = next++; i < statuses.size(); i = next++) {
            try {
                if (!key) key = inspector.clone();  // a key signs from one thread at a time
                names[i] = attestation_name(statuses[i]);
                auto env = attestation(statuses[i], *key, options.generated);
                write_unsynced(out + "/attestations/" + names[i], env.to_json() + "\n");
            } catch (...) {
                std::lock_guard<std::mutex> g(error_mutex);
                if (!error) error = std::current_exception();
                next = statuses.size();
            }
        }
    };
    unsigned n = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < n; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
    sync_dir(out + "/attestations");

    ReportSummary summary;
    json results = json::array();
    std::map<std::string, long long> counts;
    std::map<std::string, std::pair<std::string, std::map<std::string, long long>>> products;
    std::set<std::string> hosts;
    std::map<std::string, long long> reason_codes;  // code -> host x product results with it
    std::string earliest;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        const auto& st = statuses[i];
        json r = st.to_json();
        r["attestation"] = "attestations/" + names[i];
        for (const auto& code : codes_of(r)) reason_codes[code]++;
        results.push_back(std::move(r));
        counts[to_string(st.status)]++;
        auto& p = products[st.product];
        p.first = st.product_name;
        p.second[to_string(st.status)]++;
        hosts.insert(st.host_key);
        if (!st.first_scan.empty() && (earliest.empty() || st.first_scan < earliest))
            earliest = st.first_scan;
        if (st.status != Status::removed && st.status != Status::absent) summary.all_clear = false;
    }
    for (const char* s : kStatuses) counts.emplace(s, 0);
    json product_list = json::array();
    for (auto& [id, p] : products) {
        for (const char* s : kStatuses) p.second.emplace(s, 0);
        product_list.push_back({{"product", id}, {"name", p.first}, {"counts", p.second}});
    }
    std::string start = options.campaign_start.empty() ? earliest : options.campaign_start;
    if (!start.empty()) epoch_of(start);  // a malformed --campaign-start is a usage error

    summary.report = {{"generated", options.generated},
                      {"campaign_start", start},
                      {"trust_root", context.trust_root},
                      {"inspector_keyid", inspector.identity().keyid},
                      {"hosts", hosts.size()},
                      {"counts", counts},
                      {"reason_codes", reason_codes},
                      {"products", product_list},
                      {"results", std::move(results)},
                      {"bundles", context.bundles},
                      {"rejected", context.rejected},
                      {"conflicts", context.conflicts},
                      {"not_verified", context.not_verified}};
    if (!context.ledger.is_null()) summary.report["ledger"] = context.ledger;
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
