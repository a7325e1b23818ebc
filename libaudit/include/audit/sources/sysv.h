// SysV init scripts: etc/init.d (etc/rc.d/init.d on Red Hat systems), their LSB headers, and the
// runlevels whose rc?.d directories start them (S?? links).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class SysvSource final : public BasicSource {
  public:
    std::string_view name() const override { return "sysv"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// The fields of an init script's "### BEGIN INIT INFO" block (lower-case keys: "provides",
// "short-description", "default-start", ...) and a DAEMON=/path assignment when there is one.
// Empty when the script has no LSB header; throws UsageError on binary content.
std::map<std::string, std::string> parse_init_script(std::string_view text,
                                                     std::string_view origin);

}  // namespace audit::sources
