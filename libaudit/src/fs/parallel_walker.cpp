#include "audit/fs/parallel_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "audit/fs/read_ring.h"
#include "walk_internal.h"

namespace audit::fs {

namespace {

using namespace detail;

constexpr std::size_t kChunkEntries = 64;          // entries of one directory per task
constexpr std::size_t kDentsBuffer = 64u << 10;    // one getdents64 call
constexpr std::uint64_t kOffloadBytes = 1u << 20;  // a file this large may go to an idle worker
// The io_uring path: files up to kRingReadMax bytes are read in batches into a per-worker arena
// of kRingArena bytes; larger ones are opened in the batch and read as on the posix path.
constexpr std::uint64_t kRingReadMax = 64u << 10;
constexpr std::size_t kRingArena = 1u << 20;
constexpr unsigned kRingEntries = 2 * kChunkEntries;

// A directory fd shared by the tasks that still need it; closed with the last one.
struct DirFd {
    int fd = -1;
    bool owned = false;
    DirFd(int f, bool own) : fd(f), owned(own) {}
    DirFd(const DirFd&) = delete;
    DirFd& operator=(const DirFd&) = delete;
    ~DirFd() {
        if (owned && fd >= 0) ::close(fd);
    }
};
using DirRef = std::shared_ptr<const DirFd>;

struct Entry {
    std::string name;
    unsigned char type;  // DT_*
};

// An opened large file waiting for a worker: its fstat and its record so far.
struct OpenedFile {
    UniqueFd fd;
    struct stat st {};
    FileRecord rec;
};

struct Task {
    enum class Kind { entry, chunk, big } kind = Kind::entry;
    std::string path;         // entry: its path; chunk: the directory's path
    DirRef dir;               // entry: the parent; chunk: the directory itself
    std::string name;         // entry: name in dir
    std::uint64_t depth = 0;  // entry: its own; chunk: the directory's
    dev_t start_dev = 0;
    std::vector<Entry> entries;          // chunk
    std::unique_ptr<OpenedFile> opened;  // big
};

// A walk target: a subtree, or one path described without descending.
struct Target {
    const std::string* path;
    bool descend;
};

// One regular file of a chunk on the io_uring path.
struct RingFile {
    std::size_t entry = 0;  // index in the chunk
    int fd = -1;
    int opened = 0;  // the openat result (-errno), or kNotRun
    struct stat st {};
    FileRecord rec;
    std::size_t offset = 0;  // in the arena
    unsigned len = 0;        // asked
    long got = 0;            // the read result (bytes or -errno)
};
constexpr int kNotRun = -100000;

struct Worker {
    std::unique_ptr<FileHasher> hasher;
    std::vector<std::uint64_t> dents;  // 8-byte aligned for dirent64 records
    WalkStats stats;
    std::unique_ptr<ReadRing> ring;  // the io_uring path (nullptr: posix)
    std::string ring_error;          // why this worker's ring was dropped mid-walk
    std::vector<RingFile> files;
    std::vector<std::size_t> reads;  // indexes in files of the queued reads
    std::vector<std::uint8_t> arena;
};

class ParallelWalk {
  public:
    ParallelWalk(const Root& root, const WalkOptions& options, unsigned jobs,
                 const std::function<void(FileRecord&&)>& sink)
        : root_(root), options_(options), jobs_(jobs), sink_(sink) {}

    WalkStats run(const WalkTargets& targets) {
        // Targets are taken one at a time when the stack is empty, never queued all at once
        // (a packages scope gives one per packaged file).
        for (const auto& p : targets.subtrees) targets_.push_back({&p, true});
        for (const auto& p : targets.paths) targets_.push_back({&p, false});
        std::vector<Worker> workers(jobs_);
        const std::string io = rings(workers);
        std::vector<std::thread> threads;
        for (unsigned i = 1; i < jobs_; ++i) {
            try {
                threads.emplace_back([this, &workers, i] { loop(workers[i]); });
            } catch (const std::system_error&) {
                break;  // fewer threads than asked: the others still finish the walk
            }
        }
        loop(workers[0]);
        for (auto& t : threads) t.join();
        stack_.clear();
        if (error_) std::rethrow_exception(error_);
        WalkStats total;
        for (const auto& w : workers) {
            total.files += w.stats.files;
            total.dirs += w.stats.dirs;
            total.bytes_hashed += w.stats.bytes_hashed;
            total.errors += w.stats.errors;
            total.skipped_special += w.stats.skipped_special;
            total.skipped_other_fs += w.stats.skipped_other_fs;
        }
        total.io = io;
        for (const auto& w : workers)
            if (!w.ring_error.empty()) {
                total.io += " (then posix: " + w.ring_error + ")";
                break;
            }
        return total;
    }

