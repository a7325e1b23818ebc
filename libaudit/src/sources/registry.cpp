#include <stdexcept>

#include "audit/sources/apk.h"
#include "audit/sources/dpkg.h"
#include "audit/sources/flatpak.h"
#include "audit/sources/kmod.h"
#include "audit/sources/live.h"
#include "audit/sources/macho_files.h"
#include "audit/sources/macos.h"
#include "audit/sources/npm.h"
#include "audit/sources/pacman.h"
#include "audit/sources/pe_files.h"
#include "audit/sources/python.h"
#include "audit/sources/rpm.h"
#include "audit/sources/snap.h"
#include "audit/sources/source.h"
#include "audit/sources/systemd.h"
#include "audit/sources/sysv.h"
#include "audit/sources/trust_store.h"
#include "audit/sources/windows.h"

namespace audit::sources {

const catalog::Source& Source::info() const {
    if (const catalog::Source* s = catalog::find_source(name())) return *s;
    throw std::logic_error("source " + std::string(name()) + " has no entry in the source catalog");
}

std::string_view Source::ecosystem() const {
    const auto& e = info().ecosystems;
    return e.empty() ? std::string_view() : e[0]->name;
}

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
    if (!covers.empty()) j["covers"] = covers;
    if (!error.empty()) j["error"] = error;
    return j;
}

// One line per source, in the catalog's order (a unit test holds the two together).
std::vector<std::unique_ptr<Source>> all_sources() {
    std::vector<std::unique_ptr<Source>> out;
    out.push_back(std::make_unique<DpkgSource>());
    out.push_back(std::make_unique<RpmSource>());
    out.push_back(std::make_unique<ApkSource>());
    out.push_back(std::make_unique<PacmanSource>());
    out.push_back(std::make_unique<SnapSource>());
    out.push_back(std::make_unique<FlatpakSource>());
    out.push_back(std::make_unique<SystemdSource>());
    out.push_back(std::make_unique<SysvSource>());
    out.push_back(std::make_unique<KmodSource>());
    out.push_back(std::make_unique<LiveSource>());
    out.push_back(std::make_unique<PythonSource>());
    out.push_back(std::make_unique<NpmSource>());
    out.push_back(std::make_unique<WindowsSoftwareSource>());
    out.push_back(std::make_unique<WindowsSystemSource>());
    out.push_back(std::make_unique<WindowsUserSource>());
    out.push_back(std::make_unique<PeFileSource>());
    out.push_back(std::make_unique<MacAppSource>());
    out.push_back(std::make_unique<MacExtensionSource>());
    out.push_back(std::make_unique<MacReceiptSource>());
    out.push_back(std::make_unique<LaunchdSource>());
    out.push_back(std::make_unique<MachoFileSource>());
    out.push_back(std::make_unique<TrustStoreSource>());
    return out;
}

}  // namespace audit::sources
