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
};

struct InitiatorStatus {
  std::string iqn;
  bool logged_in = false;
};

struct TargetStatus {
  std::string iqn;
  bool enabled = false;
  std::string authentication;  // "none", "chap" or "mutual-chap"
  std::vector<std::string> portals;
  std::vector<LunStatus> luns;
  std::vector<InitiatorStatus> initiators;
};

std::vector<TargetStatus> read_status(const ConfigFs& fs, const SystemRoots& roots = {});
nlohmann::json status_to_json(const std::vector<TargetStatus>& targets);
std::string status_to_text(const std::vector<TargetStatus>& targets);

}  // namespace iscsi_target
