// Shared command-line plumbing of the tools: flags (parsed by CLI11), --help/--version, the kit
// self-check, and the one place where an error becomes a line on stderr and an exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/kit/self_check.h"
#include "audit/trust/trust_root.h"

namespace audit::cli {

struct Option {
    std::string name;        // long name without "--"
    std::string value_name;  // "" for a flag without value
    std::string help;        // "" hides the option from --help (test hooks)
    bool repeatable = false;
};

// The version of every JSON document the tools print ("schema_version"); raised when a field
// changes meaning or goes away (new fields do not raise it).
inline constexpr int kJsonSchemaVersion = 1;

// Prints doc (an object) with "schema_version" first, as one document on stdout.
void print_json(nlohmann::json doc);

class Args {
  public:
    // Parses argv (argv[0] is the command's name) with CLI11: long options with a value
    // ("--name VALUE" or "--name=VALUE"), flags, positional arguments ("--" ends the options).
    // Unknown options, missing values and a non-repeatable option given twice throw UsageError.
    // --help or -h, and --version, end the command: run() prints the help (usage, description,
    // options, exit codes) or the version (commit, Botan version, SHA-256 of the running
    // binary) on stdout and returns 0. Every command also takes --kit-unverified (see
    // KitCheck).
    Args(int argc, char** argv, std::string tool, std::string synopsis, std::vector<Option> options,
         std::string description = "");
    bool has(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback = "") const;
    std::vector<std::string> all(const std::string& name) const;
    // Value of a flag that must be there (UsageError naming it otherwise).
    std::string required(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }
    // Gives name a value when the command line did not (defaults that depend on the kit).
    void set_default(const std::string& name, const std::string& value);

  private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

// The self-check of a tool started from a kit (its binary is KIT/bin/NAME beside
// KIT/kit.manifest.dsse.json): the kit manifest against the kit's trust root, expiry, and the
// binary itself. Every tool's main calls check_kit() right after parsing its command line, before
// anything else. A failure is exit 3 unless --kit-unverified, which runs anyway, warns on stderr
// and marks every bundle "kit unverified".
class KitCheck {
  public:
    KitCheck(kit::SelfCheck check, std::string tool) : check_(std::move(check)), tool_(tool) {}
    kit::SelfCheck& self_check() { return check_; }
    const kit::SelfCheck& self_check() const { return check_; }
    // After the tool compared the files it loads with the kit (self_check().check_loaded):
    // refuses (VerifyError) when a check failed, unless --kit-unverified (then warns on stderr
    // once per problem).
    void enforce(const Args& args);

  private:
    kit::SelfCheck check_;
    std::string tool_;
    std::size_t warned_ = 0;
};
// nullopt when the tool was not started from a kit; else the enforced self-check.
std::optional<KitCheck> check_kit(const Args& args, const std::string& tool);

// Runs a tool body: the one place where an error ends a command. audit::Error becomes its exit
// code with one line "tool: message" on stderr (and, with --json anywhere on the command line,
// {"schema_version", "error": {"tool", "exit", "kind", "message"}} on stdout); any other
// exception is an I/O or environment error (exit 4). Never a stack trace. --help and --version
// (see Args) print here and return 0.
int run(const std::string& tool, int argc, char** argv, const std::function<int()>& body);

// The passphrase for a private key: nullopt with --no-passphrase; else --passphrase-fd N, else the
// AUDIT_PASSPHRASE environment variable, else a prompt on the TTY (twice when confirm).
std::optional<std::string> passphrase(const Args& args, const std::string& prompt, bool confirm);

// --clock-tolerance SECONDS (default 3600, 0 .. one year); UsageError otherwise.
std::int64_t clock_tolerance(const Args& args);

// --jobs N: 0 .. 1024 (0, the default: the tool's own choice, one worker per CPU); UsageError
// otherwise.
unsigned jobs(const Args& args);

// True when stderr is a terminal (progress is shown only then).
bool stderr_is_tty();

// A private key from path, asking for its passphrase (as above) only when it is encrypted.
crypto::SigningKey load_key(const Args& args, const std::string& path);

// The --state option: where the highest trusted root version per authority is kept.
Option state_option();
// The trust root of --trust, reconciled with the trust state (rollback and freeze protection):
// --state FILE, "--state none" to go without, default default_state (or the user's state file).
// Notes (first use, updates) go to stderr unless quiet.
trust::TrustRoot load_trust(const Args& args, const std::string& tool,
                            const std::string& default_state = "", bool quiet = false);

}  // namespace audit::cli
