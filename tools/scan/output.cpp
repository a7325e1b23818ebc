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
std::string sources_line(const json& statuses) {
    std::string ran, failed;
    std::size_t absent = 0;
    for (const auto& [name, status] : statuses.items()) {
        const std::string st = status.is_string() ? status.get<std::string>() : "";
        if (st == "ran")
            ran += (ran.empty() ? "" : ", ") + name;
        else if (st == "failed")
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
void print_access(const json& access) {
    const auto denied = access.value("permission_denied", std::uint64_t{0});
    const json& user = access["user"];
    const std::string who = scan::describe_user(user);
    if (denied > 0)
        std::cerr << "audit-scan: coverage reduced: " << denied << " entries could not be read by "
                  << who << ", e.g. "
                  << safe_text(access["examples"].empty()
                                   ? ""
                                   : access["examples"].front().get<std::string>())
                  << "\n";
    if (access["processes"].is_string())
        std::cerr << "audit-scan: coverage reduced: "
                  << safe_text(access["processes"].get<std::string>()) << " by " << who << "\n";
}

void print_human(const scan::ScanResult& r) {
    const auto& s = r.summary;
    std::cout << "host      " << safe_text(r.host.label());
    if (!r.host.machine_id.empty()) std::cout << " (machine-id " << r.host.machine_id << ")";
    std::cout << "\n";
    const auto& system = s["coverage"]["system"];
    std::cout << "system    "
              << (system["os"].get<std::string>().empty()
                      ? "not recognised"
                      : system["os"].get<std::string>() + " (" +
                            system["os_evidence"].get<std::string>() + ")")
              << "; package databases "
              << system["package_databases"].dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace)
              << "; identifiers "
              << system["identifiers"].dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace)
              << "\n";
    std::cout << "sources   " << sources_line(s["coverage"]["sources"]) << "\n";
    std::cout << "inventory " << s["inventory_items"].get<std::size_t>() << " items, "
              << s["files"].get<std::size_t>() << " file records\n";
    for (const auto& p : s["coverage"]["products"])
        if (!p["sufficient"].get<bool>())
            std::cout << "coverage  " << p["product"].get<std::string>() << ": INSUFFICIENT: "
                      << p["gaps"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
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
    for (const auto& p : s["present"]) std::cout << "PRESENT   " << p.get<std::string>() << "\n";
    std::cout << "bundle    " << r.bundle.path << "\n"
              << "sha256    " << r.bundle.sha256 << "\n";
}

}  // namespace audit::scan_tool
