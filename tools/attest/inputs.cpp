// audit-attest: what the command line names (bundles, chain heads, directories), the key.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"

#include "attest_tool.h"

namespace audit::attest_tool {

namespace {

bool has_suffix(const std::string& name, std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Inputs collect_inputs(const std::vector<std::string>& args) {
    Inputs out;
    const std::string_view head_suffix = evidence::kChainHeadSuffix;
    for (const auto& a : args) {
        struct stat st {};
        if (::stat(a.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            (has_suffix(a, head_suffix) ? out.heads : out.bundles).push_back(a);
            continue;
        }
        DIR* d = ::opendir(a.c_str());
        if (!d) throw IoError("cannot read directory " + a + ": " + std::strerror(errno));
        std::vector<std::string> bundles, heads;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name[0] == '.') continue;
            if (has_suffix(name, evidence::kBundleSuffix))
                bundles.push_back(a + "/" + name);
            else if (has_suffix(name, head_suffix))
                heads.push_back(a + "/" + name);
        }
        ::closedir(d);
        std::sort(bundles.begin(), bundles.end());
        std::sort(heads.begin(), heads.end());
        out.bundles.insert(out.bundles.end(), std::make_move_iterator(bundles.begin()),
                           std::make_move_iterator(bundles.end()));
        out.heads.insert(out.heads.end(), std::make_move_iterator(heads.begin()),
                         std::make_move_iterator(heads.end()));
    }
    return out;
}

namespace {

std::string dir_name(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

// The chain heads that come with the bundles: head files given on the command line, and those
// in every directory given or holding a given bundle.
std::vector<std::string> chain_head_paths(const std::vector<std::string>& args,
                                          const std::vector<std::string>& bundles) {
    std::vector<std::string> heads, dirs;
    for (const auto& a : args) {
        struct stat st {};
        if (::stat(a.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            dirs.push_back(a);
        else if (has_suffix(a, evidence::kChainHeadSuffix))
            heads.push_back(a);
    }
    for (const auto& b : bundles) dirs.push_back(dir_name(b));
    std::set<std::pair<dev_t, ino_t>> seen_dirs;
    for (const auto& d : dirs) {
        struct stat st {};
        if (::stat(d.c_str(), &st) != 0 || !seen_dirs.insert({st.st_dev, st.st_ino}).second)
            continue;
        DIR* dir = ::opendir(d.c_str());
        if (!dir) throw IoError("cannot read directory " + d + ": " + std::strerror(errno));
        std::vector<std::string> found;
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name[0] != '.' && has_suffix(name, evidence::kChainHeadSuffix))
                found.push_back(d + "/" + name);
        }
        ::closedir(dir);
        std::sort(found.begin(), found.end());
        heads.insert(heads.end(), found.begin(), found.end());
    }
    // The same file named twice is read once.
    std::vector<std::string> out;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (const auto& h : heads) {
        struct stat st {};
        if (::stat(h.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
        out.push_back(h);
    }
    return out;
}

// Bundle paths from the command line; a directory stands for the bundles in it.
std::vector<std::string> bundle_paths(const std::vector<std::string>& args) {
    return collect_inputs(args).bundles;
}

crypto::SigningKey inspector_key(const cli::Args& args, const trust::TrustRoot& trust) {
    std::string key_path = args.required("key");
    std::optional<std::string> pass;
    if (crypto::SigningKey::is_encrypted(key_path))
        pass = cli::passphrase(args, "passphrase for " + key_path, false);
    auto key = crypto::SigningKey::load(key_path, pass);
    auto role = trust.roles.find("inspector");
    if (role == trust.roles.end() ||
        std::find(role->second.keyids.begin(), role->second.keyids.end(), key.identity().keyid) ==
            role->second.keyids.end())
        throw UsageError("key " + key_path + " is not an inspector key of the trust root");
    return key;
}

}  // namespace audit::attest_tool
