// HostIdentity::stable_ids, apart from identity.cpp (which reads a root: fs::Root), so that the
// tools that only read bundles (audit-verify, also built for Windows) link without the walker.
#include <nlohmann/json.hpp>

#include "audit/host/identity.h"

namespace audit::host {

nlohmann::json HostIdentity::stable_ids() const {
    nlohmann::json j = nlohmann::json::object();
    auto put = [&](const char* key, const std::string& v) {
        if (!v.empty()) j[key] = v;
    };
    put("machine_id", machine_id);
    put("dmi_product_uuid", dmi_product_uuid);
    put("dmi_product_serial", dmi_product_serial);
    put("root_fs_uuid", root_fs_uuid);
    put("ssh_host_keys", ssh_host_keys);
    put("windows_machine_guid", windows_machine_guid);
    put("windows_machine_sid", windows_machine_sid);
    put("macos_hardware_uuid", macos_hardware_uuid);
    return j;
}

}  // namespace audit::host
