// The per-kit sequence counter and hash chain: every bundle names its sequence number and the
// digest of the kit's previous bundle, so a deleted or replayed bundle is detectable.
#pragma once

#include <cstdint>
#include <string>

namespace audit::evidence {

struct KitState {
    std::string kit_id;
    std::uint64_t last_sequence = 0;    // 0 = no bundle yet
    std::string last_bundle_sha256;     // "" = no bundle yet
    std::string last_bundle;            // file name
    std::string last_statement_sha256;  // of its DSSE payload ("" = no bundle yet): v2 chain link
};

// An exclusive lock on the kit's state file in dir (".kit-<id>.state.json"), held for the
// lifetime of the object, so two scans on one kit never take the same sequence number.
class KitStateLock {
  public:
    KitStateLock(const std::string& dir, const std::string& kit_id);  // throws IoError
    ~KitStateLock();
    KitStateLock(const KitStateLock&) = delete;
    KitStateLock& operator=(const KitStateLock&) = delete;

    // The saved state, caught up with the newest bundle of this kit in dir (a scan stopped
    // after its bundle was linked but before the state was saved). Throws IoError on a corrupt
    // state file.
    KitState load() const;
    void save(const KitState& state) const;  // atomic and fsynced

  private:
    KitState read_state() const;

    std::string path_;
    std::string dir_, kit_id_;
    int lock_fd_ = -1;
};

// Kit ids appear in file names: [A-Za-z0-9._-], 1..64 characters.
bool valid_kit_id(const std::string& id);

}  // namespace audit::evidence
