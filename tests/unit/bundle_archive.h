// The bundle tests' hand-made archives: a bundle's entries read back and written again (pax tar +
// zstd, as the writer makes them), to build the malformed and tampered bundles the reader must
// refuse; and the reader's refusal of one.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <catch_amalgamated.hpp>
#include <string>
#include <utility>
#include <vector>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"

namespace audit_test {

using Entries = std::vector<std::pair<std::string, std::string>>;

inline Entries unpack(const std::string& path) {
    Entries out;
    archive* a = archive_read_new();
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
        archive_read_data(a, data.data(), data.size());
        out.emplace_back(archive_entry_pathname(e), data);
    }
    archive_read_free(a);
    return out;
}

inline void pack(const std::string& path, const Entries& entries,
                 const std::string& symlink_name = "") {
    archive* a = archive_write_new();
    archive_write_add_filter_zstd(a);
    archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& [name, data] : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
        archive_write_header(a, e);
        archive_write_data(a, data.data(), data.size());
        archive_entry_free(e);
    }
    if (!symlink_name.empty()) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, symlink_name.c_str());
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, "/etc/passwd");
        archive_write_header(a, e);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

// Why the reader refuses the bundle at path ("" when it verifies).
inline std::string rejection(const std::string& path, const audit::trust::TrustRoot& trust) {
    try {
        audit::evidence::read_bundle(path, trust);
    } catch (const audit::VerifyError& e) {
        return e.what();
    }
    return "";
}

}  // namespace audit_test
