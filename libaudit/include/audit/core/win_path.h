// Windows only: the toolkit's paths are UTF-8 strings everywhere; the Win32 calls that take them
// go through the wide (UTF-16) API, never the ANSI code page. Used by the *_win.cpp files.
#pragma once
#ifdef _WIN32

#include <string>

namespace audit::core {

// UTF-8 -> UTF-16 for a W API. An absolute drive path ("C:\..." or "C:/...") longer than
// MAX_PATH gets the "\\?\" prefix (slashes turned into backslashes) so that long paths work
// without the process-wide opt-in. IoError on bytes that are not UTF-8.
std::wstring wide_path(const std::string& utf8);
// UTF-16 -> UTF-8 (unpaired surrogates become U+FFFD).
std::string utf8_of(const std::wstring& wide);
// The text of a Win32 error code (GetLastError()), in English when the system has it.
std::string win_error_text(unsigned long code);

}  // namespace audit::core

#endif
