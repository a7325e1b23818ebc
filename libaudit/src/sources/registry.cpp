#include "audit/sources/dpkg.h"
#include "audit/sources/macos.h"
#include "audit/sources/pe_files.h"
#include "audit/sources/source.h"

namespace audit::sources {

const char* to_string(SourceStatus s) {
    switch (s) {
        case SourceStatus::ran:
            return "ran";
        case SourceStatus::absent:
            return "absent";
        case SourceStatus::failed:
            return "failed";
    }
    return "failed";
}

nlohmann::json SourceReport::to_json() const {
    nlohmann::json j = {{"name", name},
                        {"ecosystem", ecosystem},
                        {"status", to_string(status)},
                        {"items", items},
                        {"warnings", warnings}};
    if (!error.empty()) j["error"] = error;
    return j;
}

std::vector<std::unique_ptr<Source>> all_sources() {
    std::vector<std::unique_ptr<Source>> out;
    out.push_back(std::make_unique<DpkgSource>());
    out.push_back(std::make_unique<PeFileSource>());
    out.push_back(std::make_unique<MacAppSource>());
    out.push_back(std::make_unique<MacExtensionSource>());
    out.push_back(std::make_unique<MacReceiptSource>());
    out.push_back(std::make_unique<LaunchdSource>());
    return out;
}

}  // namespace audit::sources
