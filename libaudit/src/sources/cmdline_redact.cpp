// redact_cmdline (audit/sources/live.h): portable, for the Linux /proc reader (live.cpp) and the
// Windows one (live_win.cpp, through windows_live_cmdline.cpp).
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/live.h"
#include "formats/text.h"

namespace audit::sources {

namespace {

constexpr std::string_view kCmdlineRedacted = "<redacted>";

// A name (of a flag, a variable, a header) that says its value is a secret.
bool cmdline_secret_name(std::string_view name) {
    static const char* const kWords[] = {"pass",    "pwd",     "secret",     "token",
                                         "key",     "auth",    "credential", "cookie",
                                         "session", "private", "cert",       "signature"};
    const std::string lower = text::lower(name);
    return std::any_of(std::begin(kWords), std::end(kWords),
                       [&](const char* w) { return lower.find(w) != std::string::npos; });
}

// user:password@ in a URL.
std::string redact_url_password(std::string arg) {
    for (std::size_t scheme = arg.find("://"); scheme != std::string::npos;
         scheme = arg.find("://", scheme + 3)) {
        const std::size_t start = scheme + 3;
        const std::size_t end = arg.find_first_of("/?# ", start);
        const std::size_t at = arg.rfind('@', end == std::string::npos ? arg.size() : end);
        if (at == std::string::npos || at < start) continue;
        const std::size_t colon = arg.find(':', start);
        if (colon == std::string::npos || colon > at) continue;
        arg.replace(colon + 1, at - colon - 1, kCmdlineRedacted);
    }
    return arg;
}

}  // namespace

std::string redact_cmdline(const std::vector<std::string>& args) {
    std::string out;
    bool redact_next = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (redact_next) {
            a = kCmdlineRedacted;
            redact_next = false;
        } else if (i > 0) {
            const std::size_t eq = a.find('=');
            const bool flag = a.size() > 1 && a[0] == '-';
            const std::string_view name = std::string_view(a).substr(0, eq);
            if (eq != std::string::npos && eq > 0 && cmdline_secret_name(name)) {
                a = a.substr(0, eq + 1) + std::string(kCmdlineRedacted);  // --password=V, API_KEY=V
            } else if (flag && a[1] != '-' && a[1] == 'p' && a.size() > 2) {
                a = "-p" + std::string(kCmdlineRedacted);  // -pV (mysql and others)
            } else if (flag && (a == "-p" || (eq == std::string::npos && cmdline_secret_name(a)))) {
                redact_next = true;  // --password V, -p V
            } else if (const std::size_t colon = a.find(':');
                       colon != std::string::npos && cmdline_secret_name(a.substr(0, colon))) {
                a = a.substr(0, colon + 1) + " " + std::string(kCmdlineRedacted);  // a header
            } else {
                const std::string lower = text::lower(a);
                for (const char* scheme : {"bearer ", "basic "})
                    if (auto at = lower.find(scheme); at != std::string::npos)
                        a = a.substr(0, at + std::strlen(scheme)) + std::string(kCmdlineRedacted);
                a = redact_url_password(std::move(a));
            }
        }
        for (auto& ch : a)
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
        out += (i == 0 ? "" : " ") + a;
    }
    return out;
}

}  // namespace audit::sources
