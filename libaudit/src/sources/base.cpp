#include "sources/base.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "audit/error.h"
#include "audit/fs/walker.h"
#include "audit/host/identity.h"
#include "formats/text.h"

namespace audit::sources {

SourceReport report_for(const Source& s) {
    SourceReport r;
    r.name = std::string(s.name());
    r.ecosystem = std::string(s.ecosystem());
    if (s.info().report_covers)
        for (const catalog::Ecosystem* e : s.info().ecosystems) r.covers.emplace_back(e->name);
    return r;
}

SourceReport BasicSource::collect(const fs::Root& root, std::vector<InventoryItem>& out) const {
    SourceReport rep = report_for(*this);
    Collection c{rep, {}, {}, false};
    try {
        read(root, c);
    } catch (const Error& e) {
        // A database that cannot be read must never look like "nothing installed".
        c.failures.emplace_back(e.what());
    }
    rep.items = c.items.size();
    for (auto& i : c.items) out.push_back(std::move(i));
    if (!c.failures.empty()) {
        rep.status = SourceStatus::failed;
        rep.error = c.failures.front();
        if (c.failures.size() > 1)
            rep.error += " (and " + std::to_string(c.failures.size() - 1) + " more)";
        for (std::size_t i = 1; i < c.failures.size(); ++i) text::warn(rep.warnings, c.failures[i]);
    } else {
        rep.status = c.found || rep.items > 0 ? SourceStatus::ran : SourceStatus::absent;
    }
    return rep;
}

void require_absent(const fs::Root& root, std::string_view rel, bool last_is_dir) {
    std::vector<std::string> comps;
    std::size_t i = 0;
    while (i <= rel.size()) {
        std::size_t j = rel.find('/', i);
        if (j == std::string_view::npos) j = rel.size();
        if (j > i) comps.emplace_back(rel.substr(i, j - i));
        i = j + 1;
    }
    std::string prefix;
    for (std::size_t k = 0; k < comps.size(); ++k) {
        prefix += "/" + comps[k];
        const bool last = k + 1 == comps.size();
        const bool want_dir = !last || last_is_dir;
        auto link = root.read_link(prefix);
        fs::UniqueFd fd = root.open(prefix, want_dir);
        if (fd) continue;
        const int err = errno;
        if (err == ENOENT) {
            if (link)
                throw IoError(prefix + " is a symbolic link to " + *link +
                              ", which leads nowhere inside the root");
            return;  // cleanly missing
        }
        if (err == ENOTDIR || err == EISDIR)
            throw IoError(prefix + " exists but is not a " +
                          (want_dir ? "directory" : "regular file"));
        throw IoError("cannot open " + prefix + ": " + std::strerror(err));
    }
}

std::string distro_id(const fs::Root& root, std::string_view fallback) {
    const auto os = host::os_release(root);
    const auto it = os.find("ID");
    if (it == os.end() || it->second.empty() || it->second.size() > 32)
        return std::string(fallback);
    std::string id = it->second;
    for (char& c : id) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return std::string(fallback);
    }
    return id;
}

void hive_state(const host::LoadedHive& h, std::vector<std::string>& warnings,
                std::vector<std::string>& failures) {
    const auto& st = h.hive->status();
    for (const auto& n : st.notes) text::warn(warnings, h.origin + ": " + n);
    if (!st.dirty) return;
    if (st.recovered)
        text::warn(warnings,
                   h.origin + ": dirty hive (sequence " + std::to_string(st.primary_sequence) +
                       "/" + std::to_string(st.secondary_sequence) + "), recovered from " +
                       std::to_string(st.log_entries_applied) + " transaction log entries");
    else
        failures.push_back(h.origin +
                           ": dirty hive and its transaction logs could not be applied; "
                           "inventory from it is incomplete");
}

