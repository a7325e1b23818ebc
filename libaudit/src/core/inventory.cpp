#include "audit/inventory.h"

namespace audit {

namespace {

// Percent-encode a purl component (RFC 3986 unreserved characters kept).
std::string purl_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace

bool InventoryItem::installed() const {
    if (ecosystem == "deb")
        return state != "config-files" && state != "not-installed" && !state.empty();
    return state.empty() || state == "installed";
}

std::string InventoryItem::purl() const {
    std::string namespace_;
    if (ecosystem == "deb") namespace_ = extra.value("distro", std::string("debian"));
    if (ecosystem == "rpm") namespace_ = extra.value("distro", std::string());
    // The purl rpm type keeps the epoch out of the version, as the "epoch" qualifier.
    std::string ver = version, epoch;
    if (ecosystem == "rpm")
        if (auto colon = ver.find(':'); colon != std::string::npos) {
            epoch = ver.substr(0, colon);
            ver.erase(0, colon + 1);
        }
    std::string p = "pkg:" + ecosystem + "/";
    if (!namespace_.empty()) p += purl_encode(namespace_) + "/";
    p += purl_encode(name);
    if (!ver.empty()) p += "@" + purl_encode(ver);
    std::string q;  // qualifiers, sorted by key
    if (!arch.empty()) q += "&arch=" + purl_encode(arch);
    if (!epoch.empty()) q += "&epoch=" + purl_encode(epoch);
    if (!q.empty()) p += "?" + q.substr(1);
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
