#include "audit/sources/windows_live_cmdline.h"

#include "audit/sources/live.h"

namespace audit::sources::windows_live {

std::vector<std::string> windows_cmdline_args(std::string_view s) {
    std::vector<std::string> args;
    std::size_t i = 0;
    // The program: up to the first blank, or the closing quote.
    {
        std::string prog;
        bool quoted = false;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (!quoted && (c == ' ' || c == '\t')) break;
            prog += c;
        }
        args.push_back(std::move(prog));
    }
    for (;;) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        if (i >= s.size()) break;
        std::string a;
        bool quoted = false;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (c == '\\') {
                std::size_t n = 0;
                while (i < s.size() && s[i] == '\\') ++n, ++i;
                if (i < s.size() && s[i] == '"') {
                    a.append(n / 2, '\\');
                    if (n % 2) {
                        a += '"';
                        continue;
                    }
                    --i;  // the quote is seen again below, as a delimiter
                    continue;
                }
                a.append(n, '\\');
                --i;
                continue;
            }
            if (c == '"') {
                if (quoted && i + 1 < s.size() && s[i + 1] == '"') {
                    a += '"';
                    ++i;
                    continue;
                }
                quoted = !quoted;
                continue;
            }
            if (!quoted && (c == ' ' || c == '\t')) break;
            a += c;
        }
        args.push_back(std::move(a));
    }
    return args;
}

std::string windows_cmdline_record(std::string_view cmdline) {
    if (cmdline.size() > kMaxCmdline) cmdline = cmdline.substr(0, kMaxCmdline);
    return redact_cmdline(windows_cmdline_args(cmdline));
}

}  // namespace audit::sources::windows_live
