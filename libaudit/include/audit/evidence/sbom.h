// CycloneDX 1.5 JSON of a scan's inventory.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/host/identity.h"
#include "audit/inventory.h"

namespace audit::evidence {

nlohmann::json cyclonedx(const std::vector<InventoryItem>& inventory, const host::HostIdentity& host,
                         const std::string& bundle_id, const std::string& timestamp,
                         const std::string& tool_version);

}  // namespace audit::evidence
