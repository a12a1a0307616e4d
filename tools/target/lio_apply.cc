// Bring-up and teardown order follow rtslib-fb (root.py restore / clear_existing).
#include "lio_apply.h"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <vector>

#include "error.h"
#include "lio_paths.h"
#include "text.h"

namespace iscsi_target {

namespace {

// Restored attribute sets hold read-only and unchanged values too; configfs refuses writes to the former.
void write_attribute(ConfigFsTransaction& tx, const ConfigFs& fs, const std::string& rel, const std::string& value) {
  if (fs.exists(rel)) {
    if (auto current = fs.read(rel); current && trim(*current) == value) return;
    struct stat st {};
    if (::stat(fs.path(rel).c_str(), &st) == 0 && (st.st_mode & S_IWUSR) == 0) return;
  }
  tx.write(rel, value);
}

// The lowest index whose HBA directory does not exist yet; each backstore gets an HBA of its own, as with rtslib.
unsigned free_hba_index(const ConfigFs& fs, const std::string& prefix) {
  unsigned index = 0;
  while (fs.exists(lio_paths::hba(prefix, index))) ++index;
  return index;
}

// The HBA prefix of a backstore kind apply can configure (the control strings below are per kind).
std::string supported_hba_prefix(const StorageObject& so) {
  if (so.plugin != "block" && so.plugin != "fileio")
    throw Error("storage object " + so.name + ": unsupported plugin '" + so.plugin + "' (block and fileio are)");
  return *lio_paths::hba_prefix_for_plugin(so.plugin);
}

using StorageObjectDirs = std::map<std::string, lio_paths::StorageObjectDir>;  // saveconfig path -> configfs dir

const lio_paths::StorageObjectDir& storage_object_by_saveconfig_path(const std::string& path, const StorageObjectDirs& dirs) {
  auto found = dirs.find(path);
  if (found == dirs.end()) throw Error("LUN refers to unknown storage object " + path);
  return found->second;
}

void apply_storage_object(ConfigFsTransaction& tx, ConfigFs& fs, const StorageObject& so, const std::string& hba_dir,
                          const lio_paths::StorageObjectDir& dir) {
  tx.mkdir_if_missing(hba_dir);
  tx.mkdir(dir.dir);
  // enable=1 is where the kernel opens the device: a missing or busy device fails here, and the error names it.
  try {
    if (so.plugin == "block") {
      tx.write(dir.udev_path(), so.dev);
      tx.write(dir.control(), "udev_path=" + so.dev);
      tx.write(dir.control(), std::string("readonly=") + (so.readonly ? "1" : "0"));
    } else {
      tx.write(dir.udev_path(), so.dev);
      tx.write(dir.control(), "fd_dev_name=" + so.dev + ",fd_dev_size=" + std::to_string(so.size));
      if (so.write_back) tx.write(dir.control(), "fd_buffered_io=1");
    }
    tx.write(dir.enable(), "1");
  } catch (const Error& e) {
    throw Error("storage object " + so.saveconfig_path() + ": cannot use " + so.dev + " (" + e.what() + ")");
  }
  // LIO answers VPD pages 0x80/0x83 only once a serial is set, and refuses to change it after export.
  if (!so.wwn.empty()) tx.write(dir.vpd_unit_serial(), so.wwn);
  for (const auto& [name, value] : so.attributes) write_attribute(tx, fs, dir.attrib(name), value);
}

void apply_acl(ConfigFsTransaction& tx, ConfigFs& fs, const lio_paths::TpgDir& tpg, const NodeAcl& acl,
               const std::map<unsigned, std::string>& lun_links) {
  const lio_paths::AclDir dir = tpg.acl(acl.node_wwn);
  tx.mkdir(dir.dir);
  // CHAP values are exact bytes: a trailing newline makes every login fail (CHAP_N values do not match).
  if (!acl.chap_userid.empty()) tx.write(dir.auth_userid(), acl.chap_userid);
  if (!acl.chap_password.empty()) tx.write(dir.auth_password(), acl.chap_password);
  if (!acl.chap_mutual_userid.empty()) tx.write(dir.auth_userid_mutual(), acl.chap_mutual_userid);
  if (!acl.chap_mutual_password.empty()) tx.write(dir.auth_password_mutual(), acl.chap_mutual_password);
  for (const auto& [name, value] : acl.attributes) write_attribute(tx, fs, dir.attrib(name), value);
  for (const auto& mapped : acl.mapped_luns) {
    auto link = lun_links.find(mapped.tpg_lun);
    if (link == lun_links.end())
      throw Error("ACL " + acl.node_wwn + ": mapped LUN " + std::to_string(mapped.index) + " refers to missing TPG LUN " +
                  std::to_string(mapped.tpg_lun));
    const lio_paths::MappedLunDir mdir = dir.mapped_lun(mapped.index);
    tx.mkdir(mdir.dir);
    tx.symlink(tpg.lun(mapped.tpg_lun).dir, mdir.link(link->second));
    tx.write(mdir.write_protect(), mapped.write_protect ? "1" : "0");
  }
}

// Returns the TPG's enable attribute when it is to be enabled; the caller enables every TPG last.
std::optional<std::string> apply_tpg(ConfigFsTransaction& tx, ConfigFs& fs, const std::string& iqn, const Tpg& tpg,
                                     const StorageObjectDirs& so_dirs) {
  const lio_paths::TpgDir dir = lio_paths::tpg(iqn, tpg.tag);
  tx.mkdir(dir.dir);
  for (const auto& [name, value] : tpg.attributes) write_attribute(tx, fs, dir.attrib(name), value);
  for (const auto& [name, value] : tpg.parameters) write_attribute(tx, fs, dir.param(name), value);
  std::map<unsigned, std::string> lun_links;  // TPG LUN index -> alias, the name mapped LUN links take too
  for (const auto& lun : tpg.luns) {
    const lio_paths::LunDir ldir = dir.lun(lun.index);
    const std::string alias = lun.alias.empty() ? "lun" + std::to_string(lun.index) : lun.alias;
    tx.mkdir(ldir.dir);
    tx.symlink(storage_object_by_saveconfig_path(lun.storage_object, so_dirs).dir, ldir.link(alias));
    lun_links[lun.index] = alias;
  }
  // A killed parent leaves the portal made (its TPG not enabled: the next start clears it), never a socket
  // that LIO forgot (ConfigFs::mkdir_in_child).
  for (const auto& portal : tpg.portals) tx.mkdir_in_child(dir.np(portal.configfs_name()));
  for (const auto& acl : tpg.node_acls) apply_acl(tx, fs, dir, acl, lun_links);
  if (!tpg.enable) return std::nullopt;
  return dir.enable();
}

}  // namespace

void apply_lio_config(ConfigFs& fs, const LioConfig& config, const Warn& warn) {
  for (const auto& target : config.targets)
    for (const auto& tpg : target.tpgs)
      for (const auto& acl : tpg.node_acls)
        for (const auto* secret : {&acl.chap_password, &acl.chap_mutual_password}) fs.mask_in_log(*secret);

  ConfigFsTransaction tx(fs, warn);
  StorageObjectDirs so_dirs;
  for (const auto& so : config.storage_objects) {
    if (so_dirs.count(so.saveconfig_path())) throw Error("storage object " + so.saveconfig_path() + " defined twice");
    const std::string prefix = supported_hba_prefix(so);
    const std::string hba_dir = lio_paths::hba(prefix, free_hba_index(fs, prefix));
    const lio_paths::StorageObjectDir dir = lio_paths::storage_object(hba_dir, so.name);
    apply_storage_object(tx, fs, so, hba_dir, dir);
    so_dirs.emplace(so.saveconfig_path(), dir);
  }
  if (!config.targets.empty()) tx.mkdir_if_missing(lio_paths::iscsi());
  std::vector<std::string> enables;
  for (const auto& target : config.targets) {
    if (target.fabric != "iscsi") throw Error("target " + target.wwn + ": fabric '" + target.fabric + "' is not supported (iscsi is)");
    tx.mkdir(lio_paths::target(target.wwn));
    for (const auto& tpg : target.tpgs)
      if (auto enable = apply_tpg(tx, fs, target.wwn, tpg, so_dirs)) enables.push_back(*enable);
  }
  // Every TPG serves only once every target, LUN and ACL of the configuration exists: a start or restore
  // killed (SIGKILL) before this point leaves nothing that accepts a login, which the next start clears.
  for (const auto& enable : enables) tx.write_with_undo(enable, "1", "0");
  tx.commit();
}

bool lio_is_empty(const ConfigFs& fs) {
  for (const auto& iqn : fs.list(lio_paths::iscsi()))
    if (lio_paths::is_target_name(iqn)) return false;
  for (const auto& name : fs.list(lio_paths::core()))
    if (lio_paths::parse_hba_dir_name(name)) return false;
  return true;
}

bool teardown_lio(ConfigFs& fs, const Warn& warn) {
  bool ok = true;
  auto attempt = [&](auto&& op) {
    try {
      op();
    } catch (const Error& e) {
      ok = false;
      warn(e.what());
    }
  };
  for (const auto& iqn : fs.list(lio_paths::iscsi())) {
    if (!lio_paths::is_target_name(iqn)) continue;
    for (const auto& tpgt : fs.list(lio_paths::target(iqn))) {
      const auto tag = lio_paths::parse_tpgt_name(tpgt);
      if (!tag) continue;
      const lio_paths::TpgDir tpg = lio_paths::tpg(iqn, *tag);
      // Disabling first ends sessions so LUNs can go; configfs refuses to remove groups that hold links.
      if (fs.read(tpg.enable()).value_or("0").starts_with("1")) attempt([&] { fs.write(tpg.enable(), "0"); });
      for (const auto& initiator : fs.list(tpg.acls_dir())) {
        const lio_paths::AclDir acl = tpg.acl(initiator);
        for (const auto& entry : fs.list(acl.dir)) {
          const auto index = lio_paths::parse_lun_name(entry);
          if (!index) continue;
          const lio_paths::MappedLunDir mapped = acl.mapped_lun(*index);
          for (const auto& link : fs.list(mapped.dir))
            if (fs.read_link(mapped.link(link))) attempt([&] { fs.unlink(mapped.link(link)); });
          attempt([&] { fs.rmdir(mapped.dir); });
        }
        attempt([&] { fs.rmdir(acl.dir); });
      }
      for (const auto& entry : fs.list(tpg.lun_dir())) {
        const auto index = lio_paths::parse_lun_name(entry);
        if (!index) continue;
        const lio_paths::LunDir lun = tpg.lun(*index);
        for (const auto& link : fs.list(lun.dir))
          if (fs.read_link(lun.link(link))) attempt([&] { fs.unlink(lun.link(link)); });
        attempt([&] { fs.rmdir(lun.dir); });
      }
      for (const auto& np : fs.list(tpg.np_dir())) attempt([&] { fs.rmdir(tpg.np(np)); });
      attempt([&] { fs.rmdir(tpg.dir); });
    }
    attempt([&] { fs.rmdir(lio_paths::target(iqn)); });
  }
  // Every LIO backstore kind, not just the ones apply creates: stop leaves no backstore behind.
  for (const auto& name : fs.list(lio_paths::core())) {
    const auto hba = lio_paths::parse_hba_dir_name(name);
    if (!hba) continue;
    const std::string hba_dir = lio_paths::hba(hba->prefix, hba->index);
    for (const auto& entry : fs.list(hba_dir)) {
      const lio_paths::StorageObjectDir so = lio_paths::storage_object(hba_dir, entry);
      if (fs.exists(so.enable()) || fs.exists(so.udev_path())) attempt([&] { fs.rmdir(so.dir); });
    }
    attempt([&] { fs.rmdir(hba_dir); });
  }
  return ok;
}

}  // namespace iscsi_target
