#include "audit/sources/rpm.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "audit/error.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxDbBytes = std::size_t{2} << 30;

// Where rpm keeps its database: the newer location first (Fedora 36+, openSUSE), where
// var/lib/rpm is often a link to it; the same directory reached twice is read once.
const char* const kRpmDirs[] = {"/usr/lib/sysimage/rpm", "/var/lib/rpm"};

enum class Backend { sqlite, ndb, bdb };
struct DbFile {
    const char* file;
    Backend backend;
    const char* label;
};
// rpm uses one backend per directory; when several files are there, the newest format wins.
const DbFile kFiles[] = {{"rpmdb.sqlite", Backend::sqlite, "sqlite"},
                         {"Packages.db", Backend::ndb, "ndb"},
                         {"Packages", Backend::bdb, "bdb"}};

using text::warn;  // bounded (formats/text.h)

// Size of a regular file in the root, nullopt when it does not exist.
std::optional<std::uint64_t> file_size(const fs::Root& root, const std::string& path) {
    fs::UniqueFd fd = root.open(path, false);
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open " + root.path() + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw IoError("cannot stat " + root.path() + path + ": " + std::strerror(errno));
    return static_cast<std::uint64_t>(st.st_size);
}

struct Found {
    std::string dir;
    DbFile db;
};

// The databases on this root, one per distinct directory.
std::vector<Found> find_databases(const fs::Root& root, std::vector<std::string>& warnings) {
    std::vector<Found> out;
    std::set<std::pair<dev_t, ino_t>> dirs_seen;
    for (const char* dir : kRpmDirs) {
        fs::UniqueFd fd = root.open(dir, true);
        if (!fd) {
            if (errno == ENOENT || errno == ENOTDIR) {
                require_absent(root, dir, true);
                continue;
            }
            throw IoError("cannot open directory " + root.path() + dir + ": " +
                          std::strerror(errno));
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0)
            throw IoError("cannot stat " + root.path() + dir + ": " + std::strerror(errno));
        if (!dirs_seen.insert({st.st_dev, st.st_ino}).second) continue;
        std::optional<DbFile> chosen;
        for (const auto& f : kFiles) {
            if (!file_size(root, std::string(dir) + "/" + f.file)) {
                require_absent(root, std::string(dir) + "/" + f.file, false);
                continue;
            }
            if (!chosen)
                chosen = f;
            else
                warn(warnings, std::string(dir) + "/" + f.file +
                                   " not read: rpm uses one database per directory and " +
                                   chosen->file + " is there too");
        }
        if (chosen)
            out.push_back({dir, *chosen});
        else
            warn(warnings, std::string(dir) + " exists but holds no rpm database");
    }
    if (out.size() > 1)
        warn(warnings, "two rpm databases (" + out[0].dir + ", " + out[1].dir + "): both read");
    return out;
}

InventoryItem rpm_item(const RpmHeader& h, const std::string& source, const char* backend) {
    InventoryItem item;
    item.ecosystem = "rpm";
    item.name = h.name;
    // rpm's EVR as rpm -q prints it with %{EPOCH}: "[epoch:]version-release".
    item.version = (h.epoch ? std::to_string(*h.epoch) + ":" : "") + h.version +
                   (h.release.empty() ? "" : "-" + h.release);
    item.arch = h.arch;
    item.publisher = h.vendor;
    item.state = "installed";  // the rpm database holds installed packages only
    item.source = source;
    nlohmann::json digests = nlohmann::json::object();
    std::set<std::string> seen;
    for (const auto& f : h.files) {
        if (f.path == "/" || !seen.insert(f.path).second) continue;
        item.paths.push_back(f.path);
        if (!f.digest.empty()) digests[f.path] = f.digest;
    }
    auto put = [&](const char* key, const std::string& v) {
        if (!v.empty()) item.extra[key] = v;
    };
    item.extra["database"] = backend;
    put("packager", h.packager);
    put("summary", h.summary);
    put("license", h.license);
    put("url", h.url);
    put("source_rpm", h.source_rpm);
    put("header_sha256", h.header_sha256);
    if (h.epoch) item.extra["epoch"] = *h.epoch;
    if (h.install_time) item.extra["install_time"] = *h.install_time;
    if (!digests.empty()) {
        item.extra["file_digest_algo"] = rpm_digest_algo_name(h.digest_algo);
        item.extra["file_digests"] = std::move(digests);
    }
    return item;
}

std::vector<RpmRecord> read_records(const fs::Root& root, const Found& db,
                                    std::vector<std::string>& warnings) {
    const std::string path = db.dir + "/" + db.db.file;
    // Transactions committed while another process held the database open are still only in the
    // write-ahead log. Read before the database: a checkpoint in between then only repeats pages.
    std::optional<std::string> wal;
    if (db.db.backend == Backend::sqlite) wal = root.read_file(path + "-wal", kMaxDbBytes);
    auto bytes = root.read_file(path, kMaxDbBytes);
    if (!bytes) throw IoError(root.path() + path + " vanished while being read");
    switch (db.db.backend) {
        case Backend::sqlite:
            return read_rpm_sqlite(std::move(*bytes), wal.value_or(std::string()), warnings);
        case Backend::ndb:
            return read_rpm_ndb(*bytes);
        case Backend::bdb:
            return read_rpm_bdb(*bytes, warnings);
    }
    return {};
}

// The readers' messages and warnings, prefixed with the database's path.
std::vector<RpmRecord> read_database(const fs::Root& root, const Found& db,
                                     std::vector<std::string>& warnings) {
    const std::string path = db.dir + "/" + db.db.file;
    std::vector<std::string> own;
    std::vector<RpmRecord> records;
    try {
        records = read_records(root, db, own);
    } catch (const UsageError& e) {
        throw UsageError(path + ": " + e.what());
    }
    for (auto& w : own) warn(warnings, w.rfind(path, 0) == 0 ? std::move(w) : path + ": " + w);
    return records;
}

const char* key_name(Backend b) {
    return b == Backend::sqlite ? "hnum" : b == Backend::ndb ? "pkgidx" : "key";
}

}  // namespace

void RpmSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    std::vector<InventoryItem> items;
    std::string unread;
    std::vector<Found> dbs = find_databases(root, rep.warnings);
    if (dbs.empty()) return;
    for (const auto& db : dbs) {
        const std::string path = db.dir + "/" + db.db.file;
        std::vector<RpmRecord> records = read_database(root, db, rep.warnings);
        std::size_t lost = 0;
        for (const auto& r : records) {
            const std::string where =
                path + "#" + key_name(db.db.backend) + "=" + std::to_string(r.key);
            try {
                if (!r.damage.empty()) throw UsageError(r.damage);
                RpmHeader h = parse_rpm_header(r.blob);
                for (const auto& p : h.problems)
                    warn(rep.warnings, where + ": " + h.name + ": " + p);
                items.push_back(rpm_item(h, where, db.db.label));
            } catch (const UsageError& e) {
                ++lost;
                warn(rep.warnings, where + ": header unreadable: " + e.what());
            }
        }
        // An unreadable header could be the product itself: the packages that were read
        // still count, but the database was not read completely.
        if (lost > 0 && unread.empty())
            unread = path + ": " + std::to_string(lost) + " of " + std::to_string(records.size()) +
                     " package headers could not be read (see warnings)";
    }
    const std::string distro = distro_id(root);
    for (auto& item : items)
        if (!distro.empty()) item.extra["distro"] = distro;
    c.found = true;
    c.items = std::move(items);
    if (!unread.empty()) c.failures.push_back(unread);
}

}  // namespace audit::sources
