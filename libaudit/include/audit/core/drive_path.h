// A root path's drive segment on a live Windows root, where audit-scan.exe walks every fixed
// drive: "/D:/x" is D:\x (NTFS names hold no ':', so "/D:" is never a name on the system drive);
// any other root path is on the system drive. Portable: the matcher and the Linux unit tests use
// it too.
#pragma once

#include <string_view>

namespace audit::core {

// 'D' for "/D:/x" (rest "/x") or "/D:" (rest "/"), upper case; '\0' (rest untouched) otherwise.
inline char windows_drive_of(std::string_view p, std::string_view* rest = nullptr) {
    const bool letter = p.size() >= 3 && p[0] == '/' &&
                        ((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z')) &&
                        p[2] == ':' && (p.size() == 3 || p[3] == '/');
    if (!letter) return '\0';
    if (rest) *rest = p.size() == 3 ? std::string_view("/") : p.substr(3);
    return p[1] >= 'a' ? static_cast<char>(p[1] - 'a' + 'A') : p[1];
}

}  // namespace audit::core
