// Bring-up and teardown order follow rtslib-fb (root.py restore / clear_existing).
#include <sys/stat.h>

#include <regex>

#include "error.h"
#include "text.h"
#include "lio.h"

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

unsigned free_hba_index(const ConfigFs& fs, const std::string& prefix) {
  unsigned index = 0;
  while (fs.exists(lio_paths::hba(prefix, index))) ++index;
  return index;
}

std::string storage_object_by_saveconfig_path(const LioConfig& config, const std::string& path,
                                              const std::map<std::string, std::string>& dirs) {
  auto found = dirs.find(path);
  if (found == dirs.end()) throw Error("LUN refers to unknown storage object " + path);
  (void)config;
  return found->second;
}

void apply_storage_object(ConfigFsTransaction& tx, ConfigFs& fs, const StorageObject& so, const std::string& dir) {
  tx.mkdir_if_missing(dir.substr(0, dir.rfind('/')));
  tx.mkdir(dir);
  if (so.plugin == "block") {
    tx.write(dir + "/udev_path", so.dev);
    tx.write(dir + "/control", "udev_path=" + so.dev);
    tx.write(dir + "/control", std::string("readonly=") + (so.readonly ? "1" : "0"));
  } else if (so.plugin == "fileio") {
    tx.write(dir + "/udev_path", so.dev);
    tx.write(dir + "/control", "fd_dev_name=" + so.dev + ",fd_dev_size=" + std::to_string(so.size));
    if (so.write_back) tx.write(dir + "/control", "fd_buffered_io=1");
  } else {
    throw Error("storage object " + so.name + ": unsupported plugin '" + so.plugin + "' (block and fileio are)");
  }
  tx.write(dir + "/enable", "1");
  // LIO answers VPD pages 0x80/0x83 only once a serial is set, and refuses to change it after export.
  if (!so.wwn.empty()) tx.write(dir + "/wwn/vpd_unit_serial", so.wwn);
  for (const auto& [name, value] : so.attributes) write_attribute(tx, fs, dir + "/attrib/" + name, value);
}

void apply_acl(ConfigFsTransaction& tx, ConfigFs& fs, const std::string& tpg, const NodeAcl& acl,
               const std::map<unsigned, std::string>& lun_links) {
  const std::string dir = tpg + "/acls/" + acl.node_wwn;
  tx.mkdir(dir);
  // CHAP values are exact bytes: a trailing newline makes every login fail (CHAP_N values do not match).
  if (!acl.chap_userid.empty()) tx.write(dir + "/auth/userid", acl.chap_userid);
  if (!acl.chap_password.empty()) tx.write(dir + "/auth/password", acl.chap_password);
  if (!acl.chap_mutual_userid.empty()) tx.write(dir + "/auth/userid_mutual", acl.chap_mutual_userid);
  if (!acl.chap_mutual_password.empty()) tx.write(dir + "/auth/password_mutual", acl.chap_mutual_password);
  for (const auto& [name, value] : acl.attributes) write_attribute(tx, fs, dir + "/attrib/" + name, value);
  for (const auto& mapped : acl.mapped_luns) {
    auto link = lun_links.find(mapped.tpg_lun);
    if (link == lun_links.end())
      throw Error("ACL " + acl.node_wwn + ": mapped LUN " + std::to_string(mapped.index) + " refers to missing TPG LUN " +
                  std::to_string(mapped.tpg_lun));
    const std::string mdir = dir + "/lun_" + std::to_string(mapped.index);
    tx.mkdir(mdir);
    tx.symlink(tpg + "/lun/lun_" + std::to_string(mapped.tpg_lun), mdir + "/" + link->second);
    tx.write(mdir + "/write_protect", mapped.write_protect ? "1" : "0");
  }
}

void apply_tpg(ConfigFsTransaction& tx, ConfigFs& fs, const std::string& iqn, const Tpg& tpg,
               const std::map<std::string, std::string>& so_dirs, const LioConfig& config) {
  const std::string dir = lio_paths::tpg(iqn, tpg.tag);
  tx.mkdir(dir);
  for (const auto& [name, value] : tpg.attributes) write_attribute(tx, fs, dir + "/attrib/" + name, value);
  for (const auto& [name, value] : tpg.parameters) write_attribute(tx, fs, dir + "/param/" + name, value);
  std::map<unsigned, std::string> lun_links;
  for (const auto& lun : tpg.luns) {
    const std::string ldir = dir + "/lun/lun_" + std::to_string(lun.index);
    const std::string alias = lun.alias.empty() ? "lun" + std::to_string(lun.index) : lun.alias;
    tx.mkdir(ldir);
    tx.symlink(storage_object_by_saveconfig_path(config, lun.storage_object, so_dirs), ldir + "/" + alias);
    lun_links[lun.index] = alias;
  }
  for (const auto& portal : tpg.portals) tx.mkdir(dir + "/np/" + portal.configfs_name());
  for (const auto& acl : tpg.node_acls) apply_acl(tx, fs, dir, acl, lun_links);
  if (tpg.enable) tx.write_with_undo(dir + "/enable", "1", "0");
}

