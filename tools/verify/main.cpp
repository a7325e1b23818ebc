// audit-verify: check bundles, attestations and trust roots against a trust root.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "audit/attest/attest.h"
#include "audit/attest/evidence_check.h"
#include "audit/crypto/dsse.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace {

using nlohmann::json;

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_small(const std::string& path, std::size_t max) {
    std::string data = audit::read_input_file(path, max, "document");
    if (data.size() > max)
        throw audit::VerifyError(path + ": larger than any document it could be");
    return data;
}

// One file: returns a JSON result {file, kind, valid, detail|error}.
json verify_one(const std::string& path, const audit::trust::TrustRoot& trust) {
    json r = {{"file", path}};
    if (ends_with(path, ".tar.zst") || ends_with(path, ".tar")) {
        r["kind"] = "bundle";
        auto b = audit::evidence::read_bundle(path, trust, false);
        const auto& p = b.predicate();
        r["detail"] = {{"bundle_id", p.value("bundle_id", "")},
                       {"sha256", b.sha256},
                       {"kit", p["kit"].value("id", "")},
                       {"sequence", p["kit"].value("sequence", 0)},
                       {"host", p["host"].value("hostname", "")},
                       {"present", p["findings"].value("present", json::array())},
                       {"signers", b.signers}};
        return r;
    }
    if (ends_with(path, ".toml")) {
        r["kind"] = "manifest";
        auto ms = audit::manifest::load_manifests(path);
        auto sig = audit::trust::verify_manifest(trust, ms.at(0), false);
        r["detail"] = {{"id", ms[0].id}, {"version", ms[0].version}, {"signers", sig.signers}};
        return r;
    }
    std::string text = read_small(path, 64u << 20);
    auto env = audit::crypto::Envelope::parse(text);
    if (env.payload_type == audit::trust::kCertificatePayloadType) {
        r["kind"] = "collector-certificate";
        auto c = audit::trust::verify_certificate(trust, text);
        r["detail"] = {{"kit", c.kit_id},
                       {"collector", c.collector.keyid},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after},
                       {"issuer_role", c.issuer_role}};
        return r;
    }
    if (env.payload_type == audit::trust::kPayloadType) {
        r["kind"] = "trust-root";
        auto t = audit::trust::TrustRoot::verify(text);
        r["detail"] = {{"version", t.version}, {"expires", t.expires}};
        return r;
    }
    r["kind"] = "attestation";
    auto st = audit::attest::verify_attestation(env, trust);
    r["statement"] = st;
    const auto& res = st["predicate"]["result"];
    r["detail"] = {{"host", res.value("hostname", "")},
                   {"product", res.value("product", "")},
                   {"status", res.value("status", "")},
                   {"reasons", res.value("reasons", json::array())}};
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-verify", [&] {
        audit::cli::Args args(
            argc, argv, "audit-verify", "--trust TRUST FILE... [--json]",
            {{"trust", "FILE", "trust root (trust.json)"},
             audit::cli::state_option(),
             {"json", "", "print one JSON document on stdout"}},
            "Verifies evidence bundles (*.evidence.tar.zst), removal attestations\n"
            "(*.dsse.json), collector certificates, signed manifests (*.toml with\n"
            "their .dsse.json) and trust roots. Given bundles and attestations\n"
            "together, every attestation's evidence must be among those bundles.\n"
            "Exit 0 when all are valid, 3 otherwise.");
        if (args.positional().empty()) throw audit::UsageError("no files to verify (see --help)");
        auto trust = audit::cli::load_trust(args, "audit-verify", "", args.has("json"));
        json results = json::array();
        audit::Exit worst = audit::Exit::clean;
        // Bundles first, so that attestations can be checked against the bundles given with them.
        std::vector<std::string> paths = args.positional();
        std::stable_partition(paths.begin(), paths.end(), [](const std::string& p) {
            return ends_with(p, ".tar.zst") || ends_with(p, ".tar");
        });
        std::map<std::string, std::string> bundles;  // sha256 -> bundle id
        for (const auto& path : paths) {
            json r;
            try {
                r = verify_one(path, trust);
                if (r["kind"] == "bundle")
                    bundles[r["detail"]["sha256"]] = r["detail"]["bundle_id"];
                if (r["kind"] == "attestation" && !bundles.empty()) {
                    audit::attest::check_evidence(r["statement"], bundles);
                    r["detail"]["evidence_checked"] = true;
                }
                r.erase("statement");
                r["valid"] = true;
            } catch (const audit::Error& e) {
                r = {{"file", path}, {"valid", false}, {"error", e.what()}};
                audit::Exit code =
                    e.exit() == audit::Exit::io ? audit::Exit::io : audit::Exit::verification;
                if (static_cast<int>(code) < static_cast<int>(worst) || worst == audit::Exit::clean)
                    worst = code;  // verification failures (3) outrank I/O errors (4)
            }
            results.push_back(r);
        }
        if (args.has("json")) {
            std::cout << json{{"valid", worst == audit::Exit::clean}, {"results", results}}.dump(2)
                      << "\n";
        } else {
            for (const auto& r : results) {
                if (!r["valid"].get<bool>()) {
                    std::cout << "INVALID  " << r["file"].get<std::string>() << ": "
                              << r["error"].get<std::string>() << "\n";
                    continue;
                }
                std::cout << "OK       " << r["file"].get<std::string>() << " ("
                          << r["kind"].get<std::string>();
                const auto& d = r["detail"];
                if (r["kind"] == "bundle")
                    std::cout << " " << d["bundle_id"].get<std::string>() << ", kit "
                              << d["kit"].get<std::string>() << " #" << d["sequence"]
                              << ", present " << d["present"].dump();
                else if (r["kind"] == "manifest")
                    std::cout << " " << d["id"].get<std::string>() << " "
                              << d["version"].get<std::string>() << ", signed";
                else if (r["kind"] == "collector-certificate")
                    std::cout << " for kit " << d["kit"].get<std::string>() << ", "
                              << d["not_before"].get<std::string>() << " .. "
                              << d["not_after"].get<std::string>();
                else if (r["kind"] == "attestation")
                    std::cout << " " << d["host"].get<std::string>() << " "
                              << d["product"].get<std::string>() << ": "
                              << d["status"].get<std::string>();
                else
                    std::cout << " version " << d["version"] << ", expires "
                              << d["expires"].get<std::string>();
                std::cout << ")\n";
            }
        }
        return static_cast<int>(worst);
    });
}
