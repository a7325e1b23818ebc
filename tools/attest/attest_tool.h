// audit-attest's pieces (tools/attest/*.cpp): the subcommands and what they share.
#pragma once

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/far.h"
#include "audit/attest/report.h"
#include "audit/attest/site.h"
#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace audit::attest_tool {

using nlohmann::json;

int attest_bundles(int argc, char** argv);      // attest.cpp: the first form
int import_cmd(int argc, char** argv);          // ledger.cpp
int report_cmd(int argc, char** argv);          // ledger.cpp
int diff_cmd(int argc, char** argv);            // diff.cpp
int report_diff_cmd(int argc, char** argv);     // report_diff.cpp
int export_cmd(int argc, char** argv);          // export.cpp
int site_summary_cmd(int argc, char** argv);    // site.cpp
int verify_summary_cmd(int argc, char** argv);  // site.cpp
int rollup_cmd(int argc, char** argv);          // rollup.cpp

// inputs.cpp
// What the command line names: bundles, and chain heads (*.chain-head.dsse.json); a directory
// stands for the bundles and chain heads in it.
struct Inputs {
    std::vector<std::string> bundles, heads;
};
Inputs collect_inputs(const std::vector<std::string>& args);
// The chain heads that come with the bundles: head files given on the command line, and those
// in every directory given or holding a given bundle.
std::vector<std::string> chain_head_paths(const std::vector<std::string>& args,
                                          const std::vector<std::string>& bundles);
// Bundle paths from the command line; a directory stands for the bundles in it.
std::vector<std::string> bundle_paths(const std::vector<std::string>& args);
// --key: an inspector key of the trust root (UsageError otherwise).
crypto::SigningKey inspector_key(const cli::Args& args, const trust::TrustRoot& trust);

// site.cpp: a site summary given on the command line (a directory holds site-summary.dsse.json
// and report.json), verified; report.json, when there, checked against it (need_report: must).
struct SummaryFiles {
    std::string summary, report;
};
SummaryFiles summary_files(const std::string& arg);
attest::RollupInput read_summary(const SummaryFiles& f, const trust::TrustRoot& trust,
                                 bool need_report);

// options.cpp
void print_results(const json& report, const std::string& out);
// The options of the report (attest_bundles and report).
extern const std::vector<cli::Option> kReportOptions;
// The agency outputs' options (removal plan, FAR 52.204-23 draft, title), read before any
// bundle is verified, so that a malformed date or holiday list fails fast.
attest::FarOptions far_options(const cli::Args& args);
// --campaign-start, --as-of and --mark as report options.
attest::ReportOptions report_options(const cli::Args& args, const std::string& out,
                                     const std::string& now);

// A one-line progress bar on stderr, redrawn at most ten times a second; only on a TTY.
class ProgressBar {
  public:
    explicit ProgressBar(std::string what) : what_(std::move(what)), on_(cli::stderr_is_tty()) {}
    ~ProgressBar() {
        if (on_ && drawn_) std::cerr << "\n";
    }
    void operator()(std::size_t done, std::size_t total) {
        if (!on_) return;
        auto now = std::chrono::steady_clock::now();
        if (done != total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        drawn_ = true;
        const std::size_t width = 30, fill = total ? done * width / total : width;
        std::cerr << "\r" << what_ << " [" << std::string(fill, '#')
                  << std::string(width - fill, ' ') << "] " << done << "/" << total << std::flush;
    }

    // Before a line of other output: the bar moves out of its way (drawn again on the next step).
    void interrupt() {
        if (on_ && drawn_) std::cerr << "\n";
        drawn_ = false;
    }

  private:
    std::string what_;
    bool on_, drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace audit::attest_tool
