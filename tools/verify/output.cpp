// audit-verify's human output: the OK line of one verified input.
#include <iostream>

#include "verify_tool.h"

namespace audit::verify_tool {

namespace {

// "… (manifest unsigned: cannot support removed/absent)" for the OK line of a bundle.
std::string limits_text(const json& limits) {
    std::string out;
    const auto& unsigned_manifests = limits.value("manifests_unsigned", json::array());
    if (!unsigned_manifests.empty()) {
        std::string ids;
        for (const auto& id : unsigned_manifests)
            ids += (ids.empty() ? "" : ", ") + id.get<std::string>();
        out += "; manifest unsigned (" + ids + "): cannot support removed/absent";
    }
    const std::string kit = limits.value("kit_self_check", "none");
    if (kit != "none" && kit != "verified")
        out += "; kit " + kit + ": cannot support removed/absent";
    return out;
}

}  // namespace

void print_ok_line(const json& r) {
    std::cout << "OK       " << r["file"].get<std::string>() << " ("
              << r["kind"].get<std::string>();
    const auto& d = r["detail"];
    if (r["kind"] == "bundle")
        std::cout << " " << d["bundle_id"].get<std::string>() << ", kit "
                  << d["kit"].get<std::string>() << " #" << d["sequence"] << ", present "
                  << d["present"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << limits_text(d["limits"]);
    else if (r["kind"] == "chain-head")
        std::cout << " of kit " << d["kit"].get<std::string>() << " at #" << d["sequence"];
    else if (r["kind"] == "manifest")
        std::cout << " " << d["id"].get<std::string>() << " " << d["version"].get<std::string>()
                  << ", signed";
    else if (r["kind"] == "collector-certificate")
        std::cout << " for kit " << d["kit"].get<std::string>() << ", "
                  << d["not_before"].get<std::string>() << " .. "
                  << d["not_after"].get<std::string>();
    else if (r["kind"] == "attestation")
        std::cout << " " << d["host"].get<std::string>() << " " << d["product"].get<std::string>()
                  << ": " << d["status"].get<std::string>()
                  << (d.contains("recomputed") ? ", recomputed from the bundles given" : "");
    else if (r["kind"] == "site-summary" || r["kind"] == "site-certificate")
        std::cout << " of site " << d["site"].get<std::string>()
                  << (d.contains("sequence") ? ", sequence " + d["sequence"].dump() : "")
                  << (d.value("report", "").empty() ? "" : ", report.json matches");
    else if (r["kind"] == "report-statement")
        std::cout << " over " << d["files"].size() << " report files, unchanged";
    else
        std::cout << " of " << d["authority"].get<std::string>() << ", version " << d["version"]
                  << ", expires " << d["expires"].get<std::string>() << ": "
                  << d["relation"].get<std::string>();
    std::cout << ")\n";
}

}  // namespace audit::verify_tool
