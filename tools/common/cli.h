// Shared command-line plumbing of the tools: flags, --help/--version, errors to exit codes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace audit::cli {

struct Option {
    std::string name;  // long name without "--"
    std::string value_name;  // "" for a flag without value
    std::string help;
    bool repeatable = false;
};

class Args {
public:
    // Parses argv. --help prints usage and exits 0; --version prints the version and exits 0.
    // Unknown flags and missing values throw UsageError.
    Args(int argc, char** argv, std::string tool, std::string synopsis, std::vector<Option> options,
         std::string description = "");
    bool has(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback = "") const;
    std::vector<std::string> all(const std::string& name) const;
    // Value of a flag that must be there (UsageError naming it otherwise).
    std::string required(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

// Runs a tool body: maps audit::Error to its exit code with one line "tool: message" on stderr;
// any other exception is an I/O/environment error (exit 4). Never a stack trace.
int run(const std::string& tool, const std::function<int()>& body);

// The passphrase for a private key: nullopt with --no-passphrase; else --passphrase-fd N, else the
// AUDIT_PASSPHRASE environment variable, else a prompt on the TTY (twice when confirm).
std::optional<std::string> passphrase(const Args& args, const std::string& prompt, bool confirm);

// True when stderr is a terminal (progress is shown only then).
bool stderr_is_tty();

}  // namespace audit::cli
