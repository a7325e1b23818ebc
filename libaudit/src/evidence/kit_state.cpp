#include "audit/evidence/kit_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"

namespace audit::evidence {

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
    if (to_writer_ >= 0) ::close(to_writer_);  // the writer reads EOF and ends
    if (from_writer_ >= 0) ::close(from_writer_);
#ifndef _WIN32
    if (writer_pid_ > 0) {
        int status = 0;
        while (::waitpid(writer_pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
#endif
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

namespace {

using nlohmann::json;

KitState parse_state(const std::string& text, const std::string& path) {
    KitState s;
    try {
        auto j = json::parse(text);
        // Only the known fields, digests empty or hex: a damaged state is refused, not guessed.
        static const std::set<std::string> known = {
            "kit_id",      "last_sequence", "last_bundle_sha256",
            "last_bundle", "last_dir",      "last_statement_sha256",
            "pending"};
        if (!j.is_object()) throw IoError(path + ": corrupt kit state (not an object)");
        for (const auto& [k, v] : j.items())
            if (!known.count(k))
                throw IoError(path + ": corrupt kit state (unknown field '" + k.substr(0, 40) +
                              "'); refusing to reuse sequence numbers");
        auto hex_or_empty = [&](const std::string& v, const char* field) {
            if (v.empty()) return;
            if (v.size() != 64 || v.find_first_not_of("0123456789abcdef") != std::string::npos)
                throw IoError(path + ": corrupt kit state (" + field + " is not a SHA-256)");
        };
        s.kit_id = j.at("kit_id").get<std::string>();
        s.last_sequence = j.at("last_sequence").get<std::uint64_t>();
        s.last_bundle_sha256 = j.at("last_bundle_sha256").get<std::string>();
        s.last_bundle = j.value("last_bundle", "");
        s.last_statement_sha256 = j.value("last_statement_sha256", "");
        s.last_dir = j.value("last_dir", "");
        hex_or_empty(s.last_bundle_sha256, "last_bundle_sha256");
        hex_or_empty(s.last_statement_sha256, "last_statement_sha256");
        if (!valid_kit_id(s.kit_id)) throw IoError(path + ": corrupt kit state (kit id)");
        if (j.contains("pending") && !j["pending"].is_null() && !j["pending"].is_object())
            throw IoError(path + ": corrupt kit state (pending)");
        if (j.contains("pending") && j["pending"].is_object()) {
            s.pending_sequence = j["pending"].at("sequence").get<std::uint64_t>();
            s.pending_dir = j["pending"].at("dir").get<std::string>();
            s.pending_bundle = j["pending"].at("bundle").get<std::string>();
        }
    } catch (const json::exception& e) {
        throw IoError(path + ": corrupt kit state (" + e.what() +
                      "); refusing to reuse sequence numbers");
    }
    return s;
}

std::string state_text(const KitState& s) {
    json j = {{"kit_id", s.kit_id},
              {"last_sequence", s.last_sequence},
              {"last_bundle_sha256", s.last_bundle_sha256},
              {"last_bundle", s.last_bundle},
              {"last_statement_sha256", s.last_statement_sha256},
              {"last_dir", s.last_dir},
              {"pending", nullptr}};
    if (s.pending_sequence > 0)
        j["pending"] = {
            {"sequence", s.pending_sequence}, {"dir", s.pending_dir}, {"bundle", s.pending_bundle}};
    return j.dump(2) + "\n";
}

// A state file is a few hundred bytes; more than 1 MiB is not one.
std::string read_whole(const std::string& path) {
    constexpr std::size_t kMaxState = 1u << 20;
    std::string data = read_input_file(path, kMaxState, "kit state");
    if (data.size() > kMaxState) throw VerifyError(path + ": not a kit state file (too large)");
    return data;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string absolute(const std::string& dir) {
    std::error_code ec;
    auto p = std::filesystem::absolute(dir, ec);
    return ec ? dir : p.lexically_normal().string();
}

#ifndef _WIN32  // Windows: no sandbox, save() writes the state itself
bool write_all_fd(int fd, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool read_all_fd(int fd, void* data, std::size_t n) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

// Atomic replacement, as write_file_atomic, but with renameat (not rename): the writer's saves
// are told apart from everything else the scan renames (tests/e2e/evidence_faults.sh kills the
// writer at one). Returns "" or what failed.
std::string save_atomic(const std::string& path, const std::string& text) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string tmp = dir + "." + base + ".tmp-XXXXXX";
    int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0)
        return "cannot create a temporary file beside " + path + ": " + std::strerror(errno);
    std::string error;
    (void)::fchmod(fd, 0600);  // mkostemp made it 0600 already; FAT keeps no modes anyway
    if (!write_all_fd(fd, text.data(), text.size()) || ::fsync(fd) != 0)
        error = "cannot write " + tmp + ": " + std::strerror(errno);
    if (::close(fd) != 0 && error.empty())
        error = "cannot write " + tmp + ": " + std::strerror(errno);
    if (error.empty() && ::renameat(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str()) != 0)
        error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    if (!error.empty()) {
        ::unlink(tmp.c_str());
        return error;
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        const bool synced = ::fsync(dfd) == 0 || errno == EINVAL || errno == ENOTSUP;
        ::close(dfd);
        if (!synced) return "cannot sync " + dir + ": " + std::strerror(errno);
    }
    return "";
}

// The writer process: saves each state it is sent (8-byte length, text) atomically at path and
// answers one byte (0 saved) or 1 + 4-byte length + message. Ends at EOF.
[[noreturn]] void writer_loop(int in, int out, const std::string& path) {
    for (;;) {
        std::uint64_t len = 0;
        if (!read_all_fd(in, &len, sizeof len) || len > (1u << 20)) ::_exit(0);
        std::string text(len, '\0');
        if (!read_all_fd(in, text.data(), len)) ::_exit(0);
        const std::string error = save_atomic(path, text);
        const char status = error.empty() ? 0 : 1;
        if (!write_all_fd(out, &status, 1)) ::_exit(1);
        if (!error.empty()) {
            const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(error.size(), 4096));
            if (!write_all_fd(out, &n, sizeof n) || !write_all_fd(out, error.data(), n)) ::_exit(1);
        }
    }
}

#endif

}  // namespace

std::string state_path_for_key(const std::string& key_path, const std::string& kit_id) {
    std::string stem = key_path;
    if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".key") == 0)
        stem.resize(stem.size() - 4);
    return stem + "." + kit_id + ".state.json";
}

KitState read_state_file(const std::string& path) {
    return parse_state(read_whole(path), path);
}

void create_empty_state(const std::string& path, const std::string& kit_id) {
    KitState s;
    s.kit_id = kit_id;
    write_file_atomic(path, state_text(s), true, 0600);
}

KitStateLock::KitStateLock(const std::string& key_path, const std::string& state_path,
                           const std::string& kit_id, const std::string& out_dir, bool must_exist)
    : path_(state_path), dir_(out_dir), kit_id_(kit_id) {
    if (!valid_kit_id(kit_id)) throw UsageError("invalid kit id '" + kit_id + "'");
    // The key file itself is the lock: no second mutable file beside the key.
    lock_fd_ = ::open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (lock_fd_ < 0) throw IoError("cannot open " + key_path + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw IoError("another scan is using the collector key " + key_path);
    }
    const bool had_state = exists(path_);
    if (had_state) {
        cached_ = read_state_file(path_);
        if (cached_.kit_id != kit_id)
            throw IoError(path_ + " is the sequence state of kit " + cached_.kit_id + ", not of " +
                          kit_id + " (the key's certificate)");
    } else if (must_exist) {
        throw IoError(path_ +
                      " is missing: the kit's sequence state (created with the kit) was deleted, "
                      "so its chain cannot continue soundly; return the kit");
    }
    cached_.kit_id = kit_id;
    // A scan interrupted between reserving its sequence number and finishing.
    if (cached_.pending_sequence > cached_.last_sequence) {
        const std::string pending = cached_.pending_dir + "/" + cached_.pending_bundle;
        struct stat st {};
        if (::stat(pending.c_str(), &st) == 0) {
            cached_.last_sequence = cached_.pending_sequence;
            cached_.last_bundle = cached_.pending_bundle;
            cached_.last_dir = cached_.pending_dir;
            cached_.last_bundle_sha256 = file_sha256(pending);
            cached_.last_statement_sha256 = statement_digest_or_empty(pending);
            notes_.push_back("sequence " + std::to_string(cached_.last_sequence) +
                             " of an interrupted scan was found in " + cached_.pending_dir +
                             ": the chain continues from it");
        } else if (::stat(cached_.pending_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            throw IoError("the last scan with this key was interrupted while writing sequence " +
                          std::to_string(cached_.pending_sequence) + " to " + cached_.pending_dir +
                          ", which is not reachable now: make it available again (mount that "
                          "medium) and rerun; going on without it could give that sequence "
                          "number twice");
        }
    }
    cached_.pending_sequence = 0;
    cached_.pending_dir.clear();
    cached_.pending_bundle.clear();
    // The old place: a state in the output folder, from before the state moved to the key.
    const std::string legacy = out_dir + "/.kit-" + kit_id + ".state.json";
    if (exists(legacy)) {
        KitState old = read_state_file(legacy);
        if (old.last_sequence > cached_.last_sequence) {
            cached_ = old;
            cached_.kit_id = kit_id;
            cached_.last_dir = absolute(out_dir);
            notes_.push_back("the sequence state of kit " + kit_id + " (sequence " +
                             std::to_string(old.last_sequence) + ") was taken over from " + legacy +
                             "; it lives in " + path_ + " from now on");
        }
    }
    const std::uint64_t before = cached_.last_sequence;
    catch_up(out_dir, kit_id, cached_);
    if (cached_.last_sequence > before) cached_.last_dir = absolute(out_dir);
    fresh_ = !had_state && cached_.last_sequence == 0;
    // Written now, before the scan: an unwritable place fails at once, not after the scan.
    write_file_atomic(path_, state_text(cached_), false, 0600);

    beside_key_ = true;
#ifndef _WIN32
    int down[2], up[2];
    if (::pipe2(down, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(up, O_CLOEXEC) != 0) {
        ::close(down[0]);
        ::close(down[1]);
        throw IoError(std::string("pipe: ") + std::strerror(errno));
    }
    writer_pid_ = ::fork();
    if (writer_pid_ < 0) {
        for (int fd : {down[0], down[1], up[0], up[1]}) ::close(fd);
        throw IoError(std::string("fork: ") + std::strerror(errno));
    }
    if (writer_pid_ == 0) {
        ::close(down[1]);
        ::close(up[0]);
        writer_loop(down[0], up[1], path_);
    }
    ::close(down[0]);
    ::close(up[1]);
    to_writer_ = down[1];
    from_writer_ = up[0];
#endif
}

KitState KitStateLock::load() const {
    if (beside_key()) {
        KitState s = cached_;
        const std::uint64_t before = s.last_sequence;
        catch_up(dir_, kit_id_, s);
        if (s.last_sequence > before) s.last_dir = absolute(dir_);
        return s;
    }
    KitState s = read_state();
    if (s.kit_id.empty()) s.kit_id = kit_id_;
    catch_up(dir_, kit_id_, s);
    return s;
}

KitState KitStateLock::read_state() const {
    if (!exists(path_)) return KitState{};
    KitState s = parse_state(read_whole(path_), path_);
    s.pending_sequence = 0;  // the output folder itself is caught up with
    return s;
}

void KitStateLock::save(const KitState& s) const {
    const std::string text = state_text(s);
    if (!beside_key()) {
        write_file_atomic(path_, text);
        return;
    }
#ifdef _WIN32
    // No sandbox on Windows (README "Windows"): this process saves the state itself.
    write_file_atomic(path_, text, false, 0600);
#else
    const std::uint64_t len = text.size();
    char status = 1;
    if (!write_all_fd(to_writer_, &len, sizeof len) ||
        !write_all_fd(to_writer_, text.data(), len) || !read_all_fd(from_writer_, &status, 1))
        throw IoError("the writer of " + path_ + " ended early");
    if (status != 0) {
        std::uint32_t n = 0;
        std::string message = "unknown error";
        if (read_all_fd(from_writer_, &n, sizeof n) && n <= 4096) {
            message.assign(n, '\0');
            if (!read_all_fd(from_writer_, message.data(), n)) message = "unknown error";
        }
        throw IoError("cannot save " + path_ + ": " + message);
    }
#endif
}

}  // namespace audit::evidence
