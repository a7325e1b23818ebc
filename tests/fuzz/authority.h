// The authority the signed-document targets verify against (Ed25519: fast). It is made once in
// $AUDIT_FUZZ_WORK/authority and reused, so seeds signed in one run still verify in the next;
// without AUDIT_FUZZ_WORK (unit tests) it lives in a temporary directory for the process.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"
#include "fuzz.h"

namespace audit::fuzz {

struct FuzzAuthority {
    std::string dir;
    trust::TrustRoot trust;
    crypto::SigningKey collector;
    std::string certificate;  // collector.cert.json
    std::string kit_id;
};

inline std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline const FuzzAuthority& authority() {
    static const FuzzAuthority a = [] {
        namespace stdfs = std::filesystem;
        std::string dir;
        if (const char* work = ::getenv("AUDIT_FUZZ_WORK"); work && *work) {
            dir = std::string(work) + "/authority";
        } else {
            std::string t = (stdfs::temp_directory_path() / "audit-fuzz-XXXXXX").string();
            if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
            dir = t + "/authority";
            static std::string made = t;
            std::atexit([] {
                std::error_code ec;
                std::filesystem::remove_all(made, ec);
            });
        }
        if (!stdfs::exists(dir + "/trust.json"))
            trust::init_authority(dir, crypto::KeyProfile::ed25519, std::nullopt, 3650);
        auto root = trust::TrustRoot::load(dir + "/trust.json");
        auto key = crypto::SigningKey::load(dir + "/collector.key", std::nullopt);
        std::string kit = "kit-" + key.identity().keyid.substr(0, 8);
        return FuzzAuthority{dir, std::move(root), std::move(key),
                             read_all(dir + "/collector.cert.json"), kit};
    }();
    return a;
}

// Seeds are written to $AUDIT_FUZZ_SEEDS (when set) by targets whose inputs must be signed; the
// unit tests set seed_dir_override() instead.
inline std::string& seed_dir_override() {
    static std::string dir;
    return dir;
}

inline std::string seed_dir() {
    if (!seed_dir_override().empty()) return seed_dir_override();
    const char* s = ::getenv("AUDIT_FUZZ_SEEDS");
    return s && *s ? std::string(s) : std::string();
}

inline void write_seed(const std::string& name, std::string_view bytes) {
    std::ofstream(seed_dir() + "/" + name, std::ios::binary) << bytes;
}

}  // namespace audit::fuzz

// A hook run once before the corpus is read (libFuzzer) to write target name's signed seeds;
// in the unit tests, a registered writer (seed_writers()).
#ifdef AUDIT_FUZZ_MAIN
#define AUDIT_FUZZ_SEEDS(name, body)                     \
    extern "C" int LLVMFuzzerInitialize(int*, char***) { \
        if (!audit::fuzz::seed_dir().empty()) body();    \
        return 0;                                        \
    }
#else
#define AUDIT_FUZZ_SEEDS(name, body) \
    static const ::audit::fuzz::SeedRegistration fuzz_seed_registration_##name(#name, body);
#endif
