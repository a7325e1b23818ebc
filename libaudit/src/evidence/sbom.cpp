#include "audit/evidence/sbom.h"

#include <set>

#include "audit/catalog.h"
#include "audit/fs/walker.h"

namespace audit::evidence {

namespace {

// A deterministic RFC 4122 (version 5 style) UUID from a name, so the same evidence gives the
// same serial number.
std::string uuid_from(const std::string& name) {
    std::string h = fs::sha256_hex("audit-toolkit:" + name).substr(0, 32);
    h[12] = '5';
    const char variant[] = "89ab";
    h[16] = variant[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

// CycloneDX 1.5 component type of an item, from the source catalog (language packages are
// libraries, kernel modules drivers); "" for evidence that is no component (registry keys). An
// ecosystem the catalog does not know is an application.
std::string_view component_type(const std::string& ecosystem) {
    const catalog::Ecosystem* e = catalog::find_ecosystem(ecosystem);
    return e ? e->sbom_component : std::string_view("application");
}

}  // namespace

nlohmann::json cyclonedx(const std::vector<InventoryItem>& inventory,
                         const host::HostIdentity& host, const std::string& bundle_id,
                         const std::string& timestamp, const std::string& tool_version) {
    nlohmann::json components = nlohmann::json::array();
    std::set<std::string> refs;
    for (const auto& item : inventory) {
        const std::string_view type = component_type(item.ecosystem);
        if (type.empty()) continue;
        std::string ref = item.purl();
        // bom-refs must be unique; the same package can appear twice (two architectures, states).
        for (int n = 2; !refs.insert(ref).second; ++n) ref = item.purl() + "#" + std::to_string(n);
        nlohmann::json c = {
            {"type", type}, {"bom-ref", ref}, {"name", item.name}, {"purl", item.purl()}};
        // Single-file items (a running executable, a module file) carry that file's digest.
        if (auto h = item.extra.find("sha256"); h != item.extra.end() && h->is_string())
            c["hashes"] = nlohmann::json::array({{{"alg", "SHA-256"}, {"content", *h}}});
        if (!item.version.empty()) c["version"] = item.version;
        if (!item.publisher.empty()) c["publisher"] = item.publisher;
        nlohmann::json props = nlohmann::json::array();
        props.push_back({{"name", "audit:ecosystem"}, {"value", item.ecosystem}});
        if (!item.state.empty()) props.push_back({{"name", "audit:state"}, {"value", item.state}});
        props.push_back({{"name", "audit:source"}, {"value", item.source}});
        if (item.extra.value("live", false))
            props.push_back({{"name", "audit:live"}, {"value", "true"}});
        c["properties"] = props;
        components.push_back(std::move(c));
    }
    nlohmann::json device = {{"type", "device"},
                             {"bom-ref", "host"},
                             {"name", host.hostname.empty() ? host.label() : host.hostname}};
    if (!host.os_pretty_name.empty()) device["description"] = host.os_pretty_name;
    return {
        {"bomFormat", "CycloneDX"},
        {"specVersion", "1.5"},
        {"serialNumber", "urn:uuid:" + uuid_from(bundle_id)},
        {"version", 1},
        {"metadata",
         {{"timestamp", timestamp},
          {"tools",
           {{"components",
             nlohmann::json::array(
                 {{{"type", "application"}, {"name", "audit-scan"}, {"version", tool_version}}})}}},
          {"component", device}}},
        {"components", components}};
}

}  // namespace audit::evidence
