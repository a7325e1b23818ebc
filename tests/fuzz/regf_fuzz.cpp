// Windows registry hives (regf): base block, hive bins, cells, subkey lists, values, security,
// and transaction-log recovery. The input is the hive, optionally followed by one log file: the
// log starts at the first 512-aligned "regf" signature past the hive's base block.
#include "audit/formats/regf.h"
#include "fuzz.h"

namespace regf_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(regf) {
    std::size_t split = data.size();
    for (std::size_t off = 4096; off + 4 <= data.size(); off += 512)
        if (data.substr(off, 4) == "regf") {
            split = off;
            break;
        }
    std::vector<std::string> logs;
    if (split < data.size()) logs.emplace_back(data.substr(split));
    audit::fuzz::expect_typed_errors([&] {
        audit::regf::Hive hive(std::string(data.substr(0, split)), logs);
        (void)hive.embedded_name();
        std::size_t visited = 0;
        hive.walk(hive.root(), [&](const std::string&, const audit::regf::Key& key) {
            if (++visited > 10000) return;
            audit::fuzz::expect_typed_errors([&] {
                for (const auto& v : hive.values(key)) {
                    (void)v.as_string();
                    (void)v.as_strings();
                    (void)v.as_number();
                }
                (void)hive.security_descriptor(key);
            });
        });
        (void)hive.find("Microsoft\\Windows\\CurrentVersion\\Uninstall");
    });
}

}  // namespace regf_fuzz_cases
