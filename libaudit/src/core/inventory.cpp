#include "audit/inventory.h"

#include <map>
#include <string_view>

#include "audit/catalog.h"

namespace audit {

namespace {

// Percent-encode a purl component (RFC 3986 unreserved characters kept, plus `keep`).
std::string purl_encode(const std::string& s, std::string_view keep = {}) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' ||
            keep.find(static_cast<char>(c)) != keep.npos) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string extra_string(const nlohmann::json& extra, const char* key) {
    auto it = extra.find(key);
    return it != extra.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// PEP 503 normalisation as the purl spec asks for pypi names: lower case, runs of -_. -> '-'.
std::string pypi_name(const std::string& n) {
    std::string out;
    for (char c : n) {
        const bool sep = c == '-' || c == '_' || c == '.';
        if (sep) {
            if (out.empty() || out.back() != '-') out.push_back('-');
        } else {
            out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
        }
    }
    return out;
}

}  // namespace

bool InventoryItem::installed() const {
    if (ecosystem == "deb")
        return state != "config-files" && state != "not-installed" && !state.empty();
    // Elsewhere a missing or garbled state still means the record is there (a broken record of a
    // product must not read as its absence); only explicit left-overs are not installed.
    return state != "not-installed" && state != "link-only" && state != "config-files";
}

std::string InventoryItem::purl() const {
    // The type from the purl specification where the source catalog names one, else
    // pkg:generic/<ecosystem>/<name>. The namespace of a distribution's package is its os-release
    // ID (extra.distro), else the catalog's default for the ecosystem.
    const catalog::Ecosystem* eco = catalog::find_ecosystem(ecosystem);
    std::string type = eco ? std::string(eco->purl_type) : "generic";
    std::string namespace_, pname = name, ver = version;
    std::map<std::string, std::string> qualifiers;
    if (!arch.empty()) qualifiers["arch"] = arch;
    if (type == "generic") {
        namespace_ = ecosystem.empty() ? "unknown" : ecosystem;
        if (auto k = extra_string(extra, "kernel"); !k.empty()) qualifiers["kernel"] = k;
        if (auto h = extra_string(extra, "sha256"); !h.empty())
            qualifiers["checksum"] = "sha256:" + h;
    } else {
        auto distro = extra.find("distro");
        namespace_ = distro != extra.end() && distro->is_string()
                         ? distro->get<std::string>()
                         : std::string(eco->purl_namespace);
    }
    if (type == "rpm") {
        // The purl rpm type keeps the epoch out of the version, as the "epoch" qualifier.
        if (auto colon = ver.find(':'); colon != std::string::npos) {
            qualifiers["epoch"] = ver.substr(0, colon);
            ver.erase(0, colon + 1);
        }
    } else if (type == "pypi") {
        namespace_.clear();
        pname = pypi_name(name);
    } else if (type == "npm") {
        namespace_.clear();
        if (auto slash = name.find('/');
            !name.empty() && name[0] == '@' && slash != std::string::npos) {
            namespace_ = name.substr(0, slash);
            pname = name.substr(slash + 1);
        }
    }
    std::string p = "pkg:" + type + "/";
    if (!namespace_.empty()) p += purl_encode(namespace_) + "/";
    p += purl_encode(pname);
    if (!ver.empty()) p += "@" + purl_encode(ver);
    char sep = '?';
    for (const auto& [k, v] : qualifiers) {
        p += sep + k + "=" + purl_encode(v, ":");
        sep = '&';
    }
    return p;
}

nlohmann::json InventoryItem::to_json() const {
    nlohmann::json j = {{"ecosystem", ecosystem}, {"name", name},           {"version", version},
                        {"arch", arch},           {"publisher", publisher}, {"state", state},
                        {"paths", paths},         {"source", source},       {"purl", purl()}};
    if (!extra.empty()) j["extra"] = extra;
    return j;
}

}  // namespace audit