bool is_iscsi_name(const std::string& name) {
  return name.starts_with("iqn.") || name.starts_with("eui.") || name.starts_with("naa.");
}

}  // namespace

std::string storage_object_path(const StorageObject& so, unsigned hba_index) {
  return lio_paths::hba(so.configfs_hba_prefix(), hba_index) + "/" + so.name;
}

void apply_lio_config(ConfigFs& fs, const LioConfig& config, const Warn& warn) {
  for (const auto& target : config.targets)
    for (const auto& tpg : target.tpgs)
      for (const auto& acl : tpg.node_acls)
        for (const auto* secret : {&acl.chap_password, &acl.chap_mutual_password}) fs.mask_in_log(*secret);

  ConfigFsTransaction tx(fs, warn);
  std::map<std::string, std::string> so_dirs;  // saveconfig path -> configfs dir
  for (const auto& so : config.storage_objects) {
    if (so_dirs.count(so.saveconfig_path())) throw Error("storage object " + so.saveconfig_path() + " defined twice");
    const std::string dir = storage_object_path(so, free_hba_index(fs, so.configfs_hba_prefix()));
    apply_storage_object(tx, fs, so, dir);
    so_dirs[so.saveconfig_path()] = dir;
  }
  if (!config.targets.empty()) tx.mkdir_if_missing(lio_paths::iscsi());
  for (const auto& target : config.targets) {
    if (target.fabric != "iscsi") throw Error("target " + target.wwn + ": fabric '" + target.fabric + "' is not supported (iscsi is)");
    tx.mkdir(lio_paths::target(target.wwn));
    for (const auto& tpg : target.tpgs) apply_tpg(tx, fs, target.wwn, tpg, so_dirs, config);
  }
  tx.commit();
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
    if (!is_iscsi_name(iqn)) continue;
    const std::string target = lio_paths::target(iqn);
    for (const auto& tpgt : fs.list(target)) {
      if (!tpgt.starts_with("tpgt_")) continue;
      const std::string tpg = target + "/" + tpgt;
      // Disabling first ends sessions so LUNs can go; configfs refuses to remove groups that hold links.
      if (fs.read(tpg + "/enable").value_or("0").starts_with("1")) attempt([&] { fs.write(tpg + "/enable", "0"); });
      for (const auto& acl : fs.list(tpg + "/acls")) {
        const std::string adir = tpg + "/acls/" + acl;
        for (const auto& mapped : fs.list(adir)) {
          if (!mapped.starts_with("lun_")) continue;
          for (const auto& link : fs.list(adir + "/" + mapped))
            if (fs.read_link(adir + "/" + mapped + "/" + link)) attempt([&] { fs.unlink(adir + "/" + mapped + "/" + link); });
          attempt([&] { fs.rmdir(adir + "/" + mapped); });
        }
        attempt([&] { fs.rmdir(adir); });
      }
      for (const auto& lun : fs.list(tpg + "/lun")) {
        const std::string ldir = tpg + "/lun/" + lun;
        for (const auto& link : fs.list(ldir))
          if (fs.read_link(ldir + "/" + link)) attempt([&] { fs.unlink(ldir + "/" + link); });
        attempt([&] { fs.rmdir(ldir); });
      }
      for (const auto& np : fs.list(tpg + "/np")) attempt([&] { fs.rmdir(tpg + "/np/" + np); });
      attempt([&] { fs.rmdir(tpg); });
    }
    attempt([&] { fs.rmdir(target); });
  }
  static const std::regex hba_name(R"((iblock|fileio|pscsi|rd_mcp|user)_[0-9]+)");
  for (const auto& hba : fs.list("target/core")) {
    if (!std::regex_match(hba, hba_name)) continue;
    const std::string hdir = "target/core/" + hba;
    for (const auto& so : fs.list(hdir))
      if (fs.exists(hdir + "/" + so + "/enable") || fs.exists(hdir + "/" + so + "/udev_path")) attempt([&] { fs.rmdir(hdir + "/" + so); });
    attempt([&] { fs.rmdir(hdir); });
  }
  return ok;
}

}  // namespace iscsi_target
