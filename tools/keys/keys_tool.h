// audit-keys' pieces (tools/keys/*.cpp): the subcommands and what they share.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace audit::keys_tool {

// authority.cpp
int cmd_init(const cli::Args& args);
int cmd_show(const cli::Args& args);
int cmd_generate(const cli::Args& args);
int cmd_certify(const cli::Args& args);
// site.cpp
int cmd_certify_site(const cli::Args& args);
// root.cpp
int cmd_rotate_root(const cli::Args& args);
int cmd_revoke(const cli::Args& args);
int cmd_sign_manifest(const cli::Args& args, const std::vector<std::string>& files);

// --days N (1 .. 36500), fallback when absent.
int parse_days(const cli::Args& args, const std::string& fallback);
// A file named on the command line (at most 1 MiB).
std::string read_text(const std::string& path);
// A public identity from a .pub.json file, or from a private key file.
crypto::PublicIdentity public_identity(const cli::Args& args, const std::string& path);

// view.cpp: what a trust root holds, as JSON and for people.
nlohmann::json identity_json(const crypto::PublicIdentity& id);
std::string schemes_of(const crypto::PublicIdentity& id);
nlohmann::json root_json(const trust::TrustRoot& root);
void print_root(const trust::TrustRoot& root);

}  // namespace audit::keys_tool
