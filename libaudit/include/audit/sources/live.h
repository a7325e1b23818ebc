// The running system, only when the root is the live "/": processes (/proc/<pid>/exe hashed
// through the running kernel, not the Root; cmdline) and loaded kernel modules (/proc/modules).
// Items carry extra.live = true; an offline disk reports this source absent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class LiveSource final : public BasicSource {
  public:
    static constexpr std::size_t kMaxModulesBytes = 16u << 20;
    // proc: where the running kernel's /proc is; max_modules_bytes: the bound on /proc/modules,
    // past which the source fails (a shortened list would hide loaded modules).
    explicit LiveSource(std::string proc = "/proc",
                        std::size_t max_modules_bytes = kMaxModulesBytes)
        : proc_(std::move(proc)), max_modules_bytes_(max_modules_bytes) {}
    std::string_view name() const override { return "live"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;

    std::string proc_;
    std::size_t max_modules_bytes_;
};

// A process's arguments as recorded: joined by spaces, control characters as '?', and the value
// of every argument that looks like a secret replaced by "<redacted>": --password=V, --token V,
// -pV, NAME_KEY=V, user:V@ in URLs, "Authorization: Bearer V" (names with pass, pwd, secret,
// token, key, auth, credential, cookie, session, private, cert in them, any case).
std::string redact_cmdline(const std::vector<std::string>& args);

// Parse /proc/modules ("name size refcount deps state address [taint]"): ecosystem "kmod",
// state "loaded". Throws UsageError on a malformed line.
std::vector<InventoryItem> parse_proc_modules(std::string_view text, std::string_view origin);

}  // namespace audit::sources
