#include "audit/sources/npm.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace npm_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::NpmSource;
using audit::sources::parse_package_json;
using audit::sources::SourceStatus;

namespace {

// npm pack + npm install -g --offline into ROOT/usr, so node_modules is laid out by npm itself.
void npm_install(const TempDir& work, const TempDir& root, const std::string& name,
                 const std::string& version, const std::string& author) {
    const auto src = work.path / "src" / std::to_string(std::hash<std::string>{}(name));
    write(src / "package.json", "{\"name\": \"" + name + "\", \"version\": \"" + version +
                                    "\", \"description\": \"test\", \"author\": " + author +
                                    ", \"license\": \"MIT\"}\n");
    write(src / "index.js", "module.exports = 1;\n");
    const std::string npm =
        "npm --cache " + work.str() + "/cache --loglevel=error --no-audit --no-fund ";
    const std::string tgz = trim_nl(
        sh("cd " + src.string() + " && " + npm + "pack --silent --pack-destination " + work.str()));
    sh(npm + "install -g --offline --prefix " + root.str() + "/usr " + work.str() + "/" + tgz +
       " >/dev/null");
}

}  // namespace

TEST_CASE("npm: global packages installed by npm read like node's require", "[npm]") {
    if (std::system("command -v npm >/dev/null 2>&1") != 0) SKIP("npm is not installed");
    TempDir work, root;
    npm_install(work, root, "@kaspersky/kav-cli", "1.2.3", "{\"name\": \"Kaspersky Lab\"}");
    npm_install(work, root, "left-pad-test", "0.0.9", "\"Someone <a@example.invalid>\"");
    std::vector<audit::InventoryItem> items;
    auto rep = NpmSource().collect(audit::fs::Root(root.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    REQUIRE(items.size() == 2);
    for (const auto& i : items) {
        const std::string pj = root.str() + "/usr/lib/node_modules/" + i.name + "/package.json";
        CHECK(i.version == trim_nl(sh("node -p \"require('" + pj + "').version\"")));
    }
    const auto* k = find(items, "@kaspersky/kav-cli");
    REQUIRE(k != nullptr);
    CHECK(k->publisher == "Kaspersky Lab");
    CHECK(k->purl() == "pkg:npm/%40kaspersky/kav-cli@1.2.3");
    CHECK(find(items, "left-pad-test")->publisher == "Someone <a@example.invalid>");
}

TEST_CASE("npm: malformed package.json", "[npm]") {
    CHECK(parse_package_json(R"({"name":"a","version":"1"})", "p").name == "a");
    CHECK_THROWS_WITH(parse_package_json("{\"name\": ", "p"),
                      Catch::Matchers::ContainsSubstring("not valid JSON"));
    CHECK_THROWS_AS(parse_package_json("[1,2]", "p"), audit::UsageError);
    CHECK_THROWS_AS(parse_package_json(R"({"name": 5})", "p"), audit::UsageError);
    CHECK_THROWS_WITH(parse_package_json(std::string(5000, '[') + std::string(5000, ']'), "p"),
                      Catch::Matchers::ContainsSubstring("nested"));
    CHECK_THROWS_AS(parse_package_json(std::string(9u << 20, ' '), "p"), audit::UsageError);

    TempDir t;
    write(t.path / "usr/local/lib/node_modules/broken/package.json", "{oops");
    write(t.path / "usr/local/lib/node_modules/@scope/ok/package.json",
          R"({"name":"@scope/ok","version":"2.0.0"})");
    write(t.path / "usr/local/lib/node_modules/.bin/x", "");
    std::vector<audit::InventoryItem> items;
    auto rep = NpmSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 2);
    CHECK(find(items, "broken")->extra["malformed"] == true);
    CHECK(find(items, "broken")->installed());
    CHECK(find(items, "@scope/ok")->version == "2.0.0");
    TempDir empty;
    CHECK(NpmSource().collect(audit::fs::Root(empty.str()), items).status == SourceStatus::absent);
}

}  // namespace npm_test_cases
