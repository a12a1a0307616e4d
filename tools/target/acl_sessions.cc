#include "acl_sessions.h"

#include <algorithm>
#include <sstream>

#include "lio_read.h"

namespace iscsi_target {

std::vector<std::string> parse_acl_info_addresses(const std::string& info) {
  std::vector<std::string> out;
  std::istringstream lines(info);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string word, address;
    if (words >> word && word == "Address" && words >> address) out.push_back(address);
  }
  return out;
}

std::vector<AclSession> read_acl_sessions(const ConfigFs& fs) {
  std::vector<AclSession> out;
  for (const auto& tpg : list_tpgs(fs)) {
    for (const auto& initiator : fs.list(tpg.dir.acls_dir())) {
      const auto info = fs.read(tpg.dir.acl(initiator).info());
      if (!info) continue;
      for (const auto& address : parse_acl_info_addresses(*info)) out.push_back({tpg.iqn, initiator, address});
    }
  }
  return out;
}

std::vector<std::string> read_portal_names(const ConfigFs& fs) {
  std::vector<std::string> out;
  for (const auto& tpg : list_tpgs(fs))
    for (const auto& portal : fs.list(tpg.dir.np_dir()))
      if (std::find(out.begin(), out.end(), portal) == out.end()) out.push_back(portal);
  return out;
}

}  // namespace iscsi_target
