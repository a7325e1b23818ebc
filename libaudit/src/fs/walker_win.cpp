// Windows port of fs/walker.cpp: the same records (walker.h) from the wide API. Directories are
// listed with FindFirstFileExW (FIND_FIRST_EX_LARGE_FETCH); every entry is opened read-only
// (win_fs.h: backup semantics, FILE_FLAG_OPEN_REPARSE_POINT, sharing read|write|delete,
// sequential scan), never with write access (not even to restore a last-access time).
// Reparse points: symbolic links and junctions are "symlink" records with their target, never
// followed; other reparse points (deduplication, ...) are read through their filter, except
// placeholders of remote storage (cloud files, HSM, offline), whose data is not recalled: their
// record carries an error, which the coverage counts.
#include "audit/fs/walker.h"

#include <windows.h>

#include <cerrno>
#include <memory>

#include "win_fs.h"

namespace audit::fs {

namespace {

struct Walk {
    const Root& root;
    const WalkOptions& options;
    const std::function<void(FileRecord&&)>& sink;
    WalkStats& stats;
    unsigned long start_volume = 0;
    bool have_volume = false;
    std::unique_ptr<FileHasher> hasher;

    void emit(FileRecord& rec) {
        if (!rec.error.empty()) ++stats.errors;
        sink(std::move(rec));
    }

    std::wstring full(const std::string& path) const {
        return win::full_path(root.path(), path == "/" ? std::string() : path, root.is_live());
    }

    static void fill(FileRecord& rec, const win::Info& info) {
        const bool dir = info.attributes & FILE_ATTRIBUTE_DIRECTORY;
        rec.type = dir ? "dir" : "file";
        rec.size = dir ? 0 : info.size;
        std::uint32_t mode = dir ? 0755 : 0644;
        if (info.attributes & FILE_ATTRIBUTE_READONLY) mode &= 0555;
        rec.mode = mode;
        rec.uid = rec.gid = 0;
        rec.mtime = win::unix_seconds(info.mtime);
    }

    static void fill(FileRecord& rec, const win::Found& f) {
        win::Info i;
        i.attributes = f.attributes;
        i.size = f.size;
        i.mtime = f.mtime;
        fill(rec, i);
    }

