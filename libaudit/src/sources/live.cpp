#include "audit/sources/live.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include <botan/hash.h>
#include <botan/hex.h>

#include "audit/error.h"
#include "audit/input_file.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxProcesses = 1u << 20;
constexpr std::uint64_t kMaxExeBytes = 4ull << 30;
constexpr std::size_t kMaxCmdline = 8192;
constexpr std::size_t kMaxCmdlinesPerExe = 8;

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 10 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool module_name_ok(std::string_view n) {
    return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// A /proc file through core/input_file (bounded; /proc entries have no useful size): at most
// max + 1 bytes, so the caller sees when there was more. nullopt when it is gone or unreadable
// (a process that exited).
std::optional<std::string> read_proc(const std::string& path, std::size_t max) {
    try {
        return read_input_file_if_exists(path, max, "process file");
    } catch (const Error&) {
        return std::nullopt;
    }
}

struct Exe {
    std::string path, sha256, error;
    std::uint64_t size = 0;
};

// Opens the process's executable through the kernel's magic link: this is the file that runs,
// even when its path was replaced or deleted since.
Exe hash_exe(const std::string& proc_pid) {
    Exe e;
    std::string target(4096, '\0');
    ssize_t n = ::readlink((proc_pid + "/exe").c_str(), target.data(), target.size());
    if (n < 0) {
        e.error = std::strerror(errno);
        return e;
    }
    target.resize(static_cast<std::size_t>(std::min<ssize_t>(n, 4095)));
    e.path = target;
    fs::UniqueFd f(::open((proc_pid + "/exe").c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!f) {
        e.error = std::strerror(errno);
        return e;
    }
    struct stat st {};
    if (::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        e.error = "not a regular file";
        return e;
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxExeBytes) {
        e.error = "larger than " + std::to_string(kMaxExeBytes) + " bytes";
        return e;
    }
    auto h = Botan::HashFunction::create_or_throw("SHA-256");
    std::vector<std::uint8_t> buf(1 << 16);
    for (;;) {
        ssize_t r = ::read(f.get(), buf.data(), buf.size());
        if (r < 0) {
            if (errno == EINTR) continue;
            e.error = std::strerror(errno);
            return e;
        }
        if (r == 0) break;
        h->update(buf.data(), static_cast<std::size_t>(r));
        e.size += static_cast<std::uint64_t>(r);
    }
    e.sha256 = Botan::hex_encode(h->final(), false);
    return e;
}

std::vector<std::string> cmdline_of(const std::string& proc_pid) {
    auto c = read_proc(proc_pid + "/cmdline", kMaxCmdline);
    std::vector<std::string> args;
    if (!c) return args;
    // A longer command line is recorded by its first kMaxCmdline bytes (it is a record of what
    // ran, not evidence a rule rests on).
    if (c->size() > kMaxCmdline) c->resize(kMaxCmdline);
    while (!c->empty() && c->back() == '\0') c->pop_back();
    if (c->empty()) return args;
    std::size_t from = 0;
    for (;;) {
        const std::size_t nul = c->find('\0', from);
        args.push_back(c->substr(from, nul == std::string::npos ? std::string::npos : nul - from));
        if (nul == std::string::npos) break;
        from = nul + 1;
    }
    return args;
}

}  // namespace

std::vector<InventoryItem> parse_proc_modules(std::string_view t, std::string_view origin) {
    if (t.size() > LiveSource::kMaxModulesBytes)
        throw UsageError(std::string(origin) + ": too large");
    std::vector<InventoryItem> items;
    text::for_each_line(t, [&](std::string_view line, std::size_t n) {
        if (line.empty()) return;
        std::vector<std::string> w;
        std::size_t i = 0;
        while (i < line.size() && w.size() < 8) {
            while (i < line.size() && line[i] == ' ') ++i;
            std::size_t j = line.find(' ', i);
            if (j == std::string_view::npos) j = line.size();
            if (j > i) w.emplace_back(line.substr(i, j - i));
            i = j;
        }
        if (w.size() < 6 || !module_name_ok(w[0]) || !all_digits(w[1]) || !text::printable(line))
            throw UsageError(text::where(origin, n) + ": not a /proc/modules line");
        InventoryItem item;
        item.ecosystem = "kmod";
        item.name = w[0];
        item.state = "loaded";
        item.source = text::where(origin, n);
        item.extra["live"] = true;
        item.extra["size"] = w[1];
        item.extra["refcount"] = w[2];
        if (w[3] != "-") item.extra["used_by"] = w[3];
        item.extra["load_state"] = w[4];
        if (w.size() > 6) item.extra["taint"] = w[6];
        items.push_back(std::move(item));
    });
    return items;
}

void LiveSource::read(const fs::Root& root, Collection& c) const {
    SourceReport& rep = c.report;
    if (!root.is_live()) return;  // absent: an offline disk has no running processes
    std::vector<InventoryItem>& items = c.items;
    DIR* d = ::opendir(proc_.c_str());
    if (d == nullptr) {
        c.failures.push_back("cannot list " + proc_ + ": " + std::strerror(errno));
        return;
    }
    c.found = true;
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    std::vector<std::string> pids;
    while (dirent* e = ::readdir(d)) {
        if (all_digits(e->d_name) && pids.size() < kMaxProcesses) pids.emplace_back(e->d_name);
    }
    std::sort(pids.begin(), pids.end(), [](const std::string& a, const std::string& b) {
        return std::stoul(a) < std::stoul(b);
    });
    std::map<std::pair<std::string, std::string>, InventoryItem> by_exe;  // (path, sha256)
    std::size_t unreadable = 0, kernel_threads = 0, denied = 0;
    const std::string eacces = std::strerror(EACCES), eperm = std::strerror(EPERM);
    for (const auto& pid : pids) {
        const std::string pp = proc_ + "/" + pid;
        Exe exe = hash_exe(pp);
        if (exe.error == eacces || exe.error == eperm) ++denied;
        if (exe.path.empty()) {
            // Kernel threads have no executable (ENOENT); others were not ours to read or exited.
            if (exe.error == std::strerror(ENOENT))
                ++kernel_threads;
            else
                ++unreadable;
            continue;
        }
        auto& item = by_exe[{exe.path, exe.sha256}];
        if (item.name.empty()) {
            item.ecosystem = "process";
            item.name = exe.path.substr(exe.path.rfind('/') + 1);
            item.state = "running";
            item.source = pp + "/exe";
            item.extra["live"] = true;
            item.extra["exe"] = exe.path;
            item.extra["pids"] = nlohmann::json::array();
            item.extra["cmdlines"] = nlohmann::json::array();
            if (!exe.sha256.empty()) {
                item.extra["sha256"] = exe.sha256;
                item.extra["size"] = exe.size;
            } else {
                item.extra["error"] = exe.error;
                ++unreadable;
            }
            // " (deleted)": the file that runs is no longer at its path.
            if (!text::ends_with(exe.path, " (deleted)") && exe.path.front() == '/')
                item.paths.push_back(fs::normalize(exe.path));
        }
        item.extra["pids"].push_back(std::stol(pid));
        if (item.extra["cmdlines"].size() < kMaxCmdlinesPerExe)
            if (auto cmd = cmdline_of(pp); !cmd.empty())
                item.extra["cmdlines"].push_back(redact_cmdline(cmd));
    }
    if (unreadable)
        text::warn(rep.warnings,
                   std::to_string(unreadable) +
                       " process executable(s) could not be read (permissions, exited)");
    // The scan's coverage names this one (it may hide a product's process).
    if (denied)
        text::warn(rep.warnings, "permission_denied: " + std::to_string(denied) +
                                     " process executable(s) could not be read");
    rep.warnings.push_back(std::to_string(kernel_threads) +
                           " kernel thread(s) without an executable");
    for (auto& [k, item] : by_exe) items.push_back(std::move(item));

    try {
        auto mods = read_input_file_if_exists(proc_ + "/modules", max_modules_bytes_,
                                              "list of loaded modules");
        if (!mods) {
            text::warn(rep.warnings, proc_ + "/modules: " + std::strerror(ENOENT));
        } else if (mods->size() > max_modules_bytes_) {
            // Never a silently shortened list: modules past the limit would be missing.
            c.failures.push_back(proc_ + "/modules is larger than " +
                                 std::to_string(max_modules_bytes_) +
                                 " bytes; loaded modules were not listed");
        } else {
            for (auto& m : parse_proc_modules(*mods, proc_ + "/modules"))
                items.push_back(std::move(m));
        }
    } catch (const Error& e) {
        text::warn(rep.warnings, e.what());
    }
}

}  // namespace audit::sources
