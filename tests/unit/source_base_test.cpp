// BasicSource (audit/sources/source.h): the one place a source's status is decided. A source
// only reads; what it found, read and failed to read becomes ran, absent or failed here.
#include <catch_amalgamated.hpp>

#include <functional>

#include "audit/error.h"
#include "audit/sources/source.h"
#include "support.h"

namespace source_base_test_cases {  // one namespace per test file: unity builds compile several as
                                    // one

using namespace audit::sources;
using audit_test::TempDir;

namespace {

// A source whose reading is a test's lambda; it borrows the dpkg catalog entry for its report.
class ScriptedSource final : public BasicSource {
  public:
    explicit ScriptedSource(std::function<void(Collection&)> fn) : fn_(std::move(fn)) {}
    std::string_view name() const override { return "dpkg"; }

  private:
    void read(const audit::fs::Root&, Collection& c) const override { fn_(c); }
    std::function<void(Collection&)> fn_;
};

audit::InventoryItem item(const std::string& name) {
    audit::InventoryItem i;
    i.ecosystem = "deb";
    i.name = name;
    return i;
}

SourceReport run(const std::function<void(Collection&)>& fn,
                 std::vector<audit::InventoryItem>& out) {
    TempDir t;
    return ScriptedSource(fn).collect(audit::fs::Root(t.str()), out);
}

}  // namespace

TEST_CASE("source base: nothing found is absent; found or items is ran", "[sources][base]") {
    std::vector<audit::InventoryItem> out;
    auto rep = run([](Collection&) {}, out);
    CHECK(rep.status == SourceStatus::absent);
    CHECK(rep.name == "dpkg");
    CHECK(rep.ecosystem == "deb");

    rep = run([](Collection& c) { c.found = true; }, out);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(rep.items == 0);

    rep = run([](Collection& c) { c.items.push_back(item("a")); }, out);
    CHECK(rep.status == SourceStatus::ran);  // items prove the ecosystem is there
    CHECK(rep.items == 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].name == "a");
}

TEST_CASE("source base: an Error thrown fails the source and keeps what was read",
          "[sources][base]") {
    std::vector<audit::InventoryItem> out;
    auto rep = run(
        [](Collection& c) {
            c.found = true;
            c.items.push_back(item("read-before"));
            throw audit::IoError("database truncated");
        },
        out);
    CHECK(rep.status == SourceStatus::failed);  // never "ran" with half a list
    CHECK(rep.error == "database truncated");
    CHECK(rep.items == 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].name == "read-before");

    // Thrown before anything was found: still failed, never absent.
    rep = run([](Collection&) { throw audit::UsageError("cannot open"); }, out);
    CHECK(rep.status == SourceStatus::failed);
}

TEST_CASE("source base: recorded failures and failed parts", "[sources][base]") {
    std::vector<audit::InventoryItem> out;
    auto rep = run(
        [](Collection& c) {
            c.found = true;
            c.part("first part", [] { throw audit::IoError("bad cell"); });
            c.part("second part", [&] { c.items.push_back(item("b")); });
            c.failures.push_back("third: unreadable");
            c.failures.push_back("fourth: unreadable");
        },
        out);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(rep.error == "first part: bad cell (and 2 more)");
    CHECK(audit_test::any_contains(rep.warnings, "third: unreadable"));
    CHECK(audit_test::any_contains(rep.warnings, "fourth: unreadable"));
    CHECK(rep.items == 1);  // the part after the failed one was still read

    // A failure without found/items is failed too (a database that exists but cannot be read).
    rep = run([](Collection& c) { c.failures.push_back("unreadable"); }, out);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(rep.error == "unreadable");
}

}  // namespace source_base_test_cases
