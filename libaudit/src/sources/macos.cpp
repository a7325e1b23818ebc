#include "audit/sources/macos.h"

#include <set>

#include "audit/error.h"
#include "audit/formats/plist.h"
#include "audit/fs/walker.h"
#include "formats/text.h"
#include "sources/base.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxPlistBytes = 8u << 20;
constexpr std::size_t kMaxDirsVisited = 200000;  // per source: Library/ is large
constexpr std::size_t kMaxItems = 100000;
constexpr int kMaxBundleDepth = 10;
const char* const kSystemVersion = "System/Library/CoreServices/SystemVersion.plist";

using text::warn;

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// A real directory (not a symlink to one): bundle searches never follow links, so they end.
bool is_dir(const fs::Root& root, const std::string& path) {
    return fs::inspect(root, path, false).type == "dir";
}

// nullopt when missing; throws Error when present but unreadable or malformed.
std::optional<plist::Value> read_plist(const fs::Root& root, const std::string& path) {
    auto bytes = root.read_file(path, kMaxPlistBytes);
    if (!bytes) return std::nullopt;
    return plist::parse(*bytes, path);
}

// Shared state of one source's run: bounded, failures recorded.
// An Error thrown out of the run fails the source with the items read so far kept.
struct Run {
    Collection& c;
    SourceReport& rep;
    std::size_t dirs = 0;
    bool unreadable = false;

    explicit Run(Collection& collection) : c(collection), rep(collection.report) {
        c.found = true;  // a macOS root: its directories are what this source reads
    }
    void add(InventoryItem item) {
        if (c.items.size() >= kMaxItems)
            throw IoError("more than " + std::to_string(kMaxItems) + " items");
        c.items.push_back(std::move(item));
    }
    void finish() {
        if (unreadable)
            c.failures.push_back("some directories or files could not be read (see warnings)");
    }
};

// A bundle: <dir>/Contents/Info.plist. A malformed Info.plist still yields an item named after
// the directory, marked malformed: the bundle is there, whatever its plist says.
InventoryItem bundle_item(const fs::Root& root, const std::string& dir,
                          const std::string& ecosystem, Run& run) {
    const std::string info = dir + "/Contents/Info.plist";
    InventoryItem item;
    item.ecosystem = ecosystem;
    item.state = "installed";
    item.paths = {dir};
    item.source = info;
    const std::string base = dir.substr(dir.rfind('/') + 1);
    try {
        auto p = read_plist(root, info);
        if (!p || p->type != plist::Value::Type::dict) throw UsageError(info + ": not a dict");
        item.name = p->string_at("CFBundleIdentifier");
        item.version = p->string_at("CFBundleShortVersionString");
        if (item.version.empty()) item.version = p->string_at("CFBundleVersion");
        item.extra["bundle_name"] = p->string_at("CFBundleName");
        item.extra["bundle_version"] = p->string_at("CFBundleVersion");
        item.extra["executable"] = p->string_at("CFBundleExecutable");
        if (auto copyright = p->string_at("NSHumanReadableCopyright"); !copyright.empty())
            item.extra["copyright"] = copyright;
    } catch (const Error& e) {
        warn(run.rep.warnings, e.what());
        item.extra["malformed"] = true;
    }
    if (item.name.empty()) {
        item.name = base;
        item.extra["identifier_missing"] = true;
    }
    item.extra["bundle"] = base;
    return item;
}

bool has_info_plist(const fs::Root& root, const std::string& dir) {
    fs::UniqueFd fd = root.open(dir + "/Contents/Info.plist", false);
    return static_cast<bool>(fd);
}

// Depth-first search for bundles below dir; a bundle's own contents are not searched.
template <typename OnBundle>
void find_bundles(const fs::Root& root, const std::string& dir, int depth, Run& run,
                  const std::set<std::string>& skip, OnBundle&& on_bundle) {
    if (depth > kMaxBundleDepth || skip.count(dir)) return;
    if (++run.dirs > kMaxDirsVisited)
        throw IoError("more than " + std::to_string(kMaxDirsVisited) + " directories");
    std::optional<std::vector<std::string>> names;
    try {
        names = root.list_dir(dir);
    } catch (const Error& e) {
        run.unreadable = true;
        warn(run.rep.warnings, e.what());
        return;
    }
    if (!names) return;
    for (const auto& n : *names) {
        const std::string child = join(dir, n);
        if (!is_dir(root, child)) continue;
        if (has_info_plist(root, child)) {
            on_bundle(child);
            continue;
        }
        find_bundles(root, child, depth + 1, run, skip, on_bundle);
    }
}

bool is_extension_bundle(std::string_view dir) {
    return ends_with(dir, ".kext") || ends_with(dir, ".systemextension");
}

// Every *.plist directly in dir, sorted; nullopt when dir does not exist.
std::optional<std::vector<std::string>> plists_in(const fs::Root& root, const std::string& dir,
                                                  Run& run) {
    try {
        auto names = root.list_dir(dir);
        if (!names) return std::nullopt;
        std::vector<std::string> out;
        for (const auto& n : *names)
            if (ends_with(n, ".plist")) out.push_back(join(dir, n));
        return out;
    } catch (const Error& e) {
        run.unreadable = true;
        warn(run.rep.warnings, e.what());
        return std::vector<std::string>{};
    }
}

