// Which computers are logged in right now, read from each ACL's `info` file in LIO's configfs, and where
// the targets listen.
#pragma once

#include <string>
#include <vector>

#include "configfs.h"

namespace iscsi_target {

struct AclSession {
  std::string target_iqn, initiator_iqn;
  std::string peer_address;  // as LIO prints it: "10.77.0.2" or "fe80::1"; empty if LIO names none
};

// The peer addresses of one ACL's `info` text; empty when it says "No active iSCSI Session".
// LIO prints one "   Address A TCP  StatSN: …" line per connection of the session.
std::vector<std::string> parse_acl_info_addresses(const std::string& info);

// Every logged-in session of every iSCSI target's ACLs, in configfs order.
std::vector<AclSession> read_acl_sessions(const ConfigFs& fs);

// The network portals ("0.0.0.0:3260") of every iSCSI target, each once.
std::vector<std::string> read_portal_names(const ConfigFs& fs);

}  // namespace iscsi_target
