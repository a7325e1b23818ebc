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
class MacAppSource final : public Source {
  public:
    std::string_view name() const override { return "macos-apps"; }
    SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const override;
};

// Kernel extensions (Library/Extensions, System/Library/Extensions) and system extensions
// (Library/SystemExtensions): ecosystem "macos-ext", name = CFBundleIdentifier.
class MacExtensionSource final : public Source {
  public:
    std::string_view name() const override { return "macos-extensions"; }
    SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const override;
};

// Installer receipts (private/var/db/receipts/*.plist): ecosystem "macos-pkg", name =
// PackageIdentifier.
class MacReceiptSource final : public Source {
  public:
    std::string_view name() const override { return "macos-receipts"; }
    SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const override;
};

// launchd jobs (Library/ and System/Library/ LaunchDaemons and LaunchAgents, Users/*/Library/
// LaunchAgents): ecosystem "launchd", name = Label, the program it starts in paths.
class LaunchdSource final : public Source {
  public:
    std::string_view name() const override { return "launchd"; }
    SourceReport collect(const fs::Root& root, std::vector<InventoryItem>& out) const override;
};

bool is_macos_root(const fs::Root& root);

}  // namespace audit::sources
