#include "sources/base.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "audit/error.h"
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

}  // namespace audit::sources
