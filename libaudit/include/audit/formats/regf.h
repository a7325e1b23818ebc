// Windows registry hive files (regf): a bounded, read-only parser over bytes.
// Format: Maxim Suhanov's "Windows registry file format specification" and the libregf notes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/error.h"

namespace audit::regf {

// A malformed hive or transaction log: names what is wrong and where (offsets are relative to
// the start of the hive bins data, as in the format).
struct HiveError : IoError {
    explicit HiveError(const std::string& m) : IoError(m) {}
};

// Value data types (winnt.h REG_*).
enum ValueType : std::uint32_t {
    reg_none = 0,
    reg_sz = 1,
    reg_expand_sz = 2,
    reg_binary = 3,
    reg_dword = 4,
    reg_dword_big_endian = 5,
    reg_link = 6,
    reg_multi_sz = 7,
    reg_qword = 11,
};

struct Value {
    std::string name;  // UTF-8; "" is the key's default value
    std::uint32_t type = reg_none;
    std::string data;  // raw bytes as stored

    // SZ / EXPAND_SZ / LINK as UTF-8, up to the first NUL; nullopt for other types.
    std::optional<std::string> as_string() const;
    // MULTI_SZ as UTF-8 strings (empty strings dropped; a missing final NUL tolerated).
    std::optional<std::vector<std::string>> as_strings() const;
    // DWORD (either byte order) and QWORD; nullopt for other types or a wrong data size.
    std::optional<std::uint64_t> as_number() const;
};

// A key node as found in the hive (a cheap handle: re-read from the hive's bytes on demand).
struct Key {
    std::uint32_t offset = 0;        // of the nk cell, relative to the hive bins data
    std::string name;                // UTF-8
    std::uint64_t last_written = 0;  // FILETIME
    std::uint32_t subkey_count = 0, value_count = 0;
};

// What the base block said and what recovery did.
struct HiveStatus {
    std::uint32_t primary_sequence = 0, secondary_sequence = 0;
    std::uint32_t minor_version = 0;
    bool checksum_ok = false;
    bool dirty = false;      // sequence numbers differ or checksum wrong
    bool recovered = false;  // dirty, and transaction log entries made it consistent
    std::uint32_t log_entries_applied = 0;
    std::vector<std::string> notes;  // what recovery found (skipped logs, bad entries, ...)
    // Clean, or dirty and recovered: the bytes are what Windows would load.
    bool complete() const { return !dirty || recovered; }
};

class Hive {
  public:
    // bytes: the primary file; logs: the contents of its .LOG1 and .LOG2 files, in that order
    // (absent ones omitted). A dirty hive is recovered from new-format (HvLE) log entries whose
    // sequence numbers continue the primary's; when that is impossible the hive is still opened
    // as it is and status().complete() is false. Throws HiveError when the bytes are not a
    // usable hive (signature, versions, hive bins, root cell).
    explicit Hive(std::string bytes, const std::vector<std::string>& logs = {});

    const HiveStatus& status() const { return status_; }
    // The file name the hive writer recorded in the base block (UTF-8, for messages).
    std::string embedded_name() const;

    Key root() const;
    // Subkeys of a key in list order (lf/lh/li, and ri of those). Throws HiveError.
    std::vector<Key> subkeys(const Key& key) const;
    std::vector<Value> values(const Key& key) const;
    // Case-insensitive value lookup by name; nullopt when absent.
    std::optional<Value> value(const Key& key, std::string_view name) const;
    // Case-insensitive lookup of a path of key names below key ("A\\B\\C"; '/' is not a
    // separator: key names may contain it). nullopt when a component is absent.
    std::optional<Key> find(const Key& from, std::string_view path) const;
    std::optional<Key> find(std::string_view path) const { return find(root(), path); }
    // The key's security descriptor bytes (from its sk cell).
    std::string security_descriptor(const Key& key) const;
    // Depth-first walk from key (pre-order, subkeys in list order); fn(path, key) with path the
    // names from `from` joined by '\'. A key reached twice (a cycle or shared subtree) and depth
    // beyond max_depth are refused with HiveError, so a crafted hive cannot loop.
    void walk(const Key& from, const std::function<void(const std::string&, const Key&)>& fn,
              std::size_t max_depth = 512) const;

  private:
    std::string data_;  // base block + hive bins data (recovered when logs applied)
    std::uint32_t bins_size_ = 0;
    std::uint32_t root_offset_ = 0;
    std::vector<std::uint32_t> bin_starts_, bin_ends_;  // hive bins, relative offsets
    HiveStatus status_;

    std::string_view cell(std::uint32_t offset, std::string_view what) const;
    Key key_at(std::uint32_t offset) const;
    void collect_subkeys(std::uint32_t list, std::vector<Key>& out, bool allow_ri,
                         std::size_t limit) const;
    std::string value_data(std::string_view vk, std::uint32_t vk_offset) const;
};

// Case-insensitive comparison of key or value names (ASCII, Latin-1, Greek and Cyrillic letters),
// as Windows compares them for the names software actually uses.
bool names_equal(std::string_view a, std::string_view b);

// UTF-16LE bytes to UTF-8 (invalid surrogates become U+FFFD).
std::string utf16le_to_utf8(std::string_view bytes);

// Marvin32 (the hash in HvLE log entries), exposed for tests.
std::uint64_t marvin32(std::string_view data, std::uint64_t seed);

}  // namespace audit::regf
