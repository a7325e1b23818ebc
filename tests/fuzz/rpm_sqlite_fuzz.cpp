// rpmdb.sqlite and its write-ahead log. The input is the database image followed by the log;
// the log starts at the last WAL magic (0x377f0682/3, big-endian) past the first page, if any.
#include "audit/sources/rpm.h"
#include "fuzz.h"

namespace rpm_sqlite_fuzz_cases {  // one namespace per test file: unity builds compile several as
                                   // one

AUDIT_FUZZ_TARGET(rpm_sqlite) {
    std::size_t split = data.size();
    for (std::size_t i = data.size() >= 4 ? data.size() - 4 : 0; i > 512; --i)
        if (data.substr(i, 3) == std::string_view("\x37\x7f\x06", 3) &&
            (data[i + 3] == '\x82' || data[i + 3] == '\x83')) {
            split = i;
            break;
        }
    audit::fuzz::expect_typed_errors([&] {
        std::vector<std::string> warnings;
        auto records = audit::sources::read_rpm_sqlite(std::string(data.substr(0, split)),
                                                       data.substr(split), warnings);
        for (const auto& r : records)
            audit::fuzz::expect_typed_errors([&] { audit::sources::parse_rpm_header(r.blob); });
    });
}

}  // namespace rpm_sqlite_fuzz_cases
