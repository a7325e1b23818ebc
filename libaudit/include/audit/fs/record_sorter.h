// Lines sorted by a key in bounded memory: buffered, spilled as sorted runs, merged at the end.
// What keeps a scan's memory independent of the number of files it records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace audit::fs {

// A fresh directory (mkdtemp) under parent, removed with everything in it on destruction.
class ScratchDir {
  public:
    explicit ScratchDir(const std::string& parent, const std::string& prefix = ".scratch");
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
};

class RecordSorter {
  public:
    // Runs are written into dir (which must exist) once memory_bytes of lines are buffered.
    explicit RecordSorter(std::string dir, std::size_t memory_bytes = 4u << 20);
    ~RecordSorter();
    RecordSorter(const RecordSorter&) = delete;
    RecordSorter& operator=(const RecordSorter&) = delete;

    // Thread-safe. Lines are ordered by (key bytes, rank, line bytes). Throws IoError when a run
    // cannot be written.
    void add(std::string_view key, std::uint8_t rank, std::string_view line);

    // Writes the lines in order to out_path, each followed by '\n', keeping only the first line of
    // each key. Call once, after every add. Returns the number of lines written.
    std::uint64_t finish(const std::string& out_path);

    std::uint64_t runs_spilled() const noexcept { return runs_spilled_; }
    std::uint64_t duplicates_dropped() const noexcept { return duplicates_; }

    struct Item {
        std::uint64_t offset;  // in the arena: key, then line
        std::uint32_t key_len;
        std::uint32_t line_len;
        std::uint8_t rank;
    };

  private:
    void spill(std::string& arena, std::vector<Item>& items);

    std::string dir_;
    std::size_t memory_bytes_;
    std::mutex m_;
    std::string arena_;
    std::vector<Item> items_;
    std::vector<std::string> runs_;
    std::uint64_t next_run_ = 0;
    std::uint64_t runs_spilled_ = 0;
    std::uint64_t duplicates_ = 0;
};

}  // namespace audit::fs
