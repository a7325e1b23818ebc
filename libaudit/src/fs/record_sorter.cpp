#include "audit/fs/record_sorter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>
#include <tuple>

#include "audit/error.h"

namespace audit::fs {

namespace {

constexpr std::size_t kIoBuffer = 1u << 20;
constexpr std::size_t kFanIn = 64;  // runs merged at once (each holds a buffer)
constexpr std::size_t kHeader = 4 + 1 + 4;

std::string sorter_errtext(int e) {
    return std::strerror(e);
}

// Sequential buffered writer of one file we create.
class Writer {
  public:
    explicit Writer(std::string path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) throw IoError("cannot create " + path_ + ": " + sorter_errtext(errno));
        buf_.reserve(kIoBuffer + 4096);
    }
    ~Writer() {
        if (fd_ >= 0) ::close(fd_);
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void record(std::string_view key, std::uint8_t rank, std::string_view line) {
        const auto k = static_cast<std::uint32_t>(key.size());
        const auto l = static_cast<std::uint32_t>(line.size());
        char h[kHeader];
        std::memcpy(h, &k, 4);
        std::memcpy(h + 4, &rank, 1);
        std::memcpy(h + 5, &l, 4);
        put(std::string_view(h, kHeader));
        put(key);
        put(line);
    }
    void line(std::string_view text) {
        put(text);
        put("\n");
    }
    void close() {
        flush();
        int rc = ::close(fd_);
        fd_ = -1;
        if (rc != 0) throw IoError("cannot write " + path_ + ": " + sorter_errtext(errno));
    }

  private:
    void put(std::string_view bytes) {
        buf_.append(bytes);
        if (buf_.size() >= kIoBuffer) flush();
    }
    void flush() {
        std::string_view rest(buf_);
        while (!rest.empty()) {
            ssize_t n = ::write(fd_, rest.data(), rest.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw IoError("cannot write " + path_ + ": " + sorter_errtext(errno));
            }
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        buf_.clear();
    }

    std::string path_;
    int fd_ = -1;
    std::string buf_;
};

// Reads back the records of one run.
class Reader {
  public:
    explicit Reader(const std::string& path, std::size_t buffer) : path_(path), buf_(buffer) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw IoError("cannot open " + path + ": " + sorter_errtext(errno));
    }
    ~Reader() {
        if (fd_ >= 0) ::close(fd_);
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // False at the end of the run.
    bool next(std::string& key, std::uint8_t& rank, std::string& line) {
        char h[kHeader];
        if (!take(h, kHeader, true)) return false;
        std::uint32_t k = 0, l = 0;
        std::memcpy(&k, h, 4);
        std::memcpy(&rank, h + 4, 1);
        std::memcpy(&l, h + 5, 4);
        key.resize(k);
        line.resize(l);
        take(key.data(), k, false);
        take(line.data(), l, false);
        return true;
    }

  private:
    bool take(char* out, std::size_t n, bool eof_ok) {
        std::size_t got = 0;
        while (got < n) {
            if (pos_ == end_) {
                ssize_t r = ::read(fd_, buf_.data(), buf_.size());
                if (r < 0) {
                    if (errno == EINTR) continue;
                    throw IoError("cannot read " + path_ + ": " + sorter_errtext(errno));
                }
                if (r == 0) {
                    if (got == 0 && eof_ok) return false;
                    throw IoError(path_ + " is truncated");
                }
                pos_ = 0;
                end_ = static_cast<std::size_t>(r);
            }
            std::size_t c = std::min(n - got, end_ - pos_);
            std::memcpy(out + got, buf_.data() + pos_, c);
            pos_ += c;
            got += c;
        }
        return true;
    }

    std::string path_;
    int fd_ = -1;
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
};

struct Cursor {
    std::unique_ptr<Reader> reader;
    std::string key, line;
    std::uint8_t rank = 0;
};

bool less(const Cursor& a, const Cursor& b) {
    return std::tie(a.key, a.rank, a.line) < std::tie(b.key, b.rank, b.line);
}

// Merges runs in order; out(key, rank, line) gets the first line of each key only.
template <typename Out>
std::uint64_t merge(const std::vector<std::string>& runs, std::uint64_t& duplicates, Out&& out) {
    std::vector<Cursor> cursors(runs.size());
    const std::size_t per_run = std::max<std::size_t>(64u << 10, kIoBuffer / runs.size());
    auto greater = [&](std::size_t a, std::size_t b) { return less(cursors[b], cursors[a]); };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(greater)> heap(greater);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        cursors[i].reader = std::make_unique<Reader>(runs[i], per_run);
        if (cursors[i].reader->next(cursors[i].key, cursors[i].rank, cursors[i].line)) heap.push(i);
    }
    std::string last;
    bool any = false;
    std::uint64_t written = 0;
    while (!heap.empty()) {
        std::size_t i = heap.top();
        heap.pop();
        Cursor& c = cursors[i];
        if (any && c.key == last) {
            ++duplicates;
        } else {
            out(c.key, c.rank, c.line);
            last = c.key;
            any = true;
            ++written;
        }
        if (c.reader->next(c.key, c.rank, c.line)) heap.push(i);
    }
    return written;
}

}  // namespace

ScratchDir::ScratchDir(const std::string& parent, const std::string& prefix) {
    std::string t = parent + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr)
        throw IoError("cannot create a scratch directory in " + parent + ": " +
                      sorter_errtext(errno));
    path_ = t;
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

RecordSorter::RecordSorter(std::string dir, std::size_t memory_bytes)
    : dir_(std::move(dir)), memory_bytes_(memory_bytes) {}

RecordSorter::~RecordSorter() {
    for (const auto& r : runs_) ::unlink(r.c_str());
}

void RecordSorter::add(std::string_view key, std::uint8_t rank, std::string_view line) {
    std::string arena;
    std::vector<Item> items;
    {
        std::lock_guard lk(m_);
        items_.push_back({arena_.size(), static_cast<std::uint32_t>(key.size()),
                          static_cast<std::uint32_t>(line.size()), rank});
        arena_.append(key);
        arena_.append(line);
        if (arena_.size() + items_.size() * sizeof(Item) < memory_bytes_) return;
        arena.swap(arena_);
        items.swap(items_);
        arena_.reserve(arena.size());
    }
    spill(arena, items);  // outside the lock: the other workers keep going
}

void RecordSorter::spill(std::string& arena, std::vector<Item>& items) {
    auto key = [&](const Item& i) { return std::string_view(arena).substr(i.offset, i.key_len); };
    auto line = [&](const Item& i) {
        return std::string_view(arena).substr(i.offset + i.key_len, i.line_len);
    };
    std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
        return std::make_tuple(key(a), a.rank, line(a)) < std::make_tuple(key(b), b.rank, line(b));
    });
    std::string path;
    {
        std::lock_guard lk(m_);
        path = dir_ + "/run-" + std::to_string(next_run_++);
        runs_.push_back(path);
        ++runs_spilled_;
    }
    Writer w(path);
    for (const auto& i : items) w.record(key(i), i.rank, line(i));
    w.close();
}

