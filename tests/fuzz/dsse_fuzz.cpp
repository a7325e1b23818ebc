// DSSE envelopes (JSON + base64) and the in-toto statement JSON inside them.
#include <nlohmann/json.hpp>

#include "audit/crypto/dsse.h"
#include "authority.h"
#include "fuzz.h"

namespace dsse_fuzz_cases {  // one namespace per test file: unity builds compile several as one

namespace {

// The target's own seeds (it used to borrow the trust root and the certificate from the other
// targets' authority, and had none when run first or alone): those two documents, a statement
// signed by the collector, the same with a second signature, and a bare base64 text.
void write_seeds() {
    const auto& a = audit::fuzz::authority();
    audit::fuzz::write_seed("trust.json", audit::fuzz::read_all(a.dir + "/trust.json"));
    audit::fuzz::write_seed("collector.cert.json", a.certificate);
    const nlohmann::json statement = {
        {"_type", "https://in-toto.io/Statement/v1"},
        {"subject",
         {{{"name", "seed.evidence.tar.zst"}, {"digest", {{"sha256", std::string(64, 'a')}}}}}},
        {"predicateType", "https://example.invalid/audit/evidence/v1"},
        {"predicate", {{"kit", {{"id", a.kit_id}, {"sequence", 1}}}}}};
    audit::crypto::Envelope env;
    env.payload_type = "application/vnd.in-toto+json";
    env.payload = statement.dump();
    env.sign(a.collector);
    audit::fuzz::write_seed("statement.dsse.json", env.to_json());
    env.signatures.push_back({"second", std::string(64, '\x5a')});
    audit::fuzz::write_seed("statement-2sig.dsse.json", env.to_json());
    audit::fuzz::write_seed("base64.txt", audit::crypto::base64_encode(statement.dump()));
}

}  // namespace

AUDIT_FUZZ_SEEDS(dsse, write_seeds)

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

}  // namespace dsse_fuzz_cases
