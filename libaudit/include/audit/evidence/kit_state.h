// The per-kit sequence counter and hash chain: every bundle names its sequence number and the
// digest of the kit's previous bundle, so a deleted or replayed bundle is detectable.
//
// Where the counter lives (issue 20): with the collector key, KEYSTEM.<kit>.state.json beside
// KEYSTEM.key (one per kit the key is certified for; on a kit: keys/collector.<kit>.state.json,
// the one mutable file the kit manifest names in keys/), so every output folder a key writes to
// continues one chain. The old place, the output folder (.kit-<id>.state.json), is still read: its
// state is taken over, never restarted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace audit::evidence {

struct KitState {
    std::string kit_id;
    std::uint64_t last_sequence = 0;    // 0 = no bundle yet
    std::string last_bundle_sha256;     // "" = no bundle yet
    std::string last_bundle;            // file name
    std::string last_statement_sha256;  // of its DSSE payload ("" = no bundle yet): v2 chain link
    std::string last_dir;               // absolute output folder of the last bundle ("": unknown)
    // A bundle being written: saved before the bundle is linked, cleared after. A state that
    // still names one is resolved on the next load (the bundle is there: the chain continues
    // from it; the folder is there without it: it was never linked; the folder is unreachable:
    // refused, since continuing could fork the chain).
    std::uint64_t pending_sequence = 0;
    std::string pending_dir, pending_bundle;
};

// The sequence state file of a collector key for one kit: KEY without ".key" + ".<kit>.state.json".
std::string state_path_for_key(const std::string& key_path, const std::string& kit_id);

// An exclusive lock on a kit's sequence state, held for the lifetime of the object, so two scans
// with one key never take the same sequence number.
class KitStateLock {
  public:
    // Legacy place: the state file ".kit-<id>.state.json" in dir, locked by ".kit-<id>.lock".
    KitStateLock(const std::string& dir, const std::string& kit_id);  // throws IoError

    // Beside the collector key (state_path, state_path_for_key), locked by flock on the key
    // file itself. Made BEFORE the process confines itself (Landlock, read-only view): the state
    // is read, a pending bundle resolved and an old state in out_dir (and out_dir's bundles of
    // this kit) taken over here, and a writer process is forked that stays outside the sandbox
    // and saves the state atomically when asked. must_exist: a missing state is an error (a
    // kit's state is created with the kit). notes(): what was taken over or resolved.
    KitStateLock(const std::string& key_path, const std::string& state_path,
                 const std::string& kit_id, const std::string& out_dir, bool must_exist);
    ~KitStateLock();
    KitStateLock(const KitStateLock&) = delete;
    KitStateLock& operator=(const KitStateLock&) = delete;

    // The saved state, caught up with the newest bundle of this kit in the output folder (a
    // scan stopped after its bundle was linked but before the state was saved). Throws IoError
    // on a corrupt state file.
    KitState load() const;
    void save(const KitState& state) const;  // atomic and fsynced
    const std::string& kit_id() const { return kit_id_; }
    const std::string& state_path() const { return path_; }
    bool beside_key() const { return beside_key_; }
    const std::vector<std::string>& notes() const { return notes_; }
    // No state was beside the key and nothing to take over: this key starts a new chain.
    bool fresh() const { return fresh_; }

  private:
    KitState read_state() const;

    std::string path_;
    std::string dir_, kit_id_;
    int lock_fd_ = -1;
    // Beside the key: the state read at construction, and the writer process.
    KitState cached_;
    pid_t writer_pid_ = -1;
    int to_writer_ = -1, from_writer_ = -1;
    std::vector<std::string> notes_;
    bool fresh_ = false;
    bool beside_key_ = false;
};

// A new key's (or kit's) empty state file at path: sequence 0 (audit-kit build writes it).
void create_empty_state(const std::string& path, const std::string& kit_id);

// Reads a state file (throws IoError when it cannot be read or parsed).
KitState read_state_file(const std::string& path);

// Kit ids appear in file names: [A-Za-z0-9._-], 1..64 characters.
bool valid_kit_id(const std::string& id);

}  // namespace audit::evidence
