#include "cli.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <botan/version.h>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/state.h"

#ifndef AUDIT_COMMIT
#define AUDIT_COMMIT "unknown"
#endif

namespace audit::cli {

namespace {

std::optional<kit::SelfCheck> g_kit;
std::size_t g_kit_warned = 0;
bool g_json_errors = false;  // --json was on the command line

const char* exit_kind(int code) {
    switch (code) {
        case 1:
            return "attention";
        case 2:
            return "usage";
        case 3:
            return "verification";
        default:
            return "io";
    }
}

// One error: the line on stderr, and under --json the same as a document on stdout.
int report_error(const std::string& tool, int code, const std::string& message) {
    std::cerr << tool << ": " << message << "\n";
    if (g_json_errors)
        print_json(
            {{"error",
              {{"tool", tool}, {"exit", code}, {"kind", exit_kind(code)}, {"message", message}}}});
    return code;
}

void print_version(const std::string& tool) {
    std::string digest = "unknown";
    try {
        digest = evidence::file_sha256("/proc/self/exe");
    } catch (const std::exception&) {
    }
    std::cout << tool << " " << AUDIT_VERSION << "\ncommit " << AUDIT_COMMIT << "\nbotan "
              << Botan::short_version_string() << "\nsha256 " << digest << " (this binary)\n";
}

std::string read_fd_line(int fd) {
    std::string line;
    char c;
    while (line.size() < 4096) {
        ssize_t n = ::read(fd, &c, 1);
        if (n <= 0 || c == '\n') break;
        line.push_back(c);
    }
    return line;
}

std::string prompt_tty(const std::string& prompt) {
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty)
        throw UsageError("a passphrase is needed: no TTY; use --passphrase-fd or AUDIT_PASSPHRASE");
    int fd = fileno(tty);
    termios old{};
    tcgetattr(fd, &old);
    termios silent = old;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    std::fprintf(tty, "%s: ", prompt.c_str());
    std::fflush(tty);
    tcsetattr(fd, TCSAFLUSH, &silent);
    std::string line = read_fd_line(fd);
    tcsetattr(fd, TCSAFLUSH, &old);
    std::fprintf(tty, "\n");
    std::fclose(tty);
    return line;
}

}  // namespace

Args::Args(int argc, char** argv, std::string tool, std::string synopsis,
           std::vector<Option> options, std::string description) {
    options.push_back({"help", "", "show this help and exit (also -h)"});
    options.push_back(
        {"version", "", "show the version, commit, Botan version and this binary's SHA-256"});
    options.push_back(
        {"kit-unverified", "", "run from a kit even when its self-check fails (bundles say so)"});
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") break;
        if (std::string(argv[i]) == "--json") g_json_errors = true;
    }
    auto find = [&](const std::string& n) -> const Option* {
        for (const auto& o : options)
            if (o.name == n) return &o;
        return nullptr;
    };
    bool only_positional = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (!only_positional && a == "-h") a = "--help";
        if (only_positional || a.size() < 3 || a.rfind("--", 0) != 0) {
            if (a == "--") {
                only_positional = true;
                continue;
            }
            if (!only_positional && a.size() > 1 && a[0] == '-')
                throw UsageError("unknown option '" + a + "' (see --help)");
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        const Option* o = find(name);
        if (!o) throw UsageError("unknown option '--" + name + "' (see --help)");
        if (o->value_name.empty()) {
            if (inline_value) throw UsageError("option '--" + name + "' takes no value");
            value = "1";
        } else if (!inline_value) {
            if (i + 1 >= argc)
                throw UsageError("option '--" + name + "' needs a value " + o->value_name);
            value = argv[++i];
        }
        auto& slot = values_[name];
        if (!slot.empty() && !o->repeatable)
            throw UsageError("option '--" + name + "' given more than once");
        slot.push_back(value);
    }
    if (has("help")) {
        std::cout << "usage: " << tool << " " << synopsis << "\n";
        if (!description.empty()) std::cout << "\n" << description << "\n";
        std::cout << "\noptions:\n";
        for (const auto& o : options) {
            std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
            if (left.size() < 28)
                left.resize(28, ' ');
            else
                left += "\n" + std::string(28, ' ');
            std::cout << left << o.help << "\n";
        }
        std::cout << "\nexit codes: 0 clean, 1 attention needed, 2 usage or input error,\n"
                     "            3 verification failed, 4 I/O or environment error\n";
        std::exit(0);
    }
    if (has("version")) {
        print_version(tool);
        std::exit(0);
    }
    if (auto where = kit::locate_kit()) {
        g_kit = kit::self_check(*where);
        enforce_kit(*this, tool);
    }
}

