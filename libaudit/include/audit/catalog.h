// The source catalog: every inventory source described once. Each entry names the source, the
// ecosystems its items carry (each with its purl type and whether its items are SBOM components),
// the manifest rule kinds it answers besides package and publisher rules, the directories it
// reads, the platforms it runs on, and the fuzz targets and seed generators that exercise its
// parsers. Manifest validation, product coverage, the matcher's unit and module directories,
// purls, the SBOM and the sources' own reports read it. Pure data in core, so that every layer
// may read it. README "Adding a source" says what else a new source needs.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace audit::catalog {

// A short constant list (fixed capacity; more than N entries does not compile).
template <typename T, std::size_t N>
class List {
  public:
    constexpr List() = default;
    constexpr List(std::initializer_list<T> items) {
        for (const T& i : items) items_[size_++] = i;
    }
    constexpr const T* begin() const { return items_.data(); }
    constexpr const T* end() const { return items_.data() + size_; }
    constexpr std::size_t size() const { return size_; }
    constexpr bool empty() const { return size_ == 0; }
    constexpr const T& operator[](std::size_t i) const { return items_[i]; }

  private:
    std::array<T, N> items_{};
    std::size_t size_ = 0;
};

// Where a source runs (bit set).
enum Platform : unsigned {
    kOfflineRoot = 1u << 0,  // a mounted disk or image of any system
    kLiveLinux = 1u << 1,    // the running Linux system ("/")
    kLiveWindows = 1u << 2,  // the running Windows system (audit-scan.exe: sources/windows_live.h)
};

struct Ecosystem {
    std::string_view name;  // InventoryItem::ecosystem; what a manifest rule's `ecosystem` names
    // The purl type from the purl specification where one exists, else "generic" (the purl is
    // then pkg:generic/<ecosystem>/<name>).
    std::string_view purl_type;
    // The purl namespace when an item carries no extra.distro ("" = none).
    std::string_view purl_namespace;
    // CycloneDX component type of its items in the SBOM; "" = evidence only, not a component.
    std::string_view sbom_component;
    // Its items' paths are a package database's file list (dpkg .list, rpm, apk, pacman, a
    // wheel's RECORD): bundle format v3 keeps them only for the items a finding names.
    bool lists_package_files = false;
};

using Names = List<std::string_view, 8>;

struct Source {
    std::string_view name{};  // SourceReport::name; coverage's "source <name> failed: ..."
    // Ecosystems whose coverage rests on this source: a package or publisher rule on one of them
    // is examined by it, and its failure is a gap of that rule. The first is the one its report
    // names (SourceReport::ecosystem); a report lists all of them as `covers` when report_covers.
    List<const Ecosystem*, 4> ecosystems{};
    // Ecosystems it also sets on items without vouching for them (the live source's loaded
    // modules are "kmod" items; the kmod source is the one that covers that ecosystem).
    List<const Ecosystem*, 4> also_emits{};
    // Rule kinds besides package/publisher it answers (manifest kind names): its failure is a
    // gap of every such rule.
    Names answers{};
    // Root paths it reads ("*" = any name): what "absent" means for it.
    Names reads{};
    // Directories whose entries the file walk matches by name for the kinds it answers (unit
    // files, init scripts, module files); empty when its items alone answer.
    Names walk_dirs{};
    unsigned platforms = 0;
    // The operating system family whose package database this is ("" = none).
    std::string_view system_database_of{};
    // tests/fuzz/<target>_fuzz.cpp targets reaching its parsers, and the generators of their
    // seeds (tests/fixtures/<name>; "tests/fuzz/run.sh" = seeds written out in that script).
    Names fuzz_targets{};
    Names seed_generators{};
    bool report_covers = false;  // its report lists `covers` (one source per Windows hive kind)
};

// Every source, in the fixed order the scan runs them.
std::span<const Source> sources();
// nullptr when no source has that name.
const Source* find_source(std::string_view name);
// The ecosystem of that name from any source (ecosystems or also_emits); nullptr when unknown.
const Ecosystem* find_ecosystem(std::string_view name);
// Every ecosystem some source sets on its items, in catalog order, each once: the ones a
// manifest may name.
std::vector<std::string> ecosystem_names();
// Whether the source's ecosystems (not also_emits) include ecosystem.
bool covers(const Source& source, std::string_view ecosystem);
// Whether the source answers rules of that manifest kind (package and publisher rules go by
// ecosystem instead).
bool answers(const Source& source, std::string_view kind);
// The walk directories of every source that answers kind, sorted, each once.
std::vector<std::string> walk_dirs(std::string_view kind);
// The sources that read the package database of operating system family os, in catalog order
// ("" = of every family): what system coverage and the attestation's regression check read.
std::vector<std::string> system_databases(std::string_view os = "");

}  // namespace audit::catalog
