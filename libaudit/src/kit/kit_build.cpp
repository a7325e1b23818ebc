#include "audit/kit/kit_build.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "audit/core/utc.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"

extern char** environ;

namespace audit::kit {

namespace {

namespace stdfs = std::filesystem;

void copy_into(const std::string& src, const stdfs::path& dst, unsigned mode) {
    std::error_code ec;
    if (!stdfs::is_regular_file(src, ec)) throw UsageError(src + " is not a regular file");
    stdfs::create_directories(dst.parent_path(), ec);
    if (ec) throw IoError("cannot create " + dst.parent_path().string() + ": " + ec.message());
    evidence::write_file_atomic(dst.string(),
                                read_input_file_within<UsageError>(src, 256u << 20, "kit file",
                                                                   " is too large for a kit file"),
                                true, mode);
}

// Runs argv (the first entry looked up in PATH) and waits; IoError with its output on failure.
void run_tool(const std::vector<std::string>& argv) {
    char out_template[] = "/tmp/audit-kit-tool-XXXXXX";
    int out_fd = ::mkstemp(out_template);
    if (out_fd < 0)
        throw IoError(std::string("cannot create a temporary file: ") + std::strerror(errno));
    ::unlink(out_template);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        ::close(out_fd);
        throw IoError("cannot run " + argv[0] + ": " + std::strerror(rc) +
                      " (install xorriso, dosfstools and mtools)");
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ::close(out_fd);
        return;
    }
    std::string output(4096, '\0');
    ssize_t n = ::pread(out_fd, output.data(), output.size(), 0);
    output.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    ::close(out_fd);
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    throw IoError(argv[0] + " failed (status " + std::to_string(status) + "): " + output);
}

// Windows reads a batch file line by line; a bare LF confuses cmd.exe's labels and jumps.
std::string crlf(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
        out.push_back(text[i]);
    }
    return out;
}

}  // namespace

std::vector<std::string> doc_files(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    for (const auto& d : given) {
        if (!stdfs::is_directory(d)) {
            out.push_back(d);
            continue;
        }
        std::vector<std::string> files;
        for (const auto& e : stdfs::directory_iterator(d))
            if (e.is_regular_file()) files.push_back(e.path().string());
        std::sort(files.begin(), files.end());
        out.insert(out.end(), files.begin(), files.end());
    }
    return out;
}

std::vector<std::string> find_windows_tools(const std::string& dir) {
    std::error_code ec;
    if (!stdfs::is_directory(dir, ec))
        throw UsageError("--windows-bin " + dir + " is not a directory");
    std::vector<std::string> tools;
    for (const char* name : kWindowsToolNames) {
        const auto p = stdfs::path(dir) / name;
        if (!stdfs::is_regular_file(p, ec)) continue;
        if (read_input_file(p.string(), 2, "kit file").rfind("MZ", 0) != 0)
            throw UsageError(p.string() + " is not a Windows program (no MZ header)");
        tools.push_back(p.string());
    }
    if (tools.empty() || !tools.front().ends_with("audit-scan.exe"))
        throw UsageError("no audit-scan.exe in " + dir +
                         " (--windows-bin: the windows preset's bin/)");
    return tools;
}

std::vector<KitFile> lay_out_kit(const KitLayout& l) {
    const stdfs::path out(l.out_dir);
    std::error_code ec;
    if (stdfs::exists(out, ec) && !stdfs::is_empty(out, ec))
        throw UsageError(l.out_dir +
                         " exists and is not empty; a kit is laid out in a new directory");
    stdfs::create_directories(out, ec);
    if (ec) throw IoError("cannot create " + l.out_dir + ": " + ec.message());
    for (const auto& t : l.tools) copy_into(t, out / "bin" / stdfs::path(t).filename(), 0755);
    for (const auto& m : l.manifests)
        copy_into(m, out / "manifests" / stdfs::path(m).filename(), 0644);
    copy_into(l.trust_path, out / std::string(kTrustFile), 0644);
    const auto history = stdfs::path(l.trust_path).parent_path() / "root-history";
    if (stdfs::is_directory(history, ec))
        for (const auto& e : stdfs::directory_iterator(history))
            if (e.is_regular_file())
                copy_into(e.path().string(), out / "trust" / "root-history" / e.path().filename(),
                          0644);
    for (const auto& d : l.docs) copy_into(d, out / "docs" / stdfs::path(d).filename(), 0644);
    if (!l.collector_key.empty()) {
        copy_into(l.collector_key, out / "keys" / "collector.key", 0600);
        copy_into(l.collector_cert, out / "keys" / "collector.cert.json", 0644);
    }
    if (!l.launcher.empty()) copy_into(l.launcher, out / "run.sh", 0755);
    for (const auto& t : l.windows_tools)
        copy_into(t, out / std::string(kWindowsBinDir) / stdfs::path(t).filename(), 0755);
    if (!l.windows_tools.empty()) {
        if (l.windows_launcher.empty())
            throw UsageError("a kit with Windows tools needs RUN-SCAN.cmd");
        evidence::write_file_atomic((out / std::string(kWindowsLauncherFile)).string(),
                                    crlf(l.windows_launcher), true, 0644);
    }
    stdfs::create_directories(out / std::string(kEvidenceDir), ec);
    if (ec) throw IoError("cannot create the evidence area: " + ec.message());
    return measure_tree(l.out_dir);
}

