#include "status.h"

#include <algorithm>

#include "acl_sessions.h"
#include "lio_paths.h"
#include "lio_read.h"
#include "sysfs.h"
#include "text.h"

namespace iscsi_target {

namespace {

uint64_t read_number(const ConfigFs& fs, const std::string& rel) {
  auto text = fs.read(rel);
  if (!text) return 0;
  try {
    return std::stoull(*text);
  } catch (const std::exception&) {
    return 0;
  }
}

uint64_t device_size(const SystemRoots& roots, const std::string& dev) {
  const auto devno = sysfs::by_device_path(roots, dev);
  return devno ? sysfs::size_bytes(roots, *devno) : 0;
}

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  return fixed_point(value, value < 10 && unit > 0 ? 2 : 0) + " " + units[unit];
}

// Backstore read-only, or mapped by at least one ACL and write-protected in every mapping.
bool lun_read_only(const Tpg& tpg, const Lun& lun, const StorageObject* so) {
  if (so && so->readonly) return true;
  bool mapped = false;
  for (const auto& acl : tpg.node_acls)
    for (const auto& m : acl.mapped_luns)
      if (m.tpg_lun == lun.index) {
        if (!m.write_protect) return false;
        mapped = true;
      }
  return mapped;
}

}  // namespace

std::string initiator_address_from_info(const std::string& info) {
  const auto addresses = parse_acl_info_addresses(info);
  return addresses.empty() ? "" : addresses.front();
}

std::vector<TargetStatus> read_status(const ConfigFs& fs, const SystemRoots& roots) {
  const LioConfig config = read_lio_config(fs, /*with_secrets=*/false);
  std::vector<TargetStatus> out;
  for (const auto& target : config.targets) {
    for (const auto& tpg : target.tpgs) {
      const lio_paths::TpgDir tdir = lio_paths::tpg(target.wwn, tpg.tag);
      TargetStatus status;
      status.iqn = target.wwn;
      status.enabled = tpg.enable;
      for (const auto& portal : tpg.portals) status.portals.push_back(portal.configfs_name());
      status.authentication = "none";
      for (const auto& lun : tpg.luns) {
        LunStatus ls;
        ls.index = lun.index;
        ls.backstore = lun.storage_object;
        const StorageObject* backstore = nullptr;
        for (const auto& so : config.storage_objects)
          if (so.saveconfig_path() == lun.storage_object) backstore = &so, ls.device = so.dev, ls.serial = so.wwn;
        ls.read_only = lun_read_only(tpg, lun, backstore);
        ls.size_bytes = device_size(roots, ls.device);
        const lio_paths::LunDir ldir = tdir.lun(lun.index);
        ls.commands = read_number(fs, ldir.in_cmds());
        ls.read_mbytes = read_number(fs, ldir.read_mbytes());
        ls.write_mbytes = read_number(fs, ldir.write_mbytes());
        status.luns.push_back(ls);
      }
      for (const auto& acl : tpg.node_acls) {
        if (!acl.chap_userid.empty() && tpg.attributes.count("authentication") && tpg.attributes.at("authentication") == "1")
          status.authentication = acl.chap_mutual_userid.empty() ? "chap" : "mutual-chap";
        const std::string info = fs.read(tdir.acl(acl.node_wwn).info()).value_or("");
        const bool logged_in = !info.empty() && info.find("No active") == std::string::npos;
        status.initiators.push_back({acl.node_wwn, logged_in, logged_in ? initiator_address_from_info(info) : ""});
      }
      status.read_only = !status.luns.empty() &&
                         std::all_of(status.luns.begin(), status.luns.end(), [](const LunStatus& l) { return l.read_only; });
      out.push_back(std::move(status));
    }
  }
  return out;
}

nlohmann::json status_to_json(const std::vector<TargetStatus>& targets) {
  nlohmann::json out{{"targets", nlohmann::json::array()}};
  for (const auto& t : targets) {
    nlohmann::json j{{"iqn", t.iqn}, {"enabled", t.enabled}, {"read_only", t.read_only}, {"authentication", t.authentication},
                     {"portals", t.portals}, {"luns", nlohmann::json::array()}, {"initiators", nlohmann::json::array()}};
    for (const auto& l : t.luns)
      j["luns"].push_back({{"lun", l.index}, {"backstore", l.backstore}, {"device", l.device}, {"size_bytes", l.size_bytes},
                           {"serial", l.serial}, {"commands", l.commands}, {"read_mbytes", l.read_mbytes},
                           {"write_mbytes", l.write_mbytes}, {"read_only", l.read_only}});
    for (const auto& i : t.initiators)
      j["initiators"].push_back({{"iqn", i.iqn}, {"logged_in", i.logged_in},
                                 {"address", i.address.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.address)}});
    out["targets"].push_back(j);
  }
  return out;
}

std::string status_to_text(const std::vector<TargetStatus>& targets) {
  using std::to_string;
  std::string out;
  if (targets.empty()) out += "No iSCSI target is configured.\n";
  for (const auto& t : targets) {
    out += "Target " + t.iqn + (t.enabled ? "" : " (disabled)") + "\n";
    if (t.read_only) out += "  read-only export: LIO refuses every write (DATA PROTECT), the disks stay unchanged\n";
    for (const auto& p : t.portals) out += "  portal  " + p + "\n";
    out += "  auth    " + t.authentication + "\n";
    for (const auto& l : t.luns)
      out += "  LUN " + to_string(l.index) + "   " + l.device + "  " + human_size(l.size_bytes) + "  serial " + l.serial +
             "  (" + to_string(l.commands) + " cmds, " + to_string(l.read_mbytes) + " MiB read, " +
             to_string(l.write_mbytes) + " MiB written)" + (l.read_only ? "  read-only" : "") + "\n";
    for (const auto& i : t.initiators)
      out += "  initiator " + i.iqn +
             (i.logged_in ? "  [logged in" + (i.address.empty() ? "" : " from " + i.address) + "]" : "  [not logged in]") +
             "\n";
  }
  return out;
}

}  // namespace iscsi_target