void Args::set_default(const std::string& name, const std::string& value) {
    if (!has(name)) values_[name].push_back(value);
}

kit::SelfCheck* running_kit() {
    return g_kit ? &*g_kit : nullptr;
}

void enforce_kit(const Args& args, const std::string& tool) {
    if (!g_kit || g_kit->verified()) return;
    const auto& problems = g_kit->problems;
    if (!args.has("kit-unverified"))
        throw VerifyError(
            "kit self-check failed (" + g_kit->kit_dir() + "): " +
            (problems.empty() ? std::string("kit manifest does not verify") : problems.front()) +
            "; --kit-unverified runs anyway and marks every bundle");
    for (; g_kit_warned < problems.size(); ++g_kit_warned)
        std::cerr << tool << ": warning: KIT UNVERIFIED: " << problems[g_kit_warned] << "\n";
}

bool Args::has(const std::string& name) const {
    return values_.count(name) != 0;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::required(const std::string& name) const {
    if (!has(name)) throw UsageError("missing required option --" + name + " (see --help)");
    return get(name);
}

void print_json(nlohmann::json doc) {
    if (!doc.is_object()) doc = {{"value", std::move(doc)}};
    nlohmann::json out = {{"schema_version", kJsonSchemaVersion}};
    for (auto& [k, v] : doc.items())
        if (k != "schema_version") out[k] = std::move(v);
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
              << std::flush;
}

int run(const std::string& tool, const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        return report_error(tool, static_cast<int>(e.exit()), e.what());
    } catch (const std::bad_alloc&) {
        return report_error(tool, static_cast<int>(Exit::io), "out of memory");
    } catch (const std::exception& e) {
        return report_error(tool, static_cast<int>(Exit::io), e.what());
    }
}

std::optional<std::string> passphrase(const Args& args, const std::string& prompt, bool confirm) {
    if (args.has("no-passphrase")) return std::nullopt;
    if (args.has("passphrase-fd")) {
        int fd = -1;
        try {
            fd = std::stoi(args.get("passphrase-fd"));
        } catch (const std::exception&) {
            throw UsageError("--passphrase-fd needs a file descriptor number");
        }
        std::string p = read_fd_line(fd);
        if (p.empty()) throw UsageError("empty passphrase on fd " + std::to_string(fd));
        return p;
    }
    if (const char* env = std::getenv("AUDIT_PASSPHRASE"); env && *env) return std::string(env);
    std::string p = prompt_tty(prompt);
    if (p.empty()) throw UsageError("empty passphrase");
    if (confirm && prompt_tty(prompt + " (again)") != p) throw UsageError("passphrases differ");
    return p;
}

std::int64_t clock_tolerance(const Args& args) {
    const std::string v = args.get("clock-tolerance", "3600");
    std::size_t used = 0;
    long long n = -1;
    try {
        n = std::stoll(v, &used);
    } catch (const std::exception&) {
    }
    if (used != v.size() || n < 0 || n > 366LL * 86400)
        throw UsageError("--clock-tolerance: '" + v +
                         "' is not a number of seconds (0 .. one year)");
    return n;
}

bool stderr_is_tty() {
    return ::isatty(2) == 1;
}

crypto::SigningKey load_key(const Args& args, const std::string& path) {
    std::optional<std::string> pass;
    if (crypto::SigningKey::is_encrypted(path))
        pass = passphrase(args, "passphrase for " + path, false);
    return crypto::SigningKey::load(path, pass);
}

Option state_option() {
    return {"state", "FILE",
            "trust state: highest trusted root version per authority (\"none\": off)"};
}

trust::TrustRoot load_trust(const Args& args, const std::string& tool,
                            const std::string& default_state, bool quiet) {
    std::optional<std::string> state = args.get("state");
    if (state->empty()) state = default_state.empty() ? trust::default_state_path() : default_state;
    if (*state == "none") state.reset();
    auto loaded = trust::load_trusted(args.required("trust"), state);
    if (!quiet)
        for (const auto& n : loaded.notes) std::cerr << tool << ": " << n << "\n";
    return std::move(loaded.root);
}

}  // namespace audit::cli
