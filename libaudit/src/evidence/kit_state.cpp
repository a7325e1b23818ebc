#include "audit/evidence/kit_state.h"

#include <dirent.h>
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

bool valid_kit_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return false;
    return id.front() != '.';
}

KitStateLock::KitStateLock(const std::string& dir, const std::string& kit_id)
    : path_(dir + "/.kit-" + kit_id + ".state.json"), dir_(dir), kit_id_(kit_id) {
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

namespace {

// The sequence number in "<host>_<utc>_<kit>-<seq>.evidence.tar.zst", 0 when name is not a
// bundle of this kit.
std::uint64_t bundle_sequence(const std::string& name, const std::string& kit_id) {
    const std::string suffix(kBundleSuffix);
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return 0;
    const std::string stem = name.substr(0, name.size() - suffix.size());
    const auto dash = stem.rfind('-');
    if (dash == std::string::npos || dash + 1 == stem.size() || stem.size() - dash > 19) return 0;
    std::uint64_t seq = 0;
    for (std::size_t i = dash + 1; i < stem.size(); ++i) {
        if (stem[i] < '0' || stem[i] > '9') return 0;
        seq = seq * 10 + static_cast<std::uint64_t>(stem[i] - '0');
    }
    const std::string tail = "_" + kit_id;
    if (dash < tail.size() || stem.compare(dash - tail.size(), tail.size(), tail) != 0) return 0;
    return seq;
}

// The statement digest of a bundle of this kit, "" when the file is no bundle (the next bundle
// then links to nothing, and the checker reports the broken chain; the field scan goes on).
std::string statement_digest_or_empty(const std::string& path) {
    try {
        return read_statement_sha256_unverified(path);
    } catch (const Error&) {
        return "";
    }
}

// A bundle is linked into place complete before the state is saved; a crash (or a full disk)
// between the two leaves the state one behind. The newest bundle of the kit in the directory
// wins, so a sequence number is never given twice and the chain continues from it.
void catch_up(const std::string& dir, const std::string& kit_id, KitState& s) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::string newest;
    std::uint64_t newest_seq = s.last_sequence;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        const std::uint64_t seq = bundle_sequence(name, kit_id);
        if (seq > newest_seq) {
            newest_seq = seq;
            newest = name;
        }
    }
    ::closedir(d);
    if (!newest.empty()) {
        s.last_sequence = newest_seq;
        s.last_bundle = newest;
        s.last_bundle_sha256 = file_sha256(dir + "/" + newest);
        s.last_statement_sha256 = statement_digest_or_empty(dir + "/" + newest);
        return;
    }
    // A state saved before statement digests were kept: take it from the bundle it names.
    if (s.last_sequence > 0 && s.last_statement_sha256.empty() && !s.last_bundle.empty() &&
        s.last_bundle.find('/') == std::string::npos &&
        bundle_sequence(s.last_bundle, kit_id) == s.last_sequence) {
        const std::string path = dir + "/" + s.last_bundle;
        if (::access(path.c_str(), F_OK) == 0 && file_sha256(path) == s.last_bundle_sha256)
            s.last_statement_sha256 = statement_digest_or_empty(path);
    }
}

}  // namespace

KitState KitStateLock::load() const {
    KitState s = read_state();
    if (s.kit_id.empty()) s.kit_id = kit_id_;
    catch_up(dir_, kit_id_, s);
    return s;
}

KitState KitStateLock::read_state() const {
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
        s.last_statement_sha256 = j.value("last_statement_sha256", "");
    } catch (const nlohmann::json::exception& e) {
        throw IoError(path_ + ": corrupt kit state (" + e.what() +
                      "); refusing to reuse sequence numbers");
    }
    return s;
}

void KitStateLock::save(const KitState& s) const {
    nlohmann::json j = {{"kit_id", s.kit_id},
                        {"last_sequence", s.last_sequence},
                        {"last_bundle_sha256", s.last_bundle_sha256},
                        {"last_bundle", s.last_bundle},
                        {"last_statement_sha256", s.last_statement_sha256}};
    write_file_atomic(path_, j.dump(2) + "\n");
}

}  // namespace audit::evidence
