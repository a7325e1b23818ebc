// DSSE envelopes (JSON + base64) and the in-toto statement JSON inside them.
#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "fuzz.h"

AUDIT_FUZZ_TARGET(dsse) {
    audit::fuzz::expect_typed_errors([&] {
        auto env = audit::crypto::Envelope::parse(data);
        // What readers do next: the PAE for signature checks, the payload as JSON.
        audit::crypto::pae(env.payload_type, env.payload);
        auto statement = nlohmann::json::parse(env.payload, nullptr, /*allow_exceptions=*/false);
        if (!statement.is_discarded()) statement.dump();
        auto again = audit::crypto::Envelope::parse(env.to_json());
        if (again.payload != env.payload || again.payload_type != env.payload_type ||
            again.signatures.size() != env.signatures.size())
            __builtin_trap();  // to_json/parse must round-trip
    });
    audit::fuzz::expect_typed_errors([&] { audit::crypto::base64_decode(data); });
}
