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

struct TempDir {
    stdfs::path path;
    TempDir() {
        std::string t = (stdfs::temp_directory_path() / "audit-src-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        stdfs::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
};

inline void write(const stdfs::path& p, const std::string& bytes) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

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
