// audit-attest export: turns a verified bundle's files.jsonl into lists that sha256sum -c and
// hashdeep -a audit a tree against, names given exactly (path_hex for names that are not UTF-8).
#include "attest_tool.h"

#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/core/hex.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/predicate.h"
#include "cli.h"

namespace audit::attest_tool {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The exact bytes of a record's path: path_hex when the name is not UTF-8.
std::string exact_path(const json& rec) {
    const std::string hex = str(rec, "path_hex");
    if (hex.empty()) return str(rec, "path");
    if (hex.size() % 2) throw VerifyError("files.jsonl: path_hex of odd length");
    auto bytes = core::hex_decode(hex);
    if (!bytes) throw VerifyError("files.jsonl: path_hex is not hex");
    return *bytes;
}

// A sha256sum line: names with a backslash or a newline are escaped and the line starts with
// '\' (GNU coreutils' format, which `sha256sum -c` reads back).
std::string sha256sum_line(const std::string& digest, const std::string& name) {
    if (name.find_first_of("\\\n\r") == std::string::npos) return digest + "  " + name + "\n";
    std::string escaped;
    for (char c : name) {
        if (c == '\\')
            escaped += "\\\\";
        else if (c == '\n')
            escaped += "\\n";
        else if (c == '\r')
            escaped += "\\r";
        else
            escaped += c;
    }
    return "\\" + digest + "  " + escaped + "\n";
}

}  // namespace

int export_cmd(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-attest export",
        "--trust TRUST --format sha256sum|hashdeep [--prefix P] BUNDLE",
        {{"trust", "FILE", "trust root (trust.json)"},
         cli::state_option(),
         {"format", "F", "sha256sum (for sha256sum -c) or hashdeep (for hashdeep -a -k)"},
         {"prefix", "P", "put P before every root-relative name (default none: 'opt/x')"}},
        "Verifies the bundle, then prints the SHA-256 of every regular file it hashed as a list\n"
        "that the standard tools audit a tree against, with names relative to the scanned root\n"
        "(exact bytes, also for names that are not UTF-8):\n"
        "  cd ROOT && sha256sum -c LIST\n"
        "  cd ROOT && hashdeep -c sha256 -l -r -a -k LIST TOP-LEVEL-ENTRIES...\n"
        "Files recorded as unstable (changed while hashed) are left out, and so, for hashdeep,\n"
        "are names with a newline (its format has none); each is counted on stderr.\n"
        "Exit 0 when the list is complete, 1 when files were left out, 3 when the bundle fails\n"
        "verification.");
    audit::cli::check_kit(args, "audit-attest");
    const std::string format = args.required("format");
    if (format != "sha256sum" && format != "hashdeep")
        throw UsageError("--format wants sha256sum or hashdeep, not '" + format + "'");
    if (args.positional().size() != 1) throw UsageError("export takes one bundle (see --help)");
    auto trust = cli::load_trust(args, "audit-attest", "", true);
    const auto bundle = evidence::read_bundle(args.positional()[0], trust, true);
    auto it = bundle.files.find("files.jsonl");
    if (it == bundle.files.end())
        throw UsageError(bundle.path + ": files.jsonl was too large to keep in memory");
    const std::string prefix = args.get("prefix");
    std::string out;
    if (format == "hashdeep")
        out = "%%%% HASHDEEP-1.0\n%%%% size,sha256,filename\n## audit-attest export of " +
              evidence::Predicate::from_json(bundle.predicate(), bundle.format).bundle_id +
              "\n## \n";
    std::size_t unstable = 0, unlisted = 0;
    const std::string& text = it->second;
    for (std::size_t start = 0, line = 1; start < text.size(); ++line) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const json rec =
            json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                        text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
        start = end + 1;
        if (rec.is_discarded() || !rec.is_object())
            throw VerifyError("files.jsonl line " + std::to_string(line) + " is not a JSON object");
        const std::string digest = str(rec, "sha256");
        if (str(rec, "type") != "file" || digest.empty()) continue;
        if (!core::is_lower_hex(digest, 64))
            throw VerifyError("files.jsonl line " + std::to_string(line) + ": bad sha256");
        if (rec.value("unstable", false)) {
            ++unstable;
            continue;
        }
        std::string name = exact_path(rec);
        if (name.empty() || name[0] != '/')
            throw VerifyError("files.jsonl line " + std::to_string(line) +
                              ": path not root-relative");
        name = prefix + name.substr(1);
        if (format == "sha256sum") {
            out += sha256sum_line(digest, name);
        } else if (name.find_first_of("\n\r") != std::string::npos) {
            ++unlisted;
        } else {
            const auto size = rec.value("size", std::uint64_t{0});
            out += std::to_string(size) + "," + digest + "," + name + "\n";
        }
    }
    std::cout << out << std::flush;
    if (unstable)
        std::cerr << "audit-attest: " << unstable
                  << " file(s) left out: recorded as unstable (changed while hashed)\n";
    if (unlisted)
        std::cerr << "audit-attest: " << unlisted
                  << " file(s) left out: names with a newline have no hashdeep form\n";
    return static_cast<int>(unstable || unlisted ? Exit::attention : Exit::clean);
}

}  // namespace audit::attest_tool
