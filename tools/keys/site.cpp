// audit-keys certify-site: the root delegates site summaries to one site inspector key.
#include <iostream>

#include "audit/error.h"
#include "audit/trust/site_certificate.h"
#include "keys_tool.h"

namespace audit::keys_tool {

int cmd_certify_site(const cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    const auto issuer = cli::load_key(args, args.required("key"));
    const auto site_key = public_identity(args, args.required("site-key"));
    const std::string site = args.required("site");
    const std::string not_before = args.get("not-before", trust::utc_in(-300));
    std::string not_after = args.get("not-after");
    if (not_after.empty()) {
        not_after = trust::utc_in(static_cast<long long>(parse_days(args, "365")) * 86400);
        if (not_after > root.expires) not_after = root.expires;
    }
    const std::string cert =
        trust::issue_site_certificate(root, issuer, site_key, site, not_before, not_after);
    const std::string out = args.required("out");
    crypto::write_new_file(out, cert, 0644);
    if (args.has("json"))
        cli::print_json({{"certificate", out},
                         {"site", site},
                         {"site_key", identity_json(site_key)},
                         {"not_before", not_before},
                         {"not_after", not_after}});
    else
        std::cout << "certified site key " << site_key.fingerprint() << "\n  for site " << site
                  << " from " << not_before << " to " << not_after << "\n  written to " << out
                  << "\n";
    return 0;
}

}  // namespace audit::keys_tool
