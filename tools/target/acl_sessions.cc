#include "acl_sessions.h"

#include <algorithm>

#include "lio_read.h"
#include "text.h"

namespace iscsi_target {

std::vector<std::string> parse_acl_info_addresses(const std::string& info) {
  std::vector<std::string> out;
  for (std::string_view line : lines_of(info)) {
    const auto words = split_fields(line, whitespace);
    if (words.size() >= 2 && words[0] == "Address") out.emplace_back(words[1]);
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