  private:
    // The I/O path: one restricted ring per worker, or none; what the evidence says about it.
    std::string rings(std::vector<Worker>& workers) {
        // auto is posix: on the machine of README "Speed" the batched path saved no CPU (the
        // system calls' entry is a small part of their cost; the VFS work is the same).
        if (options_.io != IoPath::uring) return "posix";
        // The batched path is the one for files opened straight from getdents64 (O_NOATIME
        // everywhere, CAP_FOWNER); a walk that must lstat every entry first stays posix.
        if (!options_.hash) return "posix (io_uring: nothing to read)";
        if (!noatime_everywhere()) return "posix (io_uring: only with CAP_FOWNER)";
        std::string why;
        for (auto& w : workers) {
            w.ring = ReadRing::create(kRingEntries, why);
            if (!w.ring) {
                for (auto& x : workers) x.ring.reset();
                return "posix (io_uring unavailable: " + why + ")";
            }
        }
        return "io_uring";
    }

    void loop(Worker& w) {
        for (;;) {
            Task t;
            const Target* target = nullptr;
            {
                std::unique_lock lk(m_);
                ++idle_;
                cv_.wait(lk, [&] {
                    return failed_ || !stack_.empty() || next_target_ < targets_.size() ||
                           active_ == 0;
                });
                --idle_;
                if (failed_) {
                    cv_.notify_all();
                    return;
                }
                if (!stack_.empty()) {
                    t = std::move(stack_.back());
                    stack_.pop_back();
                } else if (next_target_ < targets_.size()) {
                    target = &targets_[next_target_++];
                } else {
                    cv_.notify_all();  // nothing queued, nothing running: done
                    return;
                }
                ++active_;
            }
            try {
                if (target)
                    start(w, *target->path, target->descend);
                else
                    execute(w, t);
            } catch (...) {
                std::lock_guard lk(m_);
                if (!error_) error_ = std::current_exception();
                failed_ = true;
            }
            t = Task();  // close what it held outside the lock
            std::lock_guard lk(m_);
            --active_;
            if (failed_ || (active_ == 0 && stack_.empty())) cv_.notify_all();
        }
    }

    void push(Task&& t) {
        {
            std::lock_guard lk(m_);
            stack_.push_back(std::move(t));
        }
        cv_.notify_one();
    }

    void push_all(std::vector<Task>& tasks) {
        if (tasks.empty()) return;
        {
            std::lock_guard lk(m_);
            for (auto& t : tasks) stack_.push_back(std::move(t));
        }
        tasks.clear();
        cv_.notify_all();
    }

    void emit(Worker& w, FileRecord& rec) {
        if (!rec.error.empty()) ++w.stats.errors;
        sink_(std::move(rec));
    }

    FileHasher& hasher(Worker& w) {
        if (!w.hasher) w.hasher = std::make_unique<FileHasher>(options_.digests);
        return *w.hasher;
    }

    void execute(Worker& w, Task& t) {
        switch (t.kind) {
            case Task::Kind::entry:
                entry(w, t.dir, t.name, std::move(t.path), t.depth, t.start_dev, true);
                break;
            case Task::Kind::chunk:
                chunk(w, t);
                break;
            case Task::Kind::big: {
                auto& o = *t.opened;
                hash_opened(hasher(w), o.fd.get(), o.st, o.rec, w.stats.bytes_hashed, nullptr,
                            &options_);
                o.fd = UniqueFd();
                --offloaded_;
                emit(w, o.rec);
                break;
            }
        }
    }

