// audit-kit's pieces (tools/kit/*.cpp): the subcommands and what they share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli.h"

namespace audit::kit_tool {

inline constexpr const char* kTool = "audit-kit";

int build(int argc, char** argv);       // build.cpp
int check(int argc, char** argv);       // check.cpp
int lms_keygen(int argc, char** argv);  // main.cpp

// A certificate, public key or state file named on the command line (at most 4 MiB).
std::string read_text(const std::string& path);
// --NAME as a number (UsageError otherwise); dflt when absent.
std::uint64_t number(const cli::Args& args, const std::string& name, std::uint64_t dflt);
// --kit-state FILE: the checker's or builder's kit state; "none": nullopt.
std::optional<std::string> kit_state_path(const cli::Args& args);
cli::Option kit_state_option();

}  // namespace audit::kit_tool