std::uint64_t RecordSorter::finish(const std::string& out_path) {
    if (runs_.empty()) {
        // Everything fit in memory: sort and write, no run files.
        auto key = [&](const Item& i) {
            return std::string_view(arena_).substr(i.offset, i.key_len);
        };
        auto line = [&](const Item& i) {
            return std::string_view(arena_).substr(i.offset + i.key_len, i.line_len);
        };
        std::sort(items_.begin(), items_.end(), [&](const Item& a, const Item& b) {
            return std::make_tuple(key(a), a.rank, line(a)) <
                   std::make_tuple(key(b), b.rank, line(b));
        });
        Writer out(out_path);
        std::uint64_t written = 0;
        for (std::size_t n = 0; n < items_.size(); ++n) {
            if (n > 0 && key(items_[n]) == key(items_[n - 1])) {
                ++duplicates_;
                continue;
            }
            out.line(line(items_[n]));
            ++written;
        }
        out.close();
        items_.clear();
        arena_.clear();
        arena_.shrink_to_fit();
        return written;
    }
    if (!items_.empty()) {
        std::string arena;
        std::vector<Item> items;
        arena.swap(arena_);
        items.swap(items_);
        spill(arena, items);
    }
    // Merge passes until one pass can take every run.
    while (runs_.size() > kFanIn) {
        std::vector<std::string> group(runs_.begin(), runs_.begin() + kFanIn);
        runs_.erase(runs_.begin(), runs_.begin() + kFanIn);
        const std::string path = dir_ + "/run-" + std::to_string(next_run_++);
        runs_.push_back(path);
        Writer w(path);
        merge(group, duplicates_, [&](const std::string& k, std::uint8_t r, const std::string& l) {
            w.record(k, r, l);
        });
        w.close();
        for (const auto& g : group) ::unlink(g.c_str());
    }
    Writer out(out_path);
    const std::uint64_t written =
        merge(runs_, duplicates_,
              [&](const std::string&, std::uint8_t, const std::string& l) { out.line(l); });
    out.close();
    for (const auto& r : runs_) ::unlink(r.c_str());
    runs_.clear();
    return written;
}

}  // namespace audit::fs
