// audit-scan: what it prints (human summary, progress, access problems).
#include <cstdio>
#include <iostream>

#include "scan_tool.h"

namespace audit::scan_tool {

using nlohmann::json;

// Control characters (escape sequences a hostile file name could carry) as \xNN.
std::string safe_text(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// "ran: dpkg, systemd; failed: rpm; not on this root: 15" (the statuses are in the bundle).
std::string sources_line(const std::map<std::string, std::string>& statuses) {
    std::string ran, failed;
    std::size_t absent = 0;
    for (const auto& [name, status] : statuses) {
        if (status == "ran")
            ran += (ran.empty() ? "" : ", ") + name;
        else if (status == "failed")
            failed += (failed.empty() ? "" : ", ") + name;
        else
            ++absent;
    }
    std::string out = "ran: " + (ran.empty() ? std::string("none") : ran);
    if (!failed.empty()) out += "; FAILED: " + failed;
    return out + "; not on this root: " + std::to_string(absent);
}

// 1536 -> "1.5 KiB".
std::string human_bytes(double n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    std::size_t u = 0;
    while (n >= 1024 && u + 1 < std::size(units)) {
        n /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
    return buf;
}

// One progress line: "audit-scan: walk 1234 files, 56.7 MiB, 12.3 MiB/s, 2 s: /usr".
std::string progress_line(const scan::Progress& p) {
    std::string line = "audit-scan: " + p.phase + " " + std::to_string(p.files) + " files, " +
                       human_bytes(static_cast<double>(p.bytes)) + ", " +
                       human_bytes(p.seconds > 0 ? static_cast<double>(p.bytes) / p.seconds : 0) +
                       "/s, " + std::to_string(static_cast<long long>(p.seconds)) + " s";
    if (!p.detail.empty()) line += ": " + safe_text(p.detail);
    return line;
}

// When unreadable entries reduced the scan, the terminal says so, not only the bundle.
void print_access(const scan::AccessReport& access) {
    const std::string who = scan::describe_user(access.user);
    if (access.permission_denied > 0)
        std::cerr << "audit-scan: coverage reduced: " << access.permission_denied
                  << " entries could not be read by " << who << ", e.g. "
                  << safe_text(access.examples.empty() ? "" : access.examples.front()) << "\n";
    if (!access.processes.empty())
        std::cerr << "audit-scan: coverage reduced: " << safe_text(access.processes) << " by "
                  << who << "\n";
}

void print_human(const scan::ScanResult& r) {
    auto list = [](const std::optional<std::vector<std::string>>& v) {
        return nlohmann::json(v.value_or(std::vector<std::string>{}))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    const evidence::CoverageSummary cov =
        r.predicate.coverage.value_or(evidence::CoverageSummary{});
    const evidence::SystemCoverage system = cov.system.value_or(evidence::SystemCoverage{});
    std::cout << "host      " << safe_text(r.host.label());
    if (!r.host.machine_id.empty()) std::cout << " (machine-id " << r.host.machine_id << ")";
    std::cout << "\n";
    const std::string os = system.os.value_or("");
    std::cout << "system    "
              << (os.empty() ? "not recognised" : os + " (" + system.os_evidence.value_or("") + ")")
              << "; package databases " << list(system.package_databases) << "; identifiers "
              << list(system.identifiers) << "\n";
    std::cout << "sources   "
              << sources_line(cov.sources.value_or(evidence::NamedValues<std::string>{})) << "\n";
    std::cout << "inventory " << r.inventory_items << " items, " << r.files << " file records\n";
    for (const auto& p : cov.products.value_or(std::vector<evidence::ProductCoverage>{}))
        if (!p.is_sufficient())
            std::cout << "coverage  " << p.product.value_or("")
                      << ": INSUFFICIENT: " << list(p.gaps) << "\n";
    if (r.findings.empty()) std::cout << "findings  none\n";
    for (const auto& f : r.findings) {
        std::cout << "finding   " << f.product << " rule " << f.rule << " ("
                  << audit::manifest::to_string(f.confidence) << (f.residue ? ", residue" : "")
                  << "): ";
        std::size_t shown = 0;
        for (const auto& rec : f.records) {
            if (shown++ == 3) {
                std::cout << " …";
                break;
            }
            if (rec.contains("inventory"))
                std::cout << " " << safe_text(rec["inventory"].value("name", "")) << " "
                          << safe_text(rec["inventory"].value("version", "")) << " ["
                          << rec["inventory"].value("state", "") << "]";
            else if (rec.contains("file"))
                std::cout << " " << safe_text(rec["file"].value("path", ""));
        }
        std::cout << "\n";
    }
    for (const auto& p : r.predicate.findings.present) std::cout << "PRESENT   " << p << "\n";
    std::cout << "bundle    " << r.bundle.path << "\n"
              << "sha256    " << r.bundle.sha256 << "\n";
}

}  // namespace audit::scan_tool