    // As walk() starts: the root itself through its handle, anything else through its parent
    // (resolved inside the root), the final component never followed.
    void start(Worker& w, const std::string& target, bool descend) {
        const std::string path = normalize(target);
        if (path == "/") {
            struct stat st {};
            if (::fstat(root_.fd(), &st) != 0) return;
            auto self = std::make_shared<const DirFd>(root_.fd(), false);
            FileRecord rec;
            rec.path = "/";
            fill(rec, st);
            directory(w, self, ".", rec, st, 0, st.st_dev, descend);
            return;
        }
        const std::size_t slash = path.rfind('/');
        const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
        const std::string name = path.substr(slash + 1);
        UniqueFd dir = root_.open(parent, true);
        if (!dir) {
            if (errno == ENOENT || errno == ENOTDIR) return;
            FileRecord rec;
            rec.path = path;
            rec.type = "unknown";
            rec.error = errtext("open parent", errno);
            emit(w, rec);
            return;
        }
        auto pref = std::make_shared<const DirFd>(dir.release(), true);
        struct stat st {};
        if (::fstatat(pref->fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 &&
            errno == ENOENT)
            return;
        entry(w, pref, name, path, 0, st.st_dev, descend);
    }

    // One entry of dir, described from its lstat.
    void entry(Worker& w, const DirRef& dir, const std::string& name, std::string path,
               std::uint64_t depth, dev_t start_dev, bool descend) {
        FileRecord rec;
        rec.path = std::move(path);
        struct stat st {};
        if (::fstatat(dir->fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0) {
            rec.type = errno == ENOENT ? "missing" : "unknown";
            rec.error = errtext("lstat", errno);
            emit(w, rec);
            return;
        }
        fill(rec, st);
        if (S_ISREG(st.st_mode)) {
            ++w.stats.files;
            if (!options_.hash) {
                emit(w, rec);
                return;
            }
            UniqueFd f(open_read_only(dir->fd, name.c_str(), 0, static_cast<long>(st.st_uid)));
            struct stat before {};
            if (!f) {
                rec.error = errtext("open", errno);
            } else if (::fstat(f.get(), &before) != 0) {
                rec.error = errtext("fstat", errno);
            } else if (!S_ISREG(before.st_mode) || !same_inode(st, before)) {
                rec.error = "replaced while being opened";
                rec.unstable = true;
            } else {
                regular(w, std::move(f), before, rec);
                return;
            }
            emit(w, rec);
        } else if (S_ISLNK(st.st_mode)) {
            ++w.stats.files;
            rec.link_target = read_link(dir->fd, name.c_str(), rec.error);
            emit(w, rec);
        } else if (S_ISDIR(st.st_mode)) {
            directory(w, dir, name.c_str(), rec, st, depth, start_dev, descend);
        } else {
            ++w.stats.files;
            ++w.stats
                  .skipped_special;  // never opened: reading a FIFO or a device could block or act
            emit(w, rec);
        }
    }

    // An opened regular file: hashed here, or by an idle worker when large.
    void regular(Worker& w, UniqueFd f, const struct stat& st, FileRecord& rec) {
        if (static_cast<std::uint64_t>(st.st_size) >= kOffloadBytes && idle_.load() > 0 &&
            offloaded_.load() < 2 * jobs_) {
            ++offloaded_;
            Task t;
            t.kind = Task::Kind::big;
            t.opened = std::make_unique<OpenedFile>();
            t.opened->fd = std::move(f);
            t.opened->st = st;
            t.opened->rec = std::move(rec);
            push(std::move(t));
            return;
        }
        hash_opened(hasher(w), f.get(), st, rec, w.stats.bytes_hashed, nullptr, &options_);
        emit(w, rec);
    }

    // getdents64 said "regular file": open it (O_NOFOLLOW, non-blocking) and check with fstat
    // instead of an lstat first. Anything unexpected goes the lstat way.
    void regular_entry(Worker& w, const DirRef& dir, const std::string& name, std::string path,
                       std::uint64_t depth, dev_t start_dev) {
        UniqueFd f(open_read_only(dir->fd, name.c_str(), 0));
        struct stat st {};
        if (!f || ::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            f = UniqueFd();
            entry(w, dir, name, std::move(path), depth, start_dev, true);
            return;
        }
        FileRecord rec;
        rec.path = std::move(path);
        fill(rec, st);
        ++w.stats.files;
        regular(w, std::move(f), st, rec);
    }

    void directory(Worker& w, const DirRef& parent, const char* name, FileRecord& rec,
                   const struct stat& st, std::uint64_t depth, dev_t start_dev, bool descend) {
        ++w.stats.dirs;
        if (!descend) {  // inspected, not walked
            emit(w, rec);
            return;
        }
        if (options_.one_filesystem && st.st_dev != start_dev) {
            rec.skipped = "other-filesystem";
            ++w.stats.skipped_other_fs;
            emit(w, rec);
            return;
        }
        if (depth >= options_.max_depth) {
            rec.skipped = "max-depth";
            emit(w, rec);
            return;
        }
        UniqueFd d(open_read_only(parent->fd, name, O_DIRECTORY, static_cast<long>(st.st_uid)));
        struct stat now {};
        std::vector<Entry> entries;
        if (!d) {
            rec.error = errtext("open", errno);
        } else if (::fstat(d.get(), &now) != 0 || !same_inode(st, now)) {
            rec.error = "replaced while being opened";
            rec.unstable = true;
        } else {
            list(w, d.get(), entries, rec.error);
        }
        const std::string path = rec.path;
        emit(w, rec);  // also when the listing was cut short
        if (entries.empty()) return;
        auto self = std::make_shared<const DirFd>(d.release(), true);
        std::vector<Task> tasks;
        tasks.reserve(entries.size() / kChunkEntries + 1);
        for (std::size_t i = 0; i < entries.size(); i += kChunkEntries) {
            Task t;
            t.kind = Task::Kind::chunk;
            t.path = path;
            t.dir = self;
            t.depth = depth;
            t.start_dev = start_dev;
            const std::size_t end = std::min(entries.size(), i + kChunkEntries);
            t.entries.assign(std::make_move_iterator(entries.begin() + static_cast<long>(i)),
                             std::make_move_iterator(entries.begin() + static_cast<long>(end)));
            tasks.push_back(std::move(t));
        }
        push_all(tasks);
    }

    void chunk(Worker& w, Task& t) {
        // Subdirectories first, so that idle workers can take them while this one hashes.
        std::vector<Task> dirs;
        for (auto& e : t.entries) {
            if (e.type != DT_DIR) continue;
            Task d;
            d.kind = Task::Kind::entry;
            d.dir = t.dir;
            d.path = join(t.path, e.name);
            d.name = std::move(e.name);
            d.depth = t.depth + 1;
            d.start_dev = t.start_dev;
            dirs.push_back(std::move(d));
        }
        push_all(dirs);
        // Without CAP_FOWNER, O_NOATIME depends on the owner: lstat first to know it.
        const bool fast = options_.hash && noatime_everywhere();
        if (fast && w.ring) {
            ring_chunk(w, t);
            return;
        }
        for (auto& e : t.entries) {
            if (e.type == DT_DIR) continue;
            std::string path = join(t.path, e.name);
            if (e.type == DT_REG && fast)
                regular_entry(w, t.dir, e.name, std::move(path), t.depth + 1, t.start_dev);
            else
                entry(w, t.dir, e.name, std::move(path), t.depth + 1, t.start_dev, true);
        }
    }

    // The io_uring path of chunk(): the regular files' openat in one submission, their fstat,
    // the reads of the small ones in batches, their closes in one submission; the same records
    // as regular_entry() (which any entry whose batched open failed goes through again).
    void ring_chunk(Worker& w, Task& t) {
        ReadRing& ring = *w.ring;
        auto& files = w.files;
        files.clear();
        // Whatever stops this chunk (the sink may throw), no descriptor it opened stays open.
        struct CloseLeft {
            std::vector<RingFile>& files;
            ~CloseLeft() {
                for (auto& f : files)
                    if (f.fd >= 0) ::close(f.fd);
                files.clear();
            }
        } close_left{files};
        for (std::size_t i = 0; i < t.entries.size(); ++i) {
            const auto& e = t.entries[i];
            if (e.type == DT_DIR) continue;
            if (e.type != DT_REG) {
                entry(w, t.dir, e.name, join(t.path, e.name), t.depth + 1, t.start_dev, true);
                continue;
            }
            RingFile f;
            f.entry = i;
            f.opened = kNotRun;
            files.push_back(std::move(f));
        }
        if (files.empty()) return;
        for (std::size_t k = 0; k < files.size(); ++k)
            ring.open_read(t.dir->fd, t.entries[files[k].entry].name.c_str(), true, k);
        const int rc = ring.run([&files](std::uint64_t k, int res) {
            if (k < files.size()) files[k].opened = res;
        });
        for (auto& f : files)
            if (f.opened >= 0) f.fd = f.opened;
        if (rc < 0) drop_ring(w, rc);  // not to be trusted again: this worker goes on posix
        if (w.arena.empty()) w.arena.resize(kRingArena);
        w.reads.clear();
        std::size_t used = 0;
        for (std::size_t k = 0; k < files.size(); ++k) {
            RingFile& f = files[k];
            auto& e = t.entries[f.entry];
            std::string path = join(t.path, e.name);
            if (f.opened < 0) {  // as the posix path would, from its own open
                regular_entry(w, t.dir, e.name, std::move(path), t.depth + 1, t.start_dev);
                continue;
            }
            if (::fstat(f.fd, &f.st) != 0 || !S_ISREG(f.st.st_mode)) {
                ::close(f.fd);
                f.fd = -1;
                entry(w, t.dir, e.name, std::move(path), t.depth + 1, t.start_dev, true);
                continue;
            }
            f.rec.path = std::move(path);
            fill(f.rec, f.st);
            ++w.stats.files;
            const auto size = static_cast<std::uint64_t>(f.st.st_size);
            if (size > kRingReadMax || !w.ring) {
                UniqueFd owned(f.fd);
                f.fd = -1;
                regular(w, std::move(owned), f.st, f.rec);
                continue;
            }
            f.len = static_cast<unsigned>(hasher(w).first_read_length(size));
            if (used + f.len > w.arena.size()) {
                ring_reads(w);
                used = 0;
            }
            f.offset = used;
            used += f.len;
            // (A read the ring did not take stays "not read": hash() does it itself.)
            if (w.ring) w.ring->read(f.fd, w.arena.data() + f.offset, f.len, k);
            w.reads.push_back(k);
        }
        ring_reads(w);
    }

    // Runs the queued reads, hashes each file from its first read on, closes them, and only
    // then hands the records to the sink (which may throw: nothing is left open then).
    void ring_reads(Worker& w) {
        if (w.reads.empty()) return;
        auto& files = w.files;
        for (std::size_t k : w.reads) files[k].got = -EAGAIN;  // not read: hash() reads itself
        if (w.ring) {
            const int rc = w.ring->run([&files](std::uint64_t k, int res) {
                if (k < files.size()) files[k].got = res;
            });
            if (rc < 0) drop_ring(w, rc);
        }
        for (std::size_t k : w.reads) {
            RingFile& f = files[k];
            const FileHasher::FirstRead first{w.arena.data() + f.offset, f.got};
            hash_opened(hasher(w), f.fd, f.st, f.rec, w.stats.bytes_hashed, &first, &options_);
        }
        for (std::size_t k : w.reads) {
            RingFile& f = files[k];
            if (!w.ring || !w.ring->close(f.fd, k)) ::close(f.fd);
            f.fd = -1;
        }
        if (w.ring) {
            const int rc = w.ring->run([](std::uint64_t, int) {});
            if (rc < 0) drop_ring(w, rc);
        }
        std::vector<std::size_t> done;
        done.swap(w.reads);
        for (std::size_t k : done) emit(w, files[k].rec);
    }

    // A ring whose submission failed is not used again by this worker; the evidence says so.
    static void drop_ring(Worker& w, int rc) {
        w.ring.reset();
        w.ring_error = std::string("io_uring_enter: ") + std::strerror(-rc);
    }

    // Every name in the directory (not . and ..), with the type getdents64 gives.
    static void list(Worker& w, int fd, std::vector<Entry>& out, std::string& error) {
        if (w.dents.empty()) w.dents.resize(kDentsBuffer / sizeof(std::uint64_t));
        char* buf = reinterpret_cast<char*>(w.dents.data());
        for (;;) {
            ssize_t n = ::getdents64(fd, buf, kDentsBuffer);
            if (n < 0) {
                if (errno == EINTR) continue;
                error = errtext("readdir", errno);
                return;
            }
            if (n == 0) return;
            for (ssize_t off = 0; off < n;) {
                unsigned short reclen = 0;
                unsigned char type = DT_UNKNOWN;
                std::memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen),
                            sizeof reclen);
                std::memcpy(&type, buf + off + offsetof(struct dirent64, d_type), sizeof type);
                const char* name = buf + off + offsetof(struct dirent64, d_name);
                off += reclen;
                if (reclen == 0) {
                    error = "readdir: malformed record";
                    return;
                }
                if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                    continue;
                if (out.size() >= kMaxDirEntries) {
                    error = "readdir: too many entries";
                    return;
                }
                out.push_back({std::string(name), type});
            }
        }
    }

    const Root& root_;
    const WalkOptions& options_;
    const unsigned jobs_;
    const std::function<void(FileRecord&&)>& sink_;

    std::mutex m_;
    std::condition_variable cv_;
    std::vector<Task> stack_;  // LIFO: depth first, so open directories stay few
    std::vector<Target> targets_;
    std::size_t next_target_ = 0;
    std::size_t active_ = 0;
    bool failed_ = false;
    std::exception_ptr error_;
    std::atomic<unsigned> idle_{0};
    std::atomic<unsigned> offloaded_{0};
};

}  // namespace

unsigned default_jobs() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? n : 1;
}

WalkStats walk_parallel(const Root& root, const WalkTargets& targets, const WalkOptions& options,
                        unsigned jobs, const std::function<void(FileRecord&&)>& sink) {
    if (jobs == 0) jobs = default_jobs();
    ParallelWalk walk(root, options, jobs, sink);
    return walk.run(targets);
}

}  // namespace audit::fs
