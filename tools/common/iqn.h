// iSCSI names (RFC 3720 §3.2.6): iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16|32 hex>.
#pragma once

#include <optional>
#include <string>

namespace iscsi_target {

// Returns why the name is not a valid iSCSI name, or nullopt when it is.
std::optional<std::string> iscsi_name_problem(const std::string& name);

}  // namespace iscsi_target
