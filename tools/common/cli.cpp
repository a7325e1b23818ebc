#include "cli.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <botan/version.h>
#include <CLI/CLI.hpp>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/state.h"

#ifndef AUDIT_COMMIT
#define AUDIT_COMMIT "unknown"
#endif

namespace audit::cli {

namespace {

// --help or --version: the text run() prints on stdout before it returns 0.
struct Shown {
    std::string text;
};

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

std::string version_text(const std::string& tool) {
    std::string digest = "unknown";
    try {
        digest = evidence::file_sha256(kit::own_executable());
    } catch (const std::exception&) {
    }
    return tool + " " + AUDIT_VERSION + "\ncommit " + AUDIT_COMMIT + "\nbotan " +
           Botan::short_version_string() + "\nsha256 " + digest + " (this binary)\n";
}

std::string help_text(const std::string& tool, const std::string& synopsis,
                      const std::string& description, const std::vector<Option>& options) {
    std::string out = "usage: " + tool + " " + synopsis + "\n";
    if (!description.empty()) out += "\n" + description + "\n";
    out += "\noptions:\n";
    for (const auto& o : options) {
        if (o.help.empty()) continue;  // hidden (test hooks)
        std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
        if (left.size() < 28)
            left.resize(28, ' ');
        else
            left += "\n" + std::string(28, ' ');
        out += left + o.help + "\n";
    }
    out +=
        "\nexit codes: 0 clean, 1 attention needed, 2 usage or input error,\n"
        "            3 verification failed, 4 I/O or environment error\n";
    return out;
}

// CLI11's parse errors in the tools' words (one line, naming the option).
std::string parse_error_text(const CLI::ParseError& e, const std::vector<Option>& options) {
    const std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
        const auto colon = what.find(": ");
        std::string arg = colon == std::string::npos ? what : what.substr(colon + 2);
        if (auto space = arg.find(' '); space != std::string::npos) arg.resize(space);
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0)
            arg.resize(eq);
        return "unknown option '" + arg + "' (see --help)";
    }
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) &&
        what.find("disallowed flag override") != std::string::npos)
        return "option '--" + what.substr(0, what.find(' ')) + "' takes no value";
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && what.rfind("--", 0) == 0) {
        const std::string name = what.substr(2, what.find(':') - 2);
        for (const auto& o : options)
            if (o.name == name && !o.value_name.empty())
                return "option '--" + name + "' needs a value " + o.value_name;
    }
    return what + " (see --help)";
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
    CLI::App app(description, tool);
    app.set_help_flag();  // ours below, printed in the tools' own layout
    // The same flags on every platform: CLI11 would read "/x" as an option on Windows, and a
    // path such as "/tmp/b.evidence.tar.zst" (Wine: the current drive) is an operand.
    app.allow_windows_style_options(false);
    std::map<std::string, CLI::Option*> added;
    for (const auto& o : options) {
        CLI::Option* opt = nullptr;
        if (o.value_name.empty()) {
            opt = app.add_flag(o.name == "help" ? "-h,--help" : "--" + o.name)
                      ->disable_flag_override();
        } else {
            opt = app.add_option("--" + o.name, values_[o.name])
                      ->type_name(o.value_name)
                      ->allow_extra_args(false)
                      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        }
        added[o.name] = opt->description(o.help);
    }
    app.add_option("arguments", positional_);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        throw UsageError(parse_error_text(e, options));
    }
    for (const auto& o : options) {
        const auto n = added.at(o.name)->count();
        if (n > 1 && !o.repeatable)
            throw UsageError("option '--" + o.name + "' given more than once");
        if (n == 0)
            values_.erase(o.name);
        else if (o.value_name.empty())
            values_[o.name] = std::vector<std::string>(n, "1");
    }
    if (has("help")) throw Shown{help_text(tool, synopsis, description, options)};
    if (has("version")) throw Shown{version_text(tool)};
}

void Args::set_default(const std::string& name, const std::string& value) {
    if (!has(name)) values_[name].push_back(value);
}

void KitCheck::enforce(const Args& args) {
    if (check_.verified()) return;
    const auto& problems = check_.problems;
    if (!args.has("kit-unverified"))
        throw VerifyError(
            "kit self-check failed (" + check_.kit_dir() + "): " +
            (problems.empty() ? std::string("kit manifest does not verify") : problems.front()) +
            "; --kit-unverified runs anyway and marks every bundle");
    for (; warned_ < problems.size(); ++warned_)
        std::cerr << tool_ << ": warning: KIT UNVERIFIED: " << problems[warned_] << "\n";
}

std::optional<KitCheck> check_kit(const Args& args, const std::string& tool) {
    auto where = kit::locate_kit();
    if (!where) return std::nullopt;
    std::optional<KitCheck> check(std::in_place, kit::self_check(*where), tool);
    check->enforce(args);
    return check;
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

int run(const std::string& tool, int argc, char** argv, const std::function<int()>& body) {
    bool json_errors = false;  // --json anywhere on the command line (before "--")
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i)
        json_errors = json_errors || std::string_view(argv[i]) == "--json";
    auto report = [&](int code, const std::string& message) {
        std::cerr << tool << ": " << message << "\n";
        if (json_errors)
            print_json({{"error",
                         {{"tool", tool},
                          {"exit", code},
                          {"kind", exit_kind(code)},
                          {"message", message}}}});
        return code;
    };
    try {
        return body();
    } catch (const Shown& shown) {
        std::cout << shown.text << std::flush;
        return 0;
    } catch (const Error& e) {
        return report(static_cast<int>(e.exit()), e.what());
    } catch (const std::bad_alloc&) {
        return report(static_cast<int>(Exit::io), "out of memory");
    } catch (const std::exception& e) {
        return report(static_cast<int>(Exit::io), e.what());
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

unsigned jobs(const Args& args) {
    const std::string text = args.get("jobs", "0");
    unsigned long n = 0;
    std::size_t used = 0;
    try {
        n = std::stoul(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || n > 1024)
        throw UsageError("--jobs wants a number of workers from 1 to 1024, not '" + text + "'");
    return static_cast<unsigned>(n);
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
