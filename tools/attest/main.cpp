// audit-attest: verify bundles, merge them per host and product, write signed attestations
// and the fleet report; keep a campaign's evidence in a ledger; compare two bundles.
#include <string>

#include "attest_tool.h"

using namespace audit::attest_tool;

int main(int argc, char** argv) {
    return audit::cli::run("audit-attest", argc, argv, [&] {
        std::string sub = argc > 1 ? argv[1] : "";
        // A subcommand parses the rest as its own command line (its name stands in for argv[0]).
        if (sub == "import") return import_cmd(argc - 1, argv + 1);
        if (sub == "report") return report_cmd(argc - 1, argv + 1);
        if (sub == "diff") return diff_cmd(argc - 1, argv + 1);
        if (sub == "report-diff") return report_diff_cmd(argc - 1, argv + 1);
        if (sub == "export") return export_cmd(argc - 1, argv + 1);
        if (sub == "site-summary") return site_summary_cmd(argc - 1, argv + 1);
        if (sub == "verify-summary") return verify_summary_cmd(argc - 1, argv + 1);
        if (sub == "rollup") return rollup_cmd(argc - 1, argv + 1);
        return attest_bundles(argc, argv);
    });
}
