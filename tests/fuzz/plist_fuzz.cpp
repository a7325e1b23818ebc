// Property lists: XML and binary (bplist00), as macOS writes them.
#include "audit/formats/plist.h"
#include "fuzz.h"

namespace plist_fuzz_cases {  // one namespace per test file: unity builds compile several as one

AUDIT_FUZZ_TARGET(plist) {
    audit::fuzz::expect_typed_errors([&] {
        auto v = audit::plist::parse(data, "fuzz.plist");
        (void)v.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        (void)v.string_at("CFBundleIdentifier");
    });
}

}  // namespace plist_fuzz_cases