std::size_t for_each_user_hive(
    const fs::Root& root, host::CaseInsensitivePaths& paths, std::vector<std::string>& failures,
    const std::function<void(const std::string& user, const host::LoadedHive& hive)>& fn) {
    constexpr std::size_t kMaxUsers = 10000;
    auto users = paths.find("Users");
    std::vector<std::string> names;
    if (users)
        if (auto listed = root.list_dir(*users)) names = std::move(*listed);
    if (names.size() > kMaxUsers)
        throw IoError(*users + ": more than " + std::to_string(kMaxUsers) + " entries");
    std::size_t hives = 0;
    for (const auto& user : names) {
        const std::string rel = *users + "/" + user + "/NTUSER.DAT";
        if (!paths.find(rel)) continue;
        ++hives;
        auto h = host::load_hive(root, paths, rel);
        if (!h.hive) {
            failures.push_back((h.origin.empty() ? rel : h.origin) + ": " +
                               (h.error.empty() ? "unreadable" : h.error));
            continue;
        }
        fn(user, h);
    }
    return hives;
}

void scan_by_magic(
    const fs::Root& root, const std::vector<std::string>& dirs, const MagicScan& m, Collection& c,
    const std::function<void(const std::string& path, const std::string& data)>& parse) {
    std::vector<std::string>& warnings = c.warnings();
    std::size_t looked = 0, parsed = 0, too_big = 0, malformed = 0, unreadable = 0;
    std::uint64_t bytes = 0;
    bool stopped = false;
    fs::WalkOptions wopt;
    wopt.hash = false;
    for (const auto& dir : dirs) {
        fs::WalkStats stats;
        fs::walk(
            root, dir, wopt,
            [&](fs::FileRecord&& r) {
                if (!r.error.empty() && r.type != "missing") {
                    ++unreadable;
                    text::warn(warnings, r.path + ": " + r.error);
                    return;
                }
                if (stopped || r.type != "file" || r.size < m.min_size) return;
                if (++looked > m.max_files || bytes > m.max_total_bytes) {
                    stopped = true;
                    return;
                }
                {
                    fs::UniqueFd fd = root.open(r.path, false);
                    if (!fd) {
                        if (errno == ENOENT) return;  // removed since the directory was listed
                        ++unreadable;
                        text::warn(warnings, "cannot open " + r.path + ": " + std::strerror(errno));
                        return;
                    }
                    std::string head(m.head_bytes, '\0');
                    if (::pread(fd.get(), head.data(), head.size(), 0) !=
                            static_cast<ssize_t>(head.size()) ||
                        !m.magic(head))
                        return;
                }
                if (r.size > m.max_file_bytes) {
                    ++too_big;
                    text::warn(warnings, r.path + ": " + m.kind + " file larger than " +
                                             std::to_string(m.max_file_bytes) +
                                             " bytes not examined");
                    return;
                }
                std::optional<std::string> data;
                try {
                    data = root.read_file(r.path, m.max_file_bytes);
                } catch (const Error& e) {
                    ++unreadable;
                    text::warn(warnings, e.what());
                    return;
                }
                if (!data) return;
                bytes += data->size();
                try {
                    parse(r.path, *data);
                    ++parsed;
                } catch (const Error& e) {
                    ++malformed;  // the magic is shared: DOS stubs, Java class files, data
                    text::warn(warnings, e.what());
                }
            },
            stats);
    }
    text::warn(warnings, std::to_string(parsed) + " " + m.kind + " files parsed, " +
                             std::to_string(malformed) + " malformed, " + std::to_string(too_big) +
                             " too large, " + std::to_string(unreadable) + " unreadable");
    // Stopping early must not read as "nothing there": the product coverage shows the gap.
    if (stopped)
        c.failures.push_back("stopped after " + std::to_string(m.max_files) + " files or " +
                             std::to_string(m.max_total_bytes >> 30) + " GiB: " + m.kind +
                             " files not all examined");
    if (too_big > 0 && m.too_big_fails)
        c.failures.push_back(std::to_string(too_big) + " " + m.kind +
                             " file(s) too large to examine");
    if (unreadable > 0)
        c.failures.push_back(std::to_string(unreadable) + " " + m.kind +
                             " file(s) or directories could not be read");
}

}  // namespace audit::sources
