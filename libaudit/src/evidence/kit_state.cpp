#include "audit/evidence/kit_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/error.h"
#include "audit/evidence/bundle.h"

namespace audit::evidence {

namespace {
// ".../.kit-<id>.state.json" -> "<id>"
std::string kit_id_of(const std::string& path) {
    auto slash = path.rfind('/');
    std::string n = path.substr(slash == std::string::npos ? 0 : slash + 1);
    return n.substr(5, n.size() - 5 - std::string(".state.json").size());
}
}  // namespace

bool valid_kit_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return false;
    return id.front() != '.';
}

KitStateLock::KitStateLock(const std::string& dir, const std::string& kit_id)
    : dir_(dir), path_(dir + "/.kit-" + kit_id + ".state.json") {
    if (!valid_kit_id(kit_id)) throw UsageError("invalid kit id '" + kit_id + "'");
    std::string lock = dir + "/.kit-" + kit_id + ".lock";
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) throw IoError("cannot create " + lock + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        throw IoError("another scan is writing to kit " + kit_id + " in " + dir);
    }
}

KitStateLock::~KitStateLock() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

KitState KitStateLock::load() const {
    std::ifstream in(path_);
    KitState s;
    if (!in) return s;
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        auto j = nlohmann::json::parse(ss.str());
        s.kit_id = j.at("kit_id").get<std::string>();
        s.last_sequence = j.at("last_sequence").get<std::uint64_t>();
        s.last_bundle_sha256 = j.at("last_bundle_sha256").get<std::string>();
        s.last_bundle = j.value("last_bundle", "");
    } catch (const nlohmann::json::exception& e) {
        throw IoError(path_ + ": corrupt kit state (" + e.what() + "); refusing to reuse sequence numbers");
    }
    if (s.kit_id.empty()) s.kit_id = kit_id_of(path_);
    // Bundles are linked into place before the state is saved: adopt any that outran the state.
    for (;;) {
        const std::string tail =
            "_" + s.kit_id + "-" + std::to_string(s.last_sequence + 1) + std::string(kBundleSuffix);
        std::string found;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
            const std::string n = e.path().filename().string();
            if (n.size() > tail.size() && n.front() != '.' &&
                n.compare(n.size() - tail.size(), tail.size(), tail) == 0)
                found = n;
        }
        if (found.empty()) break;
        s.last_sequence += 1;
        s.last_bundle_sha256 = file_sha256(dir_ + "/" + found);
        s.last_bundle = found;
    }
    return s;
}

void KitStateLock::save(const KitState& s) const {
    nlohmann::json j = {{"kit_id", s.kit_id},
                        {"last_sequence", s.last_sequence},
                        {"last_bundle_sha256", s.last_bundle_sha256},
                        {"last_bundle", s.last_bundle}};
    write_file_atomic(path_, j.dump(2) + "\n");
}

}  // namespace audit::evidence
