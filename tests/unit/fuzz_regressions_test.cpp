// Replays every saved fuzz input (tests/fuzz/regressions/<target>/*) through its target, so a
// crash the fuzzer once found stays fixed in every build, sanitized or not.
#include <catch_amalgamated.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz.h"

namespace {

namespace stdfs = std::filesystem;

const stdfs::path kRegressions = stdfs::path(AUDIT_SOURCE_DIR) / "tests/fuzz/regressions";

std::string slurp(const stdfs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

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
