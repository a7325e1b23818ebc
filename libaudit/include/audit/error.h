// Typed errors of the library. Tools map Error::exit() to the process exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace audit {

// Exit codes of every tool (DESIGN.md "Tools and their contract").
enum class Exit : int {
    clean = 0,         // done, nothing needs attention
    attention = 1,     // done, findings present / a host not removed or absent
    usage = 2,         // bad flag or bad input (message names file, line and column)
    verification = 3,  // signature, trust, digest, tamper, expiry, rollback
    io = 4,            // cannot read the root, cannot write the output, medium full
};

class Error : public std::runtime_error {
public:
    Error(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
    Exit exit() const noexcept { return code_; }

private:
    Exit code_;
};

// Bad flags, malformed manifests or documents supplied by the user.
struct UsageError : Error {
    explicit UsageError(const std::string& m) : Error(Exit::usage, m) {}
};
// Anything that fails a cryptographic or structural verification.
struct VerifyError : Error {
    explicit VerifyError(const std::string& m) : Error(Exit::verification, m) {}
};
// Reading the root, writing evidence, the environment.
struct IoError : Error {
    explicit IoError(const std::string& m) : Error(Exit::io, m) {}
};

}  // namespace audit
