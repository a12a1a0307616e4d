// LIO's configuration as plain data, shaped like targetcli's saveconfig.json so one model serves
// start (apply), stop (teardown), status and save/restore (dump and apply).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "portal.h"

namespace iscsi_target {

using AttributeMap = std::map<std::string, std::string>;

struct StorageObject {
  std::string name;
  std::string plugin = "block";  // saveconfig's name: "block" (configfs iblock_N) or "fileio"
  std::string dev;               // block device, or backing file for fileio
  std::string wwn;               // VPD unit serial (page 0x80, and the NAA id of page 0x83)
  bool readonly = false;
  bool write_back = false;  // fileio only
  uint64_t size = 0;        // fileio only; bytes
  AttributeMap attributes;

  std::string saveconfig_path() const { return "/backstores/" + plugin + "/" + name; }
};

struct Lun {
  unsigned index = 0;
  std::string storage_object;  // "/backstores/block/NAME"
  std::string alias;
};

struct MappedLun {
  unsigned index = 0;
  unsigned tpg_lun = 0;
  bool write_protect = false;
};

struct NodeAcl {
  std::string node_wwn;
  AttributeMap attributes;
  std::vector<MappedLun> mapped_luns;
  std::string chap_userid, chap_password, chap_mutual_userid, chap_mutual_password;
};

struct Tpg {
  unsigned tag = 1;
  bool enable = true;
  AttributeMap attributes;
  AttributeMap parameters;
  std::vector<Lun> luns;
  std::vector<Portal> portals;
  std::vector<NodeAcl> node_acls;
};

struct Target {
  std::string wwn;
  std::string fabric = "iscsi";
  std::vector<Tpg> tpgs;
};

struct LioConfig {
  std::vector<StorageObject> storage_objects;
  std::vector<Target> targets;
};

}  // namespace iscsi_target
