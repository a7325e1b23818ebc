// The optional stateful hash-based seal of a kit manifest: HSS/LMS (RFC 8554, NIST SP 800-208).
// A one-time key index must never sign twice, so the key file is advanced and made durable
// before a signature is computed: a crash can waste an index, never reuse one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace audit::kit {

inline constexpr std::string_view kLmsScheme = "hss-lms";
inline constexpr std::string_view kDefaultLmsParams = "SHA-256,HW(10,4)";  // 1024 seals

struct LmsPublicKey {
    std::string params;
    std::string public_key;  // raw RFC 8554 HSS public key bytes
    std::string keyid;       // lowercase hex SHA-256 of public_key

    std::string to_json() const;                      // the KEY.pub.json file
    static LmsPublicKey from_json(std::string_view);  // throws VerifyError
    bool verify(std::string_view message, std::string_view signature) const;
};

// Creates a new HSS/LMS private key file at path (mode 0600, never overwritten) and its public
// half at path + ".pub.json". params in Botan's syntax, e.g. "SHA-256,HW(10,4)".
LmsPublicKey lms_generate(const std::string& path, std::string_view params);

// A private key file opened for signing, locked (flock on path + ".lock") while the object lives.
class LmsSigner {
  public:
    explicit LmsSigner(const std::string& path);  // throws UsageError, IoError
    ~LmsSigner();
    LmsSigner(const LmsSigner&) = delete;
    LmsSigner& operator=(const LmsSigner&) = delete;

    const LmsPublicKey& public_key() const { return public_; }
    std::uint64_t next_index() const;  // the index the next signature will use
    std::uint64_t remaining() const;

    // Signs message with the next index. Order: the key file holding index + 1 is written,
    // fsynced and renamed into place, its directory fsynced and a line appended to path + ".log"
    // (fsynced); only then is the signature computed and returned. Throws VerifyError when the
    // key is exhausted, IoError when the state cannot be made durable (nothing is signed then).
    std::string sign(std::string_view message);

  private:
    std::string path_;
    int lock_fd_ = -1;
    std::string private_;  // current private key bytes (index = next to use)
    LmsPublicKey public_;
};

// The leaf index q of an HSS signature with one level (the global index); for more levels, the
// bottom tree's q. Throws VerifyError on a malformed signature.
std::uint64_t lms_signature_index(std::string_view signature);

// Fault injection for the crash tests, never armed unless a test asks: the signer and the kit
// builder call fault_point at each numbered step of a point ("lms-sign" 1..5); an armed point
// kills the process there (SIGKILL to itself), as a power cut would. Nothing reads the
// environment: a unit test arms it in its own process, the e2e test through audit-kit build's
// hidden --fault-at POINT:STEP.
void arm_fault(std::string_view point, int step);
// Disarms (the default).
void disarm_fault();
// "POINT:STEP" (as --fault-at takes it) to arm_fault; UsageError when it is not that shape.
void arm_fault(std::string_view spec);
void fault_point(std::string_view point, int step);

}  // namespace audit::kit
