// audit-verify's pieces (tools/verify/*.cpp): what one verification holds and does.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/attest/attestation.h"
#include "audit/error.h"
#include "audit/evidence/chain_head.h"
#include "audit/trust/trust_root.h"

namespace audit::verify_tool {

using nlohmann::json;

// What the verifier holds: the trust root given now (and its bytes), the bundles and chain heads
// verified so far (for the attestations given with them).
struct Context {
    const trust::TrustRoot& trust;
    std::string trust_path, trust_bytes;
    bool keep_summaries = false;                    // attestations are among the inputs
    std::map<std::string, std::string> bundle_ids;  // statement and file digest -> bundle id
    std::vector<attest::BundleSummary> summaries;
    std::vector<evidence::ChainHead> heads;
    std::int64_t clock_tolerance_s = 3600;
    // The merge of the bundles given, per attestation time: (host key, product) -> status.
    std::map<std::string, std::map<std::pair<std::string, std::string>, attest::HostProductStatus>>
        merged;
    // --extract / --print-statement (one input): what its verification established.
    bool keep_files = false;
    std::string payload;                       // the verified DSSE payload
    nlohmann::json subjects;                   // a bundle's statement subjects
    std::map<std::string, std::string> files;  // a bundle's content, every digest checked
};

bool is_bundle(const std::string& p);
bool is_head(const std::string& p);
// At most max bytes of a document named on the command line (VerifyError when larger).
std::string read_small(const std::string& path, std::size_t max);
std::string str(const json& j, const char* key);
// The status the bundles given compute for an attestation's host and product, under the trust
// root given now and at the attestation's time; refuses a mismatch (VerifyError).
json recompute(const attest::Attestation& attestation, Context& ctx);
// One file verified (bundle, chain head, attestation, report statement, trust root, certificate,
// signed manifest): {"path", "kind", "ok", "detail"...} or {"error"}; throws audit::Error. An
// attestation's typed value goes to *attestation when given.
json verify_one(const std::string& path, Context& ctx,
                std::optional<attest::Attestation>* attestation = nullptr);

// One bundle verified without touching the context (a worker's job; ctx is only read): its
// result, or its error, and what the context takes from it (apply_bundle, in input order).
struct BundleOutcome {
    json result;                    // {"file", "kind", "detail"} when it verified
    std::string error;              // why it did not ("" when it did)
    Exit failure = Exit::clean;     // the error's exit code
    std::exception_ptr unexpected;  // anything else thrown: rethrown in input order
    std::optional<attest::BundleSummary> summary;
    std::string payload;  // --extract / --print-statement
    json subjects;
    std::map<std::string, std::string> files;
    std::vector<std::pair<std::string, std::string>> ids;  // digest -> bundle id
};
BundleOutcome verify_bundle(const std::string& path, const Context& ctx);
// The context's share of a verified bundle (bundle ids, summary, kept files); the result's JSON.
json apply_bundle(BundleOutcome& outcome, Context& ctx);
// Every bundle of paths verified by a pool of jobs workers (jobs == 1: on this thread; 0: one
// per CPU), the outcomes in the order of paths. One bundle's failure is its own outcome only.
std::vector<BundleOutcome> verify_bundles(const std::vector<std::string>& paths, const Context& ctx,
                                          unsigned jobs);
// "OK       FILE (kind …)" for a verified input's result (what it is, and what limits it).
void print_ok_line(const json& r);
// A directory stands for the bundles and chain heads in it (sorted); other paths, and a
// directory holding none, stay as given.
std::vector<std::string> expand_directories(const std::vector<std::string>& args);

}  // namespace audit::verify_tool