void write_kit_manifest(const std::string& kit_dir, const std::string& envelope_json) {
    evidence::write_file_atomic(kit_dir + "/" + std::string(kKitManifestFile), envelope_json, true,
                                0644);
}

KitManifest new_kit_manifest(const trust::TrustRoot& trust, const std::string& kit_id,
                             const KitVersionRequest& request) {
    std::optional<std::uint64_t> seen;
    if (request.state_path) seen = seen_kit_version(*request.state_path, trust.authority, kit_id);
    KitManifest m;
    m.kit_id = kit_id;
    m.version = request.version ? *request.version : seen ? *seen + 1 : 1;
    if (m.version == 0) throw UsageError("kit versions start at 1");
    if (seen && m.version <= *seen)
        throw UsageError("kit " + kit_id + " version " + std::to_string(*seen) +
                         " exists already; versions only rise (give --kit-version " +
                         std::to_string(*seen + 1) + " or more)");
    m.created = core::utc_now();
    m.expires = request.expires ? *request.expires
                                : core::utc_in(static_cast<long long>(request.days) * 86400);
    if (!core::is_rfc3339_utc(m.expires) || m.expires <= m.created)
        throw UsageError("--expires must be a future RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
    if (m.expires > trust.expires)
        throw UsageError("the kit would outlive its trust root (expires " + trust.expires + ")");
    m.authority = trust.authority;
    m.trust_version = trust.version;
    m.trust_sha256 = trust.sha256;
    return m;
}

std::optional<std::uint64_t> seen_kit_version(const std::string& state_path,
                                              const std::string& authority,
                                              const std::string& kit_id) {
    std::error_code ec;
    if (!stdfs::exists(state_path, ec)) return std::nullopt;
    auto j =
        nlohmann::json::parse(read_input_file_within<UsageError>(state_path, 16u << 20, "kit file",
                                                                 " is too large for a kit file"),
                              nullptr, false);
    const std::string key = authority + "/" + kit_id;
    if (j.is_discarded() || !j.is_object() || !j.contains("kits") || !j["kits"].is_object() ||
        !j["kits"].contains(key))
        return std::nullopt;
    const auto& v = j["kits"][key];
    if (!v.is_object() || !v.contains("version") || !v["version"].is_number_unsigned())
        return std::nullopt;
    return v["version"].get<std::uint64_t>();
}

void make_iso_image(const std::string& kit_dir, const std::string& image,
                    const std::string& label) {
    std::error_code ec;
    if (stdfs::exists(image, ec)) throw UsageError(image + " exists; refusing to replace it");
    // Rock Ridge keeps modes (bin/ stays executable); Joliet for Windows readers.
    run_tool(
        {"xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", label, "-o", image, kit_dir});
}

void make_fat_image(const std::string& kit_dir, const std::string& image, const std::string& label,
                    std::uint64_t evidence_mib) {
    std::error_code ec;
    if (stdfs::exists(image, ec)) throw UsageError(image + " exists; refusing to replace it");
    std::uint64_t bytes = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(kit_dir))
        if (e.is_regular_file()) bytes += (e.file_size() + 4095) / 4096 * 4096 + 4096;
    // Files, their clusters, the FAT itself and the free evidence area, rounded to MiB.
    const std::uint64_t kib = (bytes / 1024) + (bytes / 1024) / 16 + (evidence_mib + 2) * 1024;
    // mtools refuses images whose size is not a whole number of tracks; a file image has none.
    ::setenv("MTOOLS_SKIP_CHECK", "1", 1);
    run_tool({"mkfs.vfat", "-C", "-n", label, image, std::to_string(kib)});
    std::vector<std::string> copy = {"mcopy", "-s", "-p", "-m", "-i", image};
    for (const auto& e : stdfs::directory_iterator(kit_dir)) copy.push_back(e.path().string());
    copy.push_back("::/");
    try {
        run_tool(copy);
        if (!stdfs::is_directory(stdfs::path(kit_dir) / std::string(kEvidenceDir)))
            run_tool({"mmd", "-i", image, "::/" + std::string(kEvidenceDir)});
    } catch (...) {
        stdfs::remove(image, ec);
        throw;
    }
}

}  // namespace audit::kit
