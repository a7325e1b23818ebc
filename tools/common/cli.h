// Shared command-line plumbing of the tools: flags, --help/--version, errors to exit codes.
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
    std::string help;
    bool repeatable = false;
};

// The version of every JSON document the tools print ("schema_version"); raised when a field
// changes meaning or goes away (new fields do not raise it).
inline constexpr int kJsonSchemaVersion = 1;

// Prints doc (an object) with "schema_version" first, as one document on stdout.
void print_json(nlohmann::json doc);

class Args {
  public:
    // Parses argv. --help or -h prints usage and exits 0; --version prints the version (commit,
    // Botan version, SHA-256 of the running binary) and exits 0. Unknown flags and missing
    // values throw UsageError. With --json anywhere on the command line, run() also prints an
    // error as a JSON document on stdout.
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

// Every tool started from a kit (its binary is KIT/bin/NAME beside KIT/kit.manifest.dsse.json)
// checks itself in Args' constructor, before anything else: the kit manifest against the kit's
// trust root, expiry, and its own binary. A failure is exit 3 unless --kit-unverified, which runs
// anyway and marks every bundle "kit unverified". nullptr when not started from a kit.
kit::SelfCheck* running_kit();
// After a tool compared the files it loads with the kit (running_kit()->check_loaded): refuses
// (VerifyError) when a check failed, unless --kit-unverified (then warns on stderr once per
// problem).
void enforce_kit(const Args& args, const std::string& tool);

// Runs a tool body: maps audit::Error to its exit code with one line "tool: message" on stderr
// (and, under --json, {"schema_version", "error": {"tool", "exit", "kind", "message"}} on
// stdout); any other exception is an I/O/environment error (exit 4). Never a stack trace.
int run(const std::string& tool, const std::function<int()>& body);

// The passphrase for a private key: nullopt with --no-passphrase; else --passphrase-fd N, else the
// AUDIT_PASSPHRASE environment variable, else a prompt on the TTY (twice when confirm).
std::optional<std::string> passphrase(const Args& args, const std::string& prompt, bool confirm);

// --clock-tolerance SECONDS (default 3600, 0 .. one year); UsageError otherwise.
std::int64_t clock_tolerance(const Args& args);

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
