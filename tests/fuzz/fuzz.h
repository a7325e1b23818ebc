// One fuzz target per parser of untrusted bytes. A target is a function of the input bytes; it
// calls the parser and lets only audit::Error (the documented, typed refusal) pass silently.
// Anything else (a crash, a sanitizer report, any other exception) is a bug.
//
// Built two ways from the same source: with AUDIT_FUZZ_MAIN as a libFuzzer executable, and into
// the unit tests, which replay tests/fuzz/regressions/<target>/* through every target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "audit/error.h"

namespace audit::fuzz {

using Target = void (*)(std::string_view data);

inline std::map<std::string, Target>& targets() {
    static std::map<std::string, Target> all;
    return all;
}

struct Registration {
    Registration(const char* name, Target t) { targets().emplace(name, t); }
};

// Targets whose inputs must be signed write their own seeds (AUDIT_FUZZ_SEEDS in authority.h):
// libFuzzer runs the writer before reading the corpus; the unit tests run them too, so a seed
// the parser would refuse at its first check is caught in every build, not after a fuzz run.
using SeedWriter = void (*)();

inline std::map<std::string, SeedWriter>& seed_writers() {
    static std::map<std::string, SeedWriter> all;
    return all;
}

struct SeedRegistration {
    SeedRegistration(const char* name, SeedWriter w) { seed_writers().emplace(name, w); }
};

// Runs f, swallowing the library's typed errors only.
template <typename F>
void expect_typed_errors(F&& f) {
    try {
        f();
    } catch (const audit::Error&) {
    }
}

}  // namespace audit::fuzz

#ifdef AUDIT_FUZZ_MAIN
#define AUDIT_FUZZ_TARGET(name)                                                   \
    static void fuzz_##name(std::string_view data);                               \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* d, std::size_t n) { \
        fuzz_##name(std::string_view(reinterpret_cast<const char*>(d), n));       \
        return 0;                                                                 \
    }                                                                             \
    static void fuzz_##name(std::string_view data)
#else
#define AUDIT_FUZZ_TARGET(name)                                                            \
    static void fuzz_##name(std::string_view data);                                        \
    static const ::audit::fuzz::Registration fuzz_registration_##name(#name, fuzz_##name); \
    static void fuzz_##name(std::string_view data)
#endif
