// Reading LIO's state back from configfs as a LioConfig: the mirror image of apply.
#pragma once

#include <string>

#include "configfs.h"
#include "lio_model.h"
#include "lio_paths.h"

namespace iscsi_target {

// Reads the current iSCSI targets and their block and fileio backstores. with_secrets=false leaves CHAP
// secrets out.
LioConfig read_lio_config(const ConfigFs& fs, bool with_secrets);

// Every portal group of every iSCSI target that configfs lists now, in listing order.
struct ListedTpg {
  std::string iqn;
  unsigned tag = 0;
  lio_paths::TpgDir dir;
};
std::vector<ListedTpg> list_tpgs(const ConfigFs& fs);

// "T10 VPD Unit Serial Number: abc\n" -> "abc".
std::string parse_vpd_unit_serial(const std::string& text);

}  // namespace iscsi_target
