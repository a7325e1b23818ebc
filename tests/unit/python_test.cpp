#include "audit/sources/python.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace python_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::parse_python_metadata;
using audit::sources::PythonSource;
using audit::sources::SourceStatus;

namespace {

const char* const kPy = "/usr/bin/python3";

// name==version lines of importlib.metadata for the distributions in one directory.
std::string importlib_view(const std::string& dir) {
    return sh(std::string(kPy) +
              " -c \"import importlib.metadata as m, sys; "
              "print('\\n'.join(sorted(d.metadata['Name'] + '==' + d.version "
              "for d in m.distributions(path=[sys.argv[1]]))))\" " +
              dir);
}

std::string our_view(const std::vector<audit::InventoryItem>& items, const std::string& site) {
    std::vector<std::string> lines;
    for (const auto& i : items)
        if (i.extra.value("site", "") == site) lines.push_back(i.name + "==" + i.version);
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

TEST_CASE("python: a pip-installed distribution reads like importlib.metadata", "[python]") {
    TempDir t;
    const std::string site = "/usr/local/lib/python3.11/dist-packages";
    sh("bash " + fixture("python-site.sh") + " " + t.str() + site +
       " kesl-py 1.0.2 'AO Kaspersky Lab'");
    std::vector<audit::InventoryItem> items;
    auto rep = PythonSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    CHECK(our_view(items, site) == importlib_view(t.str() + site));
    const auto* k = find(items, "kesl-py");
    REQUIRE(k != nullptr);
    CHECK(k->publisher == "AO Kaspersky Lab");
    CHECK(k->purl() == "pkg:pypi/kesl-py@1.0.2");
    CHECK(std::find(k->paths.begin(), k->paths.end(), site + "/kesl_py/__init__.py") !=
          k->paths.end());
    CHECK(k->extra["summary"] == "kesl-py test distribution");
}

TEST_CASE("python: this machine's Debian dist-packages metadata matches importlib", "[python]") {
    const std::string real = "/usr/lib/python3/dist-packages";
    if (!stdfs::exists(real)) SKIP("no Debian dist-packages on this machine");
    TempDir t;
    const auto copy = t.path / "usr/lib/python3/dist-packages";
    stdfs::create_directories(copy);
    std::size_t n = 0;
    for (const auto& e : stdfs::directory_iterator(real)) {
        const auto name = e.path().filename().string();
        if (name.size() < 10 || (name.find(".dist-info") == std::string::npos &&
                                 name.find(".egg-info") == std::string::npos))
            continue;
        stdfs::copy(e.path(), copy / name, stdfs::copy_options::recursive);
        ++n;
    }
    REQUIRE(n > 0);
    std::vector<audit::InventoryItem> items;
    auto rep = PythonSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(items.size() == n);
    CHECK(our_view(items, "/usr/lib/python3/dist-packages") == importlib_view(copy.string()));
}

TEST_CASE("python: malformed metadata", "[python]") {
    CHECK(parse_python_metadata("Name: a\nVersion: 1\nAuthor: X\n  continued\n\nBody: no\n", "m")
              .publisher == "X continued");
    CHECK_THROWS_WITH(parse_python_metadata("Version: 1\n", "m"),
                      Catch::Matchers::ContainsSubstring("no Name"));
    CHECK_THROWS_WITH(parse_python_metadata("Name: a\nnot a header\n", "m"),
                      Catch::Matchers::ContainsSubstring("m:2"));
    CHECK_THROWS_AS(parse_python_metadata("  leading continuation\n", "m"), audit::UsageError);
    CHECK_THROWS_AS(parse_python_metadata(std::string("Name: a\0\n", 9), "m"), audit::UsageError);
    CHECK_THROWS_AS(parse_python_metadata(std::string(17u << 20, 'a'), "m"), audit::UsageError);

    TempDir t;
    const auto site = t.path / "usr/lib/python3.12/site-packages";
    write(site / "broken_pkg-2.0.dist-info/METADATA", "\x01\x02 junk");
    write(site / "legacy-0.9.egg-info",
          "Metadata-Version: 1.0\nName: legacy\nVersion: 0.9\n");  // a file
    write(site / "kaspersky_tool-1.0.egg-info/PKG-INFO", "Name: kaspersky-tool\nVersion: 1.0\n");
    std::vector<audit::InventoryItem> items;
    auto rep = PythonSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 3);
    const auto* b = find(items, "broken_pkg");
    REQUIRE(b != nullptr);
    CHECK(b->version == "2.0");
    CHECK(b->installed());
    CHECK(b->extra["malformed"] == true);
    CHECK(find(items, "legacy")->version == "0.9");
    CHECK(find(items, "kaspersky-tool") != nullptr);
    TempDir empty;
    CHECK(PythonSource().collect(audit::fs::Root(empty.str()), items).status ==
          SourceStatus::absent);
}

}  // namespace python_test_cases
