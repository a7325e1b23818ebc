// audit-verify: what the command line names (files, directories of bundles and heads).
#include <algorithm>
#include <filesystem>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/input_file.h"
#include "verify_tool.h"

namespace audit::verify_tool {

bool is_bundle(const std::string& p) {
    return p.ends_with(".tar.zst") || p.ends_with(".tar");
}

bool is_head(const std::string& p) {
    return p.ends_with(evidence::kChainHeadSuffix);
}

std::string read_small(const std::string& path, std::size_t max) {
    std::string data = read_input_file(path, max, "document");
    if (data.size() > max) throw VerifyError(path + ": larger than any document it could be");
    return data;
}

std::string str(const json& j, const char* key) {
    auto it = j.is_object() ? j.find(key) : j.end();
    return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// What a verified bundle cannot support: unsigned manifests, an unverified kit. Either may show
// presence but never proves removed/absent.
std::vector<std::string> expand_directories(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::error_code ec;
        if (!std::filesystem::is_directory(a, ec)) {
            out.push_back(a);
            continue;
        }
        std::vector<std::string> found;
        for (const auto& e : std::filesystem::directory_iterator(a, ec)) {
            const std::string name = e.path().filename().string();
            if (!name.empty() && name[0] != '.' &&
                (name.ends_with(evidence::kBundleSuffix) || is_head(name)))
                found.push_back(e.path().string());
        }
        if (ec) throw IoError("cannot read directory " + a + ": " + ec.message());
        std::sort(found.begin(), found.end());
        // A directory with nothing to verify stays as given and is reported INVALID: verifying
        // nothing must never read as OK.
        if (found.empty()) found.push_back(a);
        out.insert(out.end(), found.begin(), found.end());
    }
    return out;
}

}  // namespace audit::verify_tool
