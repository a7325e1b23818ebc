// Botan speed of the primitives the toolkit uses (issue 19: Botan 3.7.1 against 3.13.0). Not built
// by CMake; build against one static Botan and run (CPU time of one thread):
//   g++ -std=c++20 -O2 -I DEPS/botan/prefix/include/botan-3 tests/bench/botan-speed.cpp \
//       DEPS/botan/prefix/lib/libbotan-3.a -static -o /tmp/botan-speed && /tmp/botan-speed
#include <botan/auto_rng.h>
#include <botan/dilithium.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/version.h>
#include <cstdio>
#include <ctime>
#include <vector>
static double cpu() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static void hash(const char* name, std::size_t block) {
    auto h = Botan::HashFunction::create_or_throw(name);
    std::vector<uint8_t> buf(block, 0x5a);
    std::size_t total = 0;
    double t0 = cpu();
    while (cpu() - t0 < 2.0) {
        for (int i = 0; i < 64; ++i) h->update(buf);
        total += 64 * block;
    }
    h->final();
    double t = cpu() - t0;
    std::printf("%-8s %6zu-byte blocks: %7.0f MB/s\n", name, block, total / t / 1e6);
}
static void small_files(const char* name) {  // per-message cost: new digest of 4 KiB, as per file
    auto h = Botan::HashFunction::create_or_throw(name);
    std::vector<uint8_t> buf(4096, 0x5a);
    std::size_t n = 0;
    double t0 = cpu();
    while (cpu() - t0 < 1.0) {
        for (int i = 0; i < 256; ++i) {
            h->update(buf);
            h->final();
        }
        n += 256;
    }
    std::printf("%-8s 4 KiB messages: %7.2f us each\n", name, (cpu() - t0) / n * 1e6);
}
template <class K>
static void sig(const char* label, const K& key, const char* params, Botan::Signature_Format f) {
    Botan::AutoSeeded_RNG rng;
    std::vector<uint8_t> msg(1000, 1);
    Botan::PK_Signer s(key, rng, params, f);
    Botan::PK_Verifier v(key, params, f);
    int n = 0;
    double t0 = cpu();
    std::vector<uint8_t> sg;
    while (cpu() - t0 < 1.5) {
        sg = s.sign_message(msg, rng);
        ++n;
    }
    double ts = (cpu() - t0) / n;
    n = 0;
    t0 = cpu();
    bool ok = true;
    while (cpu() - t0 < 1.5) {
        ok &= v.verify_message(msg, sg);
        ++n;
    }
    double tv = (cpu() - t0) / n;
    std::printf("%-12s sign %8.3f ms  verify %8.3f ms %s\n", label, ts * 1e3, tv * 1e3,
                ok ? "" : "VERIFY FAILED");
}
int main() {
    std::printf("%s\n", Botan::version_cstr());
    hash("SHA-256", 16384);
    hash("SHA-384", 16384);
    hash("SHA-512", 16384);
    small_files("SHA-256");
    small_files("SHA-384");
    Botan::AutoSeeded_RNG rng;
    sig("ECDSA-P384", Botan::ECDSA_PrivateKey(rng, Botan::EC_Group::from_name("secp384r1")),
        "SHA-384", Botan::Signature_Format::DerSequence);
    sig("ML-DSA-87",
        Botan::Dilithium_PrivateKey(rng, Botan::DilithiumMode(Botan::DilithiumMode::ML_DSA_8x7)),
        "", Botan::Signature_Format::Standard);
    sig("Ed25519", Botan::Ed25519_PrivateKey(rng), "Pure", Botan::Signature_Format::Standard);
}
