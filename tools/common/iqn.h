// iSCSI names (RFC 3720 §3.2.6): iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16|32 hex>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iscsi_target {

// Returns why the name is not a valid iSCSI name, or nullopt when it is.
std::optional<std::string> iscsi_name_problem(const std::string& name);

// The names used when none is configured, the same on both sides: the boot side names them in every entry,
// the target falls back to the same target name. From the first 12 characters of /etc/machine-id:
// "iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target" / "….initiator". With a shorter (missing)
// machine-id the id part is left out ("…:target"); the boot side refuses that case, the names would clash.
std::string default_target_iqn(std::string_view machine_id);
std::string default_initiator_iqn(std::string_view machine_id);

}  // namespace iscsi_target
