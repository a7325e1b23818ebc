// The rpm database: rpmdb.sqlite (rpm >= 4.16), the Berkeley DB "Packages" hash file and the ndb
// "Packages.db", in var/lib/rpm or usr/lib/sysimage/rpm. All read without rpm, libdb or writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/sources/source.h"

namespace audit::sources {

class RpmSource final : public BasicSource {
  public:
    std::string_view name() const override { return "rpm"; }

  private:
    void read(const fs::Root& root, Collection& c) const override;
};

struct RpmFile {
    std::string path;
    std::string digest;  // lower-case hex; empty for directories, links and ghosts
};

// What the auditor needs from one installed package's header.
struct RpmHeader {
    std::string name, version, release, arch, vendor, packager;
    std::string summary, license, url, source_rpm, header_sha256;
    std::optional<std::uint32_t> epoch;
    std::optional<std::uint32_t> install_time;  // seconds since 1970, as rpm recorded it
    std::uint32_t digest_algo = 1;              // RPMTAG_FILEDIGESTALGO; md5 when absent
    std::vector<RpmFile> files;
    std::vector<std::string> problems;  // damage short of losing the package (a bad file list)
};

// One header blob as a database holds it, with the database's record key; or, when the
// container's own checks fail for this record alone, why (and no blob).
struct RpmRecord {
    std::uint32_t key = 0;
    std::string blob;
    std::string damage;
};

// Parse one header blob (rpm's "headerExport" layout: entry count and data length, 16-byte index
// entries, data store; the 8-byte header magic of an .rpm file is accepted too). Bounded; throws
// UsageError naming the problem when the blob is malformed or has no name.
RpmHeader parse_rpm_header(std::string_view blob);

// "sha256" for rpm's PGPHASHALGO number, "algo-N" for numbers it does not know.
std::string rpm_digest_algo_name(std::uint32_t algo);

// The containers: each returns every record it holds. A record damaged on its own comes back with
// its damage; a file whose structure is broken throws UsageError.
std::vector<RpmRecord> read_rpm_bdb(std::string_view file, std::vector<std::string>& warnings);
std::vector<RpmRecord> read_rpm_ndb(std::string_view file);
// image: the bytes of rpmdb.sqlite, wal: those of rpmdb.sqlite-wal (may be empty); committed
// transactions in the log are applied to the in-memory copy; nothing is written anywhere.
std::vector<RpmRecord> read_rpm_sqlite(std::string image, std::string_view wal,
                                       std::vector<std::string>& warnings);

}  // namespace audit::sources
