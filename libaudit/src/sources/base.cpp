#include "sources/base.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "audit/error.h"

namespace audit::sources {

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

}  // namespace audit::sources