std::string stem(const std::string& path) {
    std::string base = path.substr(path.rfind('/') + 1);
    return ends_with(base, ".plist") ? base.substr(0, base.size() - 6) : base;
}

}  // namespace

bool is_macos_root(const fs::Root& root) {
    fs::UniqueFd fd = root.open(kSystemVersion, false);
    return static_cast<bool>(fd);
}

void MacAppSource::read(const fs::Root& root, Collection& c) const {
    if (!is_macos_root(root)) return;
    Run run(c);
    // Extensions are the extension source's; System/ is Apple's own.
    const std::set<std::string> skip = {"/Library/Extensions", "/Library/SystemExtensions"};
    for (const char* top : {"/Applications", "/Library"}) {
        find_bundles(root, top, 0, run, skip, [&](const std::string& dir) {
            if (!is_extension_bundle(dir)) run.add(bundle_item(root, dir, "macos-app", run));
        });
    }
    run.finish();
}

void MacExtensionSource::read(const fs::Root& root, Collection& c) const {
    if (!is_macos_root(root)) return;
    Run run(c);
    const std::set<std::string> none;
    for (const char* top :
         {"/Library/Extensions", "/System/Library/Extensions", "/Library/SystemExtensions"}) {
        find_bundles(root, top, 0, run, none, [&](const std::string& dir) {
            InventoryItem item = bundle_item(root, dir, "macos-ext", run);
            item.extra["kind"] = ends_with(dir, ".systemextension") ? "system-extension" : "kext";
            run.add(std::move(item));
        });
    }
    run.finish();
}

void MacReceiptSource::read(const fs::Root& root, Collection& c) const {
    if (!is_macos_root(root)) return;
    Run run(c);
    SourceReport& rep = c.report;
    // On a real disk /var links to /private/var: the same receipt is read once.
    std::set<std::string> seen;
    for (const char* dir : {"/private/var/db/receipts", "/var/db/receipts"}) {
        auto files = plists_in(root, dir, run);
        if (!files) continue;
        for (const auto& f : *files) {
            if (!seen.insert(stem(f)).second) continue;
            InventoryItem item;
            item.ecosystem = "macos-pkg";
            item.state = "installed";
            item.source = f;
            item.paths = {f};
            try {
                auto p = read_plist(root, f);
                if (!p || p->type != plist::Value::Type::dict) throw UsageError(f + ": not a dict");
                item.name = p->string_at("PackageIdentifier");
                item.version = p->string_at("PackageVersion");
                if (const auto* d = p->find("InstallDate");
                    d && d->type == plist::Value::Type::date)
                    item.extra["install_date"] = plist::format_date(d->real);
                item.extra["install_prefix"] = p->string_at("InstallPrefixPath");
                item.extra["install_process"] = p->string_at("InstallProcessName");
            } catch (const Error& e) {
                warn(rep.warnings, e.what());
                item.extra["malformed"] = true;
            }
            // The receipt's file name is the package id too ("com.vendor.pkg.plist").
            if (item.name.empty()) item.name = stem(f);
            run.add(std::move(item));
        }
    }
    run.finish();
}

void LaunchdSource::read(const fs::Root& root, Collection& c) const {
    if (!is_macos_root(root)) return;
    Run run(c);
    SourceReport& rep = c.report;
    std::vector<std::pair<std::string, std::string>> dirs = {
        {"/Library/LaunchDaemons", "daemon"},
        {"/Library/LaunchAgents", "agent"},
        {"/System/Library/LaunchDaemons", "daemon"},
        {"/System/Library/LaunchAgents", "agent"},
    };
    if (auto users = root.list_dir("/Users"))
        for (const auto& u : *users)
            dirs.emplace_back("/Users/" + u + "/Library/LaunchAgents", "agent");
    for (const auto& [dir, kind] : dirs) {
        auto files = plists_in(root, dir, run);
        if (!files) continue;
        for (const auto& f : *files) {
            InventoryItem item;
            item.ecosystem = "launchd";
            item.state = "installed";
            item.source = f;
            item.paths = {f};
            item.extra["kind"] = kind;
            try {
                auto p = read_plist(root, f);
                if (!p || p->type != plist::Value::Type::dict) throw UsageError(f + ": not a dict");
                item.name = p->string_at("Label");
                std::string program = p->string_at("Program");
                if (const auto* args = p->find("ProgramArguments");
                    program.empty() && args && args->type == plist::Value::Type::array &&
                    !args->array.empty() && args->array[0].type == plist::Value::Type::string)
                    program = args->array[0].text;
                if (!program.empty()) {
                    item.extra["program"] = program;
                    if (program[0] == '/') item.paths.push_back(fs::normalize(program));
                }
                if (const auto* d = p->find("Disabled");
                    d && d->type == plist::Value::Type::boolean)
                    item.extra["disabled"] = d->boolean;
            } catch (const Error& e) {
                warn(rep.warnings, e.what());
                item.extra["malformed"] = true;
            }
            if (item.name.empty()) item.name = stem(f);
            run.add(std::move(item));
        }
    }
    run.finish();
}

}  // namespace audit::sources
