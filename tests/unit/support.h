// Helpers shared by the source tests: temporary roots, files, running the ecosystems' tools.
#pragma once

#include <catch_amalgamated.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "audit/inventory.h"

namespace audit_test {

namespace stdfs = std::filesystem;

inline void write(const stdfs::path& p, const std::string& bytes) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

// A fresh directory (mode 0700) under the temporary directory, removed with all it holds, even
// when a test took the owner's permissions away from it. The one every test file uses.
struct TempDir {
    stdfs::path path;
    TempDir() {
        std::string t = (stdfs::temp_directory_path() / "audit-test-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        stdfs::permissions(path, stdfs::perms::owner_all, stdfs::perm_options::add, ec);
        stdfs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string str() const { return path.string(); }
    // The path of `name` inside, as a string.
    std::string operator/(const std::string& name) const { return (path / name).string(); }
    // Writes `name` (relative to the directory; its parents are made).
    void write(const std::string& name, const std::string& bytes) const {
        audit_test::write(path / name, bytes);
    }
};

inline std::string slurp(const stdfs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs a shell command; its exit status must be 0. Returns stdout.
inline std::string sh(const std::string& cmd) {
    FILE* f = ::popen(cmd.c_str(), "r");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    int rc = ::pclose(f);
    INFO(cmd);
    REQUIRE(rc == 0);
    return out;
}

inline std::string fixture(const std::string& name) {
    return std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/" + name;
}

inline const audit::InventoryItem* find(const std::vector<audit::InventoryItem>& items,
                                        const std::string& name) {
    for (const auto& i : items)
        if (i.name == name) return &i;
    return nullptr;
}

inline bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
    for (const auto& s : v)
        if (s.find(needle) != std::string::npos) return true;
    return false;
}

inline std::string trim_nl(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace audit_test
