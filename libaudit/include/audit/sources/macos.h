// A macOS root (System/Library/CoreServices/SystemVersion.plist): application and other bundles,
// installer receipts, launchd jobs, kernel and system extensions. One Source per ecosystem so
// coverage is reported for each.
#pragma once

#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

// Bundles (Contents/Info.plist) under Applications/ and Library/: ecosystem "macos-app", name =
// CFBundleIdentifier.
class MacAppSource final : public BasicSource {
  public:
    std::string_view name() const override { return "macos-apps"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Kernel extensions (Library/Extensions, System/Library/Extensions) and system extensions
// (Library/SystemExtensions): ecosystem "macos-ext", name = CFBundleIdentifier.
class MacExtensionSource final : public BasicSource {
  public:
    std::string_view name() const override { return "macos-extensions"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// Installer receipts (private/var/db/receipts/*.plist): ecosystem "macos-pkg", name =
// PackageIdentifier.
class MacReceiptSource final : public BasicSource {
  public:
    std::string_view name() const override { return "macos-receipts"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

// launchd jobs (Library/ and System/Library/ LaunchDaemons and LaunchAgents, Users/*/Library/
// LaunchAgents): ecosystem "launchd", name = Label, the program it starts in paths.
class LaunchdSource final : public BasicSource {
  public:
    std::string_view name() const override { return "launchd"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

bool is_macos_root(const fs::Root& root);

}  // namespace audit::sources
