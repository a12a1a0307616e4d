// targetcli/rtslib's saveconfig.json (/etc/target/saveconfig.json) <-> LioConfig.
// Key names follow what rtslib's code writes, not its man page.
#pragma once

#include <nlohmann/json.hpp>

#include "lio_model.h"

namespace iscsi_target {

nlohmann::json saveconfig_from_lio(const LioConfig& config);
// Throws Error naming the JSON path of a missing or mistyped field.
LioConfig lio_from_saveconfig(const nlohmann::json& json);

}  // namespace iscsi_target
