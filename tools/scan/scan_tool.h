// audit-scan's pieces (tools/scan/*.cpp): what it prints (output.cpp) and loads (setup.cpp).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/evidence/kit_state.h"
#include "audit/kit/self_check.h"
#include "audit/scan/scan.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace audit::scan_tool {

// output.cpp
// Names from the host shown on a terminal: control characters as \xNN.
std::string safe_text(const std::string& s);
std::string progress_line(const scan::Progress& p);
void print_access(const scan::AccessReport& access);
void print_human(const scan::ScanResult& r);

// setup.cpp
// The collector certificate (UsageError naming --cert when it cannot be read).
std::string read_certificate(const std::string& path);
// KEY with .key -> .cert.json: where the collector key's certificate is by default.
std::string default_certificate_path(const std::string& key_path);
// Loads the manifests into opt.manifests, each file's bytes checked against its signature (and,
// from a kit, against the kit's sealed bytes) before the TOML parser sees them, then the key and
// certificate against the kit; records each manifest's signature in opt.manifest_signatures and
// warns on stderr about an unsigned one (--allow-unsigned-manifests).
void load_checked_manifests(scan::ScanOptions& opt, const cli::Args& args,
                            const std::string& manifests, const trust::TrustRoot& trust,
                            cli::KitCheck* kit_check, const std::string& key_path,
                            const std::string& cert_path);
// Started from a kit: the kit's own trust root, manifests, collector key and evidence area.
void kit_defaults(cli::Args& args, const std::string& kit);
// Opens and locks the sequence state of the collector key's chain (beside the
// key; on a kit the one its manifest names; in --out when the key's medium is read-only) into
// state, and points opt.chain_state at it; notes and warnings on stderr.
void open_chain_state(scan::ScanOptions& opt, const trust::TrustRoot& trust,
                      const std::string& key_path, const kit::SelfCheck* self, bool quiet,
                      std::optional<evidence::KitStateLock>& state);

}  // namespace audit::scan_tool
