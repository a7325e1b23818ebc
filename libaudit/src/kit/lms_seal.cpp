#include "audit/kit/lms_seal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include <botan/auto_rng.h>
#include <botan/hex.h>
#include <botan/hss_lms.h>
#include <botan/pubkey.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "audit/core/hex.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"
#include "audit/trust/trust_root.h"

namespace audit::kit {

namespace {

using nlohmann::json;
constexpr std::string_view kPrivateType = "audit-toolkit/hss-lms-private-key";
constexpr std::string_view kPublicType = "audit-toolkit/hss-lms-public-key";
constexpr std::size_t kMaxKeyFile = 64u << 10;
// Botan's HSS private key bytes: u32 L, u64 next index (big-endian), then parameters and seed.
constexpr std::size_t kIndexOffset = 4;
constexpr std::size_t kMinPrivate = kIndexOffset + 8;

std::string unhex(const std::string& text, const std::string& what) {
    auto v = core::hex_decode(text);
    if (!v) throw VerifyError(what + " is not hex");
    return *v;
}

template <typename Bytes>
std::string to_string(const Bytes& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size()};
}

std::span<const std::uint8_t> span_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::uint64_t index_of(std::string_view priv) {
    if (priv.size() < kMinPrivate) throw VerifyError("HSS/LMS private key is too short");
    std::uint64_t q = 0;
    for (std::size_t i = 0; i < 8; ++i)
        q = (q << 8) | static_cast<unsigned char>(priv[kIndexOffset + i]);
    return q;
}

std::string with_index(std::string priv, std::uint64_t q) {
    for (std::size_t i = 0; i < 8; ++i)
        priv[kIndexOffset + 7 - i] = static_cast<char>((q >> (8 * i)) & 0xff);
    return priv;
}

std::string private_file_json(const std::string& params, std::string_view priv,
                              const LmsPublicKey& pub) {
    json j = {{"_type", kPrivateType},        {"params", params},
              {"keyid", pub.keyid},           {"public", core::hex_encode(pub.public_key)},
              {"next_index", index_of(priv)}, {"private", core::hex_encode(priv)}};
    return j.dump(2) + "\n";
}

void append_durably(const std::string& path, const std::string& line) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw IoError("cannot open " + path + ": " + std::strerror(errno));
    std::string_view rest = line;
    while (!rest.empty()) {
        ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw IoError("cannot write " + path + ": " + std::strerror(e));
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) throw IoError("cannot fsync " + path + ": " + std::strerror(e));
}

}  // namespace

namespace {
// "POINT:STEP" of the armed fault, "" when none (set by tests only, before any thread starts).
std::string g_armed_fault;
}  // namespace

void arm_fault(std::string_view point, int step) {
    g_armed_fault = std::string(point) + ":" + std::to_string(step);
}

void disarm_fault() {
    g_armed_fault.clear();
}

void arm_fault(std::string_view spec) {
    const auto colon = spec.rfind(':');
    int step = 0;
    const std::string digits =
        colon == std::string_view::npos ? std::string() : std::string(spec.substr(colon + 1));
    if (colon == 0 || digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("--fault-at needs POINT:STEP, not '" + std::string(spec) + "'");
    step = std::stoi(digits);
    arm_fault(spec.substr(0, colon), step);
}

void fault_point(std::string_view point, int step) {
    if (g_armed_fault.empty()) return;
    if (g_armed_fault == std::string(point) + ":" + std::to_string(step)) {
#ifdef _WIN32
        ::TerminateProcess(::GetCurrentProcess(), 128 + 9);  // no signals: the same exit status
#else
        ::kill(::getpid(), SIGKILL);
#endif
    }
}

std::string LmsPublicKey::to_json() const {
    json j = {{"_type", kPublicType},
              {"scheme", kLmsScheme},
              {"params", params},
              {"keyid", keyid},
              {"public", core::hex_encode(public_key)}};
    return j.dump(2) + "\n";
}

LmsPublicKey LmsPublicKey::from_json(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("_type", "") != kPublicType ||
        !j.contains("public") || !j["public"].is_string())
        throw VerifyError("not an HSS/LMS public key file");
    LmsPublicKey k;
    k.params = j.value("params", "");
    k.public_key = unhex(j["public"].get<std::string>(), "HSS/LMS public key");
    k.keyid = crypto::sha256_hex(k.public_key);
    if (j.value("keyid", "") != k.keyid) throw VerifyError("HSS/LMS public key: keyid mismatch");
    try {
        Botan::HSS_LMS_PublicKey probe(span_of(k.public_key));
    } catch (const std::exception& e) {
        throw VerifyError(std::string("malformed HSS/LMS public key: ") + e.what());
    }
    return k;
}

bool LmsPublicKey::verify(std::string_view message, std::string_view signature) const {
    try {
        Botan::HSS_LMS_PublicKey pk(span_of(public_key));
        Botan::PK_Verifier v(pk, "");
        return v.verify_message(span_of(message), span_of(signature));
    } catch (const std::exception&) {
        return false;
    }
}

