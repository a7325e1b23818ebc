// Replays every saved fuzz input (tests/fuzz/regressions/<target>/*) through its target, so a
// crash the fuzzer once found stays fixed in every build, sanitized or not.
#include <catch_amalgamated.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "authority.h"
#include "fuzz.h"
#include "support.h"

namespace fuzz_regressions_test_cases {  // one namespace per test file: unity builds compile
                                         // several as one

namespace {

namespace stdfs = std::filesystem;

const stdfs::path kRegressions = stdfs::path(AUDIT_SOURCE_DIR) / "tests/fuzz/regressions";

using audit_test::slurp;

}  // namespace

TEST_CASE("every fuzz target survives trivial inputs", "[fuzz]") {
    const auto& targets = audit::fuzz::targets();
    REQUIRE(targets.size() >= 14);
    const std::string inputs[] = {"",     std::string(1, '\0'),     "\x01", "{}", "[]",
                                  "\n\n", std::string(4096, '\xff')};
    for (const auto& [name, target] : targets)
        for (const auto& in : inputs) {
            INFO(name);
            target(in);
        }
}

TEST_CASE("saved fuzz inputs replay without a crash", "[fuzz]") {
    const auto& targets = audit::fuzz::targets();
    REQUIRE(stdfs::is_directory(kRegressions));
    std::size_t replayed = 0;
    for (const auto& dir : stdfs::directory_iterator(kRegressions)) {
        if (!dir.is_directory()) continue;
        const std::string name = dir.path().filename().string();
        INFO("regressions directory " << name);
        auto it = targets.find(name);
        REQUIRE(it != targets.end());  // a directory per target, named as in AUDIT_FUZZ_TARGET
        for (const auto& f : stdfs::directory_iterator(dir.path())) {
            INFO(f.path().string());
            it->second(slurp(f.path()));
            ++replayed;
        }
    }
    SUCCEED("replayed " << replayed << " inputs");
}

TEST_CASE("the signed-input targets write seeds their parser accepts", "[fuzz]") {
    // The bundle target once seeded a predicate the reader's shape check refused, and dsse
    // borrowed files that were not there when it ran alone: each fuzzed a few shallow paths.
    const auto& writers = audit::fuzz::seed_writers();
    for (const char* name : {"bundle", "certificate", "dsse", "trust_root"})
        CHECK(writers.count(name) == 1);
    const stdfs::path root =
        stdfs::temp_directory_path() / ("audit-fuzz-seeds-" + std::to_string(::getpid()));
    for (const auto& [name, write] : writers) {
        INFO(name);
        const stdfs::path dir = root / name;
        stdfs::create_directories(dir);
        audit::fuzz::seed_dir_override() = dir.string();
        // bundle's writer reads its bundle back with read_bundle and throws when refused.
        REQUIRE_NOTHROW(write());
        audit::fuzz::seed_dir_override().clear();
        std::size_t seeds = 0;
        for (const auto& f : stdfs::directory_iterator(dir)) {
            audit::fuzz::targets().at(name)(slurp(f.path()));
            ++seeds;
        }
        CHECK(seeds >= 2);
    }
    stdfs::remove_all(root);
}

}  // namespace fuzz_regressions_test_cases
