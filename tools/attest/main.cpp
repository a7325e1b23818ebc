// audit-attest: verify bundles, merge them per host and product, write signed attestations
// and the report.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "audit/attest/attest.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace {

using nlohmann::json;

void make_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw audit::IoError("cannot create " + dir + ": " + std::strerror(errno));
}

std::string file_label(const std::string& s) {
    std::string out;
    for (char c : s)
        out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_');
    return out.substr(0, 96);
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-attest", [&] {
        audit::cli::Args args(
            argc, argv, "audit-attest", "--trust TRUST --key KEY --out OUTDIR BUNDLE... [--json]",
            {{"trust", "FILE", "trust root (trust.json)"},
             {"key", "FILE", "inspector signing key"},
             {"out", "DIR", "where report.json and attestations/ are written"},
             {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
             audit::cli::state_option(),
             {"json", "", "print the report on stdout"}},
            "Verifies every bundle, merges them per host and product into removed, absent,\n"
            "present or inconclusive (with reasons), writes OUTDIR/report.json and one signed\n"
            "attestation per host and product in OUTDIR/attestations/. Exit 0 when every status\n"
            "is removed or absent, 1 otherwise, 3 when a bundle fails verification.");
        if (args.positional().empty()) throw audit::UsageError("no bundles given (see --help)");
        auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
        std::string key_path = args.required("key");
        std::string out = args.required("out");
        std::optional<std::string> pass;
        if (audit::crypto::SigningKey::is_encrypted(key_path))
            pass = audit::cli::passphrase(args, "passphrase for " + key_path, false);
        auto key = audit::crypto::SigningKey::load(key_path, pass);
        auto role = trust.roles.find("inspector");
        if (role == trust.roles.end() ||
            std::find(role->second.keyids.begin(), role->second.keyids.end(), key.identity().keyid) ==
                role->second.keyids.end())
            throw audit::VerifyError("key " + key_path + " is not an inspector key of the trust root");

        std::vector<audit::attest::BundleSummary> summaries;
        json rejected = json::array();
        for (const auto& path : args.positional()) {
            try {
                auto b = audit::evidence::read_bundle(path, trust, true);
                summaries.push_back(audit::attest::summarize(b));
            } catch (const audit::Error& e) {
                rejected.push_back({{"file", path}, {"reason", e.what()}});
                std::cerr << "audit-attest: rejected " << path << ": " << e.what() << "\n";
            }
        }
        auto statuses = audit::attest::merge(summaries);
        std::string now = audit::trust::utc_now();

        make_dir(out);
        make_dir(out + "/attestations");
        json results = json::array();
        std::map<std::string, int> counts;
        bool all_clear = true;
        for (const auto& st : statuses) {
            auto env = audit::attest::attestation(st, key, now);
            std::string name = file_label(st.hostname.empty() ? st.host_key : st.hostname) + "_" +
                               file_label(st.host_key.substr(st.host_key.find(':') + 1, 12)) + "_" +
                               file_label(st.product) + ".dsse.json";
            audit::evidence::write_file_atomic(out + "/attestations/" + name, env.to_json() + "\n");
            json r = st.to_json();
            r["attestation"] = "attestations/" + name;
            results.push_back(r);
            counts[audit::attest::to_string(st.status)]++;
            if (st.status != audit::attest::Status::removed && st.status != audit::attest::Status::absent)
                all_clear = false;
        }
        json bundles = json::array();
        for (const auto& s : summaries)
            bundles.push_back({{"file", s.path}, {"bundle_id", s.bundle_id}, {"sha256", s.sha256},
                               {"kit", s.kit_id}, {"sequence", s.sequence}});
        json report = {{"generated", now},
                       {"trust_root", {{"version", trust.version}, {"sha256", trust.sha256}}},
                       {"inspector_keyid", key.identity().keyid},
                       {"counts", counts},
                       {"results", results},
                       {"bundles", bundles},
                       {"rejected", rejected}};
        audit::evidence::write_file_atomic(out + "/report.json", report.dump(2) + "\n");

        if (args.has("json")) {
            std::cout << report.dump(2) << "\n";
        } else {
            for (const auto& r : results) {
                std::cout << r["status"].get<std::string>();
                std::cout << std::string(14 - std::min<std::size_t>(13, r["status"].get<std::string>().size()), ' ')
                          << r["hostname"].get<std::string>() << "  " << r["product"].get<std::string>();
                if (!r["reasons"].empty()) std::cout << "  reasons: " << r["reasons"].dump();
                if (!r["residue"].empty()) std::cout << "  (residue left: " << r["residue"].size() << " finding(s))";
                std::cout << "\n";
            }
            std::cout << "report    " << out << "/report.json (" << results.size() << " host x product, "
                      << rejected.size() << " bundle(s) rejected)\n";
        }
        if (!rejected.empty()) return static_cast<int>(audit::Exit::verification);
        return static_cast<int>(all_clear ? audit::Exit::clean : audit::Exit::attention);
    });
}