    // One entry; hint: its directory listing's data (nullptr for a walk's start).
    void entry(const std::string& path, const win::Found* hint, std::uint64_t depth) {
        FileRecord rec;
        rec.path = path;
        const std::wstring w = full(path);
        // What the listing said first; the handle's own data replaces it once opened.
        unsigned long attributes = hint ? hint->attributes : 0;
        unsigned long tag = hint ? hint->reparse_tag : 0;
        if (hint) fill(rec, *hint);
        const bool listed_dir = hint && (attributes & FILE_ATTRIBUTE_DIRECTORY);
        const bool want_data = options.hash && hint && !listed_dir &&
                               !(attributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
                               !win::recall_on_read(attributes, tag);
        HANDLE h = win::open_handle(w, want_data);
        if (h == INVALID_HANDLE_VALUE) {
            const DWORD e = GetLastError();
            if (!hint) {
                if (win::errno_of(e) == ENOENT) return;  // a missing start: nothing
                rec.type = "unknown";
            }
            rec.error = win::error_text("open", e);
            if (rec.type == "file" || rec.type == "unknown") ++stats.files;
            emit(rec);
            return;
        }
        win::Info info;
        if (!win::info_of(h, info)) {
            rec.error = win::error_text("stat", GetLastError());
            if (rec.type.empty()) rec.type = "unknown";
            CloseHandle(h);
            ++stats.files;
            emit(rec);
            return;
        }
        fill(rec, info);
        if (!have_volume) {
            start_volume = info.volume;
            have_volume = true;
        }
        if (info.attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
            if (win::name_surrogate(info.reparse_tag)) {
                // A symbolic link, junction or mount point: recorded, never followed.
                ++stats.files;
                rec.type = "symlink";
                rec.size = 0;
                rec.link_target = win::reparse_target(h, rec.error);
                CloseHandle(h);
                emit(rec);
                return;
            }
            if (win::recall_on_read(info.attributes, info.reparse_tag)) {
                CloseHandle(h);
                ++stats.files;
                char tagtext[16];
                std::snprintf(tagtext, sizeof tagtext, "0x%08lX", info.reparse_tag);
                rec.error = std::string("not read: placeholder of remote storage (reparse tag ") +
                            tagtext + "); reading it would recall its data onto this host";
                emit(rec);
                return;
            }
            // Another kind (deduplicated, compressed by WOF, ...): its data through the filter.
            CloseHandle(h);
            h = win::open_handle(w, options.hash && !(info.attributes & FILE_ATTRIBUTE_DIRECTORY),
                                 true);
            win::Info again;
            if (h == INVALID_HANDLE_VALUE || !win::info_of(h, again) || again.index != info.index ||
                again.volume != info.volume) {
                rec.error = h == INVALID_HANDLE_VALUE ? win::error_text("open", GetLastError())
                                                      : "replaced while being opened";
                if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
                ++stats.files;
                emit(rec);
                return;
            }
            info = again;
        } else if (win::recall_on_read(info.attributes, 0) &&
                   !(info.attributes & FILE_ATTRIBUTE_DIRECTORY)) {
            CloseHandle(h);
            ++stats.files;
            rec.error = "not read: offline file (reading it would recall its data onto this host)";
            emit(rec);
            return;
        }
        if (info.attributes & FILE_ATTRIBUTE_DIRECTORY) {
            CloseHandle(h);
            directory(rec, info, depth);
            return;
        }
        ++stats.files;
        if (options.hash) {
            if (!want_data) {
                // Opened for attributes only (a start path, or a reparse point's target).
                CloseHandle(h);
                h = win::open_handle(w, true, info.attributes & FILE_ATTRIBUTE_REPARSE_POINT);
                win::Info again;
                if (h == INVALID_HANDLE_VALUE) {
                    rec.error = win::error_text("open", GetLastError());
                    emit(rec);
                    return;
                }
                if (!win::info_of(h, again) || again.index != info.index ||
                    again.volume != info.volume) {
                    CloseHandle(h);
                    rec.error = "replaced while being opened";
                    rec.unstable = true;
                    emit(rec);
                    return;
                }
                info = again;
            }
            hash(h, info, rec);
        } else {
            CloseHandle(h);
        }
        emit(rec);
    }

    void hash(HANDLE h, const win::Info& before, FileRecord& rec) {
        if (!hasher) hasher = std::make_unique<FileHasher>(options.digests);
        const int fd = win::to_fd(h);  // owns h from here
        if (fd < 0) {
            rec.error = "open: out of descriptors";
            return;
        }
        UniqueFd owner(fd);
        auto r = hasher->hash(fd, before.size);
        if (r.error != 0) {
            rec.error = win::error_text("read", GetLastError());
            return;
        }
        win::Info after;
        if (r.grew || !win::info_of(h, after) || after.size != before.size ||
            after.mtime != before.mtime || after.index != before.index || r.bytes != before.size)
            rec.unstable = true;
        rec.digests = std::move(r.digests);
        stats.bytes_hashed += r.bytes;
    }

    void directory(FileRecord& rec, const win::Info& info, std::uint64_t depth) {
        ++stats.dirs;
        if (options.one_filesystem && have_volume && info.volume != start_volume) {
            rec.skipped = "other-filesystem";
            ++stats.skipped_other_fs;
            emit(rec);
            return;
        }
        if (depth >= options.max_depth) {
            rec.skipped = "max-depth";
            emit(rec);
            return;
        }
        std::vector<win::Found> found;
        win::list_names(full(rec.path), found, rec.error);
        const std::string path = rec.path;
        emit(rec);  // pre-order, also when the listing was cut short
        for (const auto& f : found) {
            std::string child = path == "/" ? "/" + f.name : path + "/" + f.name;
            entry(child, &f, depth + 1);
        }
    }
};

}  // namespace

nlohmann::json WalkStats::to_json() const {
    return {{"files", files},
            {"dirs", dirs},
            {"bytes_hashed", bytes_hashed},
            {"errors", errors},
            {"skipped_special", skipped_special},
            {"skipped_other_fs", skipped_other_fs}};
}

void walk(const Root& root, std::string_view rel, const WalkOptions& options,
          const std::function<void(FileRecord&&)>& sink, WalkStats& stats) {
    const std::string path = normalize(rel);
    if (!win::plain_rel(path, root.is_live())) return;
    Walk w{root, options, sink, stats, 0, false, nullptr};
    w.entry(path, nullptr, 0);
}

FileRecord inspect(const Root& root, std::string_view rel, bool hash, const DigestPolicy& digests) {
    FileRecord out;
    bool got = false;
    WalkOptions options;
    options.hash = hash;
    options.digests = digests;
    options.max_depth = 0;  // the entry itself, never its children
    WalkStats stats;
    walk(
        root, rel, options,
        [&](FileRecord&& r) {
            if (!got) out = std::move(r);
            got = true;
        },
        stats);
    if (!got) {
        out.path = normalize(rel);
        out.type = "missing";
    }
    if (out.skipped == "max-depth") out.skipped.clear();
    return out;
}

}  // namespace audit::fs
