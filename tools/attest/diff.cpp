// audit-attest diff: what changed on a host between two bundles.
#include <cstring>

#include "audit/attest/diff.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"

#include "attest_tool.h"

namespace audit::attest_tool {

int diff_cmd(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-attest diff", "--trust TRUST BUNDLE_A BUNDLE_B [--json]",
        {{"trust", "FILE", "trust root (trust.json)"},
         cli::state_option(),
         {"json", "", "print the whole comparison on stdout"}},
        "Verifies both bundles and says what changed from A to B in hashdeep's audit terms:\n"
        "matched (same path and content), moved (A's content under another path), new,\n"
        "missing (A's content nowhere in B), changed (same path, other content); directories\n"
        "are left out. Then software items added, removed or changed, and products present.\n"
        "Exit 0 when nothing changed, 1 when something did, 3 when a bundle fails verification.");
    cli::check_kit(args, "audit-attest");
    if (args.positional().size() != 2) throw UsageError("diff takes two bundles (see --help)");
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    auto a = evidence::read_bundle(args.positional()[0], trust, true);
    auto b = evidence::read_bundle(args.positional()[1], trust, true);
    auto d = attest::diff_bundles(a, b);
    if (args.has("json")) {
        cli::print_json(d.to_json());
    } else {
        if (!d.same_host())
            std::cout << "warning   the bundles are of different hosts: " << d.host_a << " / "
                      << d.host_b << "\n";
        auto files = [](const char* what, const std::vector<attest::FileChange>& v) {
            for (const auto& c : v)
                std::cout << what << std::string(10 - std::strlen(what), ' ') << c.path
                          << (c.from_path.empty() ? "" : "  (from " + c.from_path + ")") << "\n";
        };
        files("moved", d.moved);
        files("new", d.added);
        files("missing", d.missing);
        files("changed", d.changed);
        for (const auto& i : d.items_added)
            std::cout << "+ item    " << i.ecosystem << " " << i.name << " " << i.version_b << "\n";
        for (const auto& i : d.items_removed)
            std::cout << "- item    " << i.ecosystem << " " << i.name << " " << i.version_a << "\n";
        for (const auto& i : d.items_changed)
            std::cout << "~ item    " << i.ecosystem << " " << i.name << " " << i.version_a << " ("
                      << i.state_a << ") -> " << i.version_b << " (" << i.state_b << ")\n";
        json c = d.to_json()["counts"];
        std::cout << "summary   matched " << c["matched"] << ", moved " << c["moved"] << ", new "
                  << c["new"] << ", missing " << c["missing"] << ", changed " << c["changed"]
                  << "; items +" << c["items_added"] << " -" << c["items_removed"] << " ~"
                  << c["items_changed"] << "\n";
    }
    return static_cast<int>(d.empty() ? Exit::clean : Exit::attention);
}

}  // namespace audit::attest_tool
