// audit-kit: lay out, seal and image a removable-media kit; check a kit (and its evidence).
#include <iostream>

#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/kit/kit_manifest.h"
#include "audit/kit/lms_seal.h"
#include "kit_tool.h"

namespace audit::kit_tool {

// A certificate, public key or state file named on the command line (was silently cut at 4 MiB).
std::string read_text(const std::string& path) {
    constexpr std::size_t kMax = 4u << 20;
    std::string data = audit::read_input_file(path, kMax, "input file");
    if (data.size() > kMax) throw UsageError(path + ": larger than 4 MiB");
    return data;
}

std::uint64_t number(const cli::Args& args, const std::string& name, std::uint64_t dflt) {
    if (!args.has(name)) return dflt;
    try {
        std::size_t used = 0;
        auto v = std::stoull(args.get(name), &used);
        if (used != args.get(name).size()) throw std::invalid_argument("trailing");
        return v;
    } catch (const std::exception&) {
        throw UsageError("--" + name + " needs a number");
    }
}

std::optional<std::string> kit_state_path(const cli::Args& args) {
    std::string p = args.get("kit-state");
    if (p == "none") return std::nullopt;
    return p.empty() ? kit::default_kit_state_path() : p;
}

cli::Option kit_state_option() {
    return {"kit-state", "FILE", "highest kit version seen per kit (rollback); \"none\": off"};
}

// ---- lms-keygen -----------------------------------------------------------------------------

int lms_keygen(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-kit lms-keygen", "--out FILE [--params P]",
        {{"out", "FILE", "new HSS/LMS private key file (FILE.pub.json: its public key)"},
         {"params", "P",
          "Botan HSS/LMS parameters, one level (default SHA-256,HW(10,4): 1024 seals)"},
         {"json", "", "print one JSON document on stdout"}},
        "Creates a stateful hash-based seal key. Each seal uses one index; the key file is\n"
        "advanced and fsynced before a signature is made, so never restore it from a backup.");
    cli::check_kit(args, kTool);
    const auto pub = kit::lms_generate(args.required("out"),
                                       args.get("params", std::string(kit::kDefaultLmsParams)));
    if (args.has("json"))
        cli::print_json({{"keyid", pub.keyid}, {"params", pub.params}});
    else
        std::cout << "HSS/LMS key " << pub.keyid << " (" << pub.params << ")\n";
    return 0;
}

}  // namespace audit::kit_tool

int main(int argc, char** argv) {
    return audit::cli::run(audit::kit_tool::kTool, argc, argv, [&] {
        const std::string cmd = argc > 1 ? argv[1] : "";
        if (cmd == "build") return audit::kit_tool::build(argc - 1, argv + 1);
        if (cmd == "check") return audit::kit_tool::check(argc - 1, argv + 1);
        if (cmd == "lms-keygen") return audit::kit_tool::lms_keygen(argc - 1, argv + 1);
        audit::cli::Args args(argc, argv, audit::kit_tool::kTool,
                              "build|check|lms-keygen [options] (see COMMAND --help)", {},
                              "build       lay out and seal a kit (and images)\n"
                              "check       verify a kit and the evidence on it\n"
                              "lms-keygen  create an HSS/LMS seal key");
        audit::cli::check_kit(args, audit::kit_tool::kTool);
        throw audit::UsageError(cmd.empty() ? "give a command: build, check or lms-keygen"
                                            : "unknown command '" + cmd + "'");
    });
}
