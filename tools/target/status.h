// What LIO is exporting right now, read from configfs: for `iscsi-target status [--json]`. Never holds secrets.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "configfs.h"
#include "system_roots.h"

namespace iscsi_target {

struct LunStatus {
  unsigned index = 0;
  std::string backstore, device, serial;
  uint64_t size_bytes = 0;
  uint64_t commands = 0, read_mbytes = 0, write_mbytes = 0;
  // LIO refuses writes: the backstore is read-only, or every initiator's mapping of the LUN is write-protected.
  bool read_only = false;
};

struct InitiatorStatus {
  std::string iqn;
  bool logged_in = false;
  std::string address;  // of its first connection while logged in, from the ACL's info; empty if unknown
};

struct TargetStatus {
  std::string iqn;
  bool enabled = false;
  std::string authentication;  // "none", "chap" or "mutual-chap"
  std::vector<std::string> portals;
  std::vector<LunStatus> luns;
  std::vector<InitiatorStatus> initiators;
  bool read_only = false;  // every LUN read_only (and at least one LUN): a read-only export
};

// The address of an ACL info text's first connection ("   Address 10.0.2.2 TCP  StatSN: ..."), or "".
std::string initiator_address_from_info(const std::string& info);

std::vector<TargetStatus> read_status(const ConfigFs& fs, const SystemRoots& roots = {});
nlohmann::json status_to_json(const std::vector<TargetStatus>& targets);
std::string status_to_text(const std::vector<TargetStatus>& targets);

}  // namespace iscsi_target