LmsPublicKey lms_generate(const std::string& path, std::string_view params) {
    Botan::AutoSeeded_RNG rng;
    std::unique_ptr<Botan::HSS_LMS_PrivateKey> key;
    try {
        key = std::make_unique<Botan::HSS_LMS_PrivateKey>(rng, params);
    } catch (const std::exception& e) {
        throw UsageError("HSS/LMS parameters '" + std::string(params) + "': " + e.what());
    }
    LmsPublicKey pub;
    pub.params = std::string(params);
    pub.public_key = to_string(key->public_key_bits());
    pub.keyid = crypto::sha256_hex(pub.public_key);
    const std::string priv = to_string(key->private_key_bits());
    if (priv.size() < kMinPrivate || priv.compare(0, 4, std::string("\0\0\0\1", 4)) != 0)
        throw UsageError("HSS/LMS parameters '" + std::string(params) +
                         "': only one-level keys (one HW(h,w)) are supported");
    crypto::write_new_file(path, private_file_json(pub.params, priv, pub), 0600);
    crypto::write_new_file(path + ".pub.json", pub.to_json(), 0644);
    return pub;
}

LmsSigner::LmsSigner(const std::string& path) : path_(path) {
    const std::string lock = path + ".lock";
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd_ < 0) throw IoError("cannot open " + lock + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        throw IoError("HSS/LMS key " + path + " is in use by another process");
    }
    try {
        auto j = json::parse(read_input_file_within<UsageError>(path, kMaxKeyFile, "HSS/LMS key",
                                                                ": file is too large for a key"),
                             nullptr, false);
        if (j.is_discarded() || !j.is_object() || j.value("_type", "") != kPrivateType ||
            !j.contains("private") || !j["private"].is_string() || !j.contains("public") ||
            !j["public"].is_string())
            throw UsageError(path + ": not an HSS/LMS private key file");
        private_ = unhex(j["private"].get<std::string>(), path + ": private key");
        public_.params = j.value("params", "");
        public_.public_key = unhex(j["public"].get<std::string>(), path + ": public key");
        public_.keyid = crypto::sha256_hex(public_.public_key);
        Botan::HSS_LMS_PrivateKey key(span_of(private_));
        if (to_string(key.public_key_bits()) != public_.public_key)
            throw UsageError(path + ": private and public key do not belong together");
    } catch (const VerifyError& e) {
        ::close(lock_fd_);
        throw UsageError(e.what());
    } catch (const Error&) {
        ::close(lock_fd_);
        throw;
    } catch (const std::exception& e) {
        ::close(lock_fd_);
        throw UsageError(path + ": malformed HSS/LMS private key: " + e.what());
    }
}

LmsSigner::~LmsSigner() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::uint64_t LmsSigner::next_index() const {
    return index_of(private_);
}

std::uint64_t LmsSigner::remaining() const {
    Botan::HSS_LMS_PrivateKey key(span_of(private_));
    return key.remaining_operations().value_or(0);
}

std::string LmsSigner::sign(std::string_view message) {
    fault_point("lms-sign", 1);
    Botan::HSS_LMS_PrivateKey key(span_of(private_));
    if (key.remaining_operations().value_or(0) == 0)
        throw VerifyError("HSS/LMS key " + path_ + " is exhausted: generate a new seal key");
    const std::uint64_t q = index_of(private_);
    // Reserve index q: the file on disk names q + 1 before q signs anything.
    const std::string reserved = with_index(private_, q + 1);
    evidence::write_file_atomic(path_, private_file_json(public_.params, reserved, public_), false,
                                0600);
    fault_point("lms-sign", 2);
    append_durably(path_ + ".log", json({{"index", q},
                                         {"time", trust::utc_now()},
                                         {"message_sha256", crypto::sha256_hex(message)}})
                                           .dump() +
                                       "\n");
    fault_point("lms-sign", 3);
    private_ = reserved;
    Botan::AutoSeeded_RNG rng;
    Botan::PK_Signer signer(key, rng, "");
    std::string sig = to_string(signer.sign_message(span_of(message), rng));
    // Botan advanced its own copy; it must agree with what was made durable.
    if (to_string(key.private_key_bits()) != reserved || lms_signature_index(sig) != q)
        throw VerifyError("HSS/LMS key state disagrees with the signature index (refusing it)");
    fault_point("lms-sign", 4);
    return sig;
}

std::uint64_t lms_signature_index(std::string_view sig) {
    // u32 Nspk, then Nspk x (LMS signature + LMS public key), then the bottom LMS signature whose
    // first field is u32 q. Only the one-level form is parsed here (the keys we generate).
    if (sig.size() < 8) throw VerifyError("HSS signature is too short");
    auto u32 = [&](std::size_t off) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(sig[off + i]);
        return v;
    };
    if (u32(0) != 0) throw VerifyError("HSS signature has more than one level");
    return u32(4);
}

}  // namespace audit::kit
