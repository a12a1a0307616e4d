// Reading LIO's state back from configfs: the mirror image of lio_apply.cc.
#include "lio_read.h"

#include <sys/stat.h>

#include <charconv>
#include <map>

#include "lio_paths.h"
#include "text.h"

namespace iscsi_target {

namespace {

std::string read_trimmed(const ConfigFs& fs, const std::string& rel) { return trim(fs.read(rel).value_or("")); }

// Only writable attributes belong in a saved configuration: read-only ones (hw_*) describe the device.
AttributeMap read_attributes(const ConfigFs& fs, const std::string& dir) {
  AttributeMap attributes;
  for (const auto& name : fs.list(dir)) {
    struct stat st {};
    if (::stat(fs.path(dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR)) continue;
    if (auto value = fs.read(dir + "/" + name)) attributes[name] = trim(*value);
  }
  return attributes;
}

// fileio's info ends in "File: PATH  Size: BYTES  Mode: ..."; the generic part before it has "SectorSize: ",
// so the last " Size: " is the file's (rtslib's greedy regex picks the same one).
uint64_t fileio_size(const std::string& info) {
  static const std::string label = " Size: ";
  const auto at = info.rfind(label);
  if (at == std::string::npos) return 0;
  uint64_t size = 0;
  const char* begin = info.data() + at + label.size();
  std::from_chars(begin, info.data() + info.size(), size);  // stays 0 when no digits follow
  return size;
}

StorageObject read_storage_object(const ConfigFs& fs, const lio_paths::HbaDir& hba, const lio_paths::StorageObjectDir& dir,
                                  const std::string& name) {
  StorageObject so;
  so.name = name;
  so.plugin = hba.plugin;
  so.dev = read_trimmed(fs, dir.udev_path());
  so.wwn = parse_vpd_unit_serial(fs.read(dir.vpd_unit_serial()).value_or(""));
  const std::string info = fs.read(dir.info()).value_or("");
  so.readonly = info.find("readonly: 1") != std::string::npos;
  if (so.plugin == "fileio") {
    so.write_back = info.find("Buffered-WCE") != std::string::npos;
    so.size = fileio_size(info);
  }
  so.attributes = read_attributes(fs, dir.attrib_dir());
  return so;
}

NodeAcl read_acl(const ConfigFs& fs, const lio_paths::AclDir& dir, const std::string& initiator, bool with_secrets) {
  NodeAcl acl;
  acl.node_wwn = initiator;
  acl.attributes = read_attributes(fs, dir.attrib_dir());
  acl.chap_userid = read_trimmed(fs, dir.auth_userid());
  acl.chap_mutual_userid = read_trimmed(fs, dir.auth_userid_mutual());
  if (with_secrets) {
    acl.chap_password = read_trimmed(fs, dir.auth_password());
    acl.chap_mutual_password = read_trimmed(fs, dir.auth_password_mutual());
  }
  for (const auto& entry : fs.list(dir.dir)) {
    const auto index = lio_paths::parse_lun_name(entry);
    if (!index) continue;
    const lio_paths::MappedLunDir mdir = dir.mapped_lun(*index);
    MappedLun mapped;
    mapped.index = *index;
    mapped.write_protect = read_trimmed(fs, mdir.write_protect()) == "1";
    for (const auto& link_name : fs.list(mdir.dir))
      if (auto link = fs.read_link(mdir.link(link_name)))
        if (auto tpg_lun = lio_paths::lun_index_of_link(*link)) mapped.tpg_lun = *tpg_lun;
    acl.mapped_luns.push_back(mapped);
  }
  return acl;
}

Tpg read_tpg(const ConfigFs& fs, const lio_paths::TpgDir& dir, unsigned tag, const std::map<std::string, std::string>& so_by_dir,
             bool with_secrets) {
  Tpg tpg;
  tpg.tag = tag;
  tpg.enable = read_trimmed(fs, dir.enable()) == "1";
  tpg.attributes = read_attributes(fs, dir.attrib_dir());
  tpg.parameters = read_attributes(fs, dir.param_dir());
  for (const auto& entry : fs.list(dir.lun_dir())) {
    const auto index = lio_paths::parse_lun_name(entry);
    if (!index) continue;
    const lio_paths::LunDir ldir = dir.lun(*index);
    Lun lun;
    lun.index = *index;
    for (const auto& alias : fs.list(ldir.dir)) {
      auto link = fs.read_link(ldir.link(alias));
      if (!link) continue;
      lun.alias = alias;
      auto so = so_by_dir.find(*link);
      lun.storage_object = so != so_by_dir.end() ? so->second : *link;
    }
    tpg.luns.push_back(lun);
  }
  for (const auto& np : fs.list(dir.np_dir())) tpg.portals.push_back(portal_from_configfs_name(np));
  for (const auto& initiator : fs.list(dir.acls_dir()))
    tpg.node_acls.push_back(read_acl(fs, dir.acl(initiator), initiator, with_secrets));
  return tpg;
}

}  // namespace

std::string parse_vpd_unit_serial(const std::string& text) {
  static const std::string label = "T10 VPD Unit Serial Number:";
  auto at = text.find(label);
  std::string serial = at == std::string::npos ? text : text.substr(at + label.size());
  serial.erase(0, serial.find_first_not_of(' '));
  return trim(serial);
}

LioConfig read_lio_config(const ConfigFs& fs, bool with_secrets) {
  LioConfig config;
  std::map<std::string, std::string> so_by_dir;  // configfs dir (absolute, as read_link answers) -> saveconfig path
  for (const auto& name : fs.list(lio_paths::core())) {
    const auto hba = lio_paths::parse_hba_dir_name(name);
    // Only block and fileio fit StorageObject (a device path and size); pscsi, ramdisk and user backstores
    // carry settings it has no place for, so a saved config would not restore them. Teardown still removes them.
    if (!hba || (hba->plugin != "block" && hba->plugin != "fileio")) continue;
    const std::string hba_dir = lio_paths::hba(hba->prefix, hba->index);
    for (const auto& so_name : fs.list(hba_dir)) {
      const lio_paths::StorageObjectDir dir = lio_paths::storage_object(hba_dir, so_name);
      if (!fs.exists(dir.udev_path())) continue;  // hba_info, hba_mode
      StorageObject so = read_storage_object(fs, *hba, dir, so_name);
      so_by_dir[fs.path(dir.dir).string()] = so.saveconfig_path();
      config.storage_objects.push_back(std::move(so));
    }
  }

  for (const auto& iqn : fs.list(lio_paths::iscsi())) {
    if (!lio_paths::is_target_name(iqn)) continue;
    Target target;
    target.wwn = iqn;
    for (const auto& entry : fs.list(lio_paths::target(iqn)))
      if (auto tag = lio_paths::parse_tpgt_name(entry))
        target.tpgs.push_back(read_tpg(fs, lio_paths::tpg(iqn, *tag), *tag, so_by_dir, with_secrets));
    config.targets.push_back(std::move(target));
  }
  return config;
}

std::vector<ListedTpg> list_tpgs(const ConfigFs& fs) {
  std::vector<ListedTpg> out;
  for (const auto& iqn : fs.list(lio_paths::iscsi())) {
    if (!lio_paths::is_target_name(iqn)) continue;
    for (const auto& entry : fs.list(lio_paths::target(iqn)))
      if (const auto tag = lio_paths::parse_tpgt_name(entry)) out.push_back({iqn, *tag, lio_paths::tpg(iqn, *tag)});
  }
  return out;
}

}  // namespace iscsi_target
