// A Windows process's command line as the live source records it (sources/live_win.cpp reads it
// with NtQueryInformationProcess(ProcessCommandLineInformation), or from the process's PEB where
// that class is not known: Windows before 8.1, Wine 8). Portable, for the Linux unit tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace audit::sources::windows_live {

// The bound on one recorded command line, in bytes of UTF-8 (as on Linux): a longer one is
// recorded by its first kMaxCmdline bytes (a record of what ran, not evidence a rule rests on).
constexpr std::size_t kMaxCmdline = 8192;

// The arguments of a command line by the rules of CommandLineToArgvW: split at blanks outside
// double quotes; 2n backslashes before a quote are n and the quote delimits, 2n+1 are n and a
// literal quote; "" inside quotes is a literal quote. The first argument (the program) takes
// quotes only, no backslash escapes.
std::vector<std::string> windows_cmdline_args(std::string_view cmdline);

// The recorded text: at most kMaxCmdline bytes of the command line, split into arguments,
// control characters as '?', and secrets redacted by redact_cmdline (live.h; its NAME:V and
// NAME=V forms cover Windows' /password:V and /key=V).
std::string windows_cmdline_record(std::string_view cmdline);

}  // namespace audit::sources::windows_live
