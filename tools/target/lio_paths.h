// LIO's configfs layout, the one place that spells it: every directory and attribute file that apply,
// teardown, read and status touch, relative to the configfs root, and the parsers for the names LIO lists.
//
//   target/core/<prefix>_<index>/<name>/{udev_path,control,enable,info,wwn/vpd_unit_serial,attrib/*}
//   target/iscsi/<iqn>/tpgt_<tag>/{enable,attrib/*,param/*,np/<portal>}
//   target/iscsi/<iqn>/tpgt_<tag>/lun/lun_<L>/{<alias> -> backstore, statistics/scsi_tgt_port/*}
//   target/iscsi/<iqn>/tpgt_<tag>/acls/<initiator>/{info,auth/*,attrib/*}
//   target/iscsi/<iqn>/tpgt_<tag>/acls/<initiator>/lun_<M>/{<alias> -> ../../../lun/lun_<L>, write_protect}
#pragma once

#include <optional>
#include <string>

namespace iscsi_target::lio_paths {

// ---- Backstores (target_core_mod) ----

std::string core();  // "target/core"

// An HBA directory name split up: "iblock_3" -> {"block", "iblock", 3}. plugin is saveconfig's name,
// prefix is configfs's; they differ for block (iblock) and ramdisk (rd_mcp).
struct HbaDir {
  std::string plugin;
  std::string prefix;
  unsigned index = 0;
};

// The configfs prefix of every LIO backstore kind rtslib knows; nullopt for anything else.
std::optional<std::string> hba_prefix_for_plugin(const std::string& plugin);
// "<prefix>_<index>" for a known prefix; nullopt for other entries of target/core (e.g. "alua", "lio_version").
std::optional<HbaDir> parse_hba_dir_name(const std::string& name);
std::string hba(const std::string& prefix, unsigned index);  // "target/core/iblock_0"

struct StorageObjectDir {
  std::string dir;  // "target/core/iblock_0/vda"
  std::string udev_path() const { return dir + "/udev_path"; }
  std::string control() const { return dir + "/control"; }
  std::string enable() const { return dir + "/enable"; }
  std::string info() const { return dir + "/info"; }
  std::string vpd_unit_serial() const { return dir + "/wwn/vpd_unit_serial"; }
  std::string attrib_dir() const { return dir + "/attrib"; }
  std::string attrib(const std::string& name) const { return attrib_dir() + "/" + name; }
};
StorageObjectDir storage_object(const std::string& hba_dir, const std::string& name);

// ---- iSCSI fabric (iscsi_target_mod) ----

std::string iscsi();                         // "target/iscsi"
std::string target(const std::string& iqn);  // "target/iscsi/<iqn>"
// Whether an entry of target/iscsi is a target; the fabric directory also holds discovery_auth/ and lio_version.
bool is_target_name(const std::string& name);

struct MappedLunDir {
  std::string dir;  // ".../acls/<initiator>/lun_<M>"
  std::string link(const std::string& alias) const { return dir + "/" + alias; }
  std::string write_protect() const { return dir + "/write_protect"; }
};

struct AclDir {
  std::string dir;  // ".../tpgt_<tag>/acls/<initiator>"
  // "No active iSCSI Session for Initiator Endpoint: ..." unless the initiator is logged in.
  std::string info() const { return dir + "/info"; }
  std::string auth_userid() const { return dir + "/auth/userid"; }
  std::string auth_password() const { return dir + "/auth/password"; }
  std::string auth_userid_mutual() const { return dir + "/auth/userid_mutual"; }
  std::string auth_password_mutual() const { return dir + "/auth/password_mutual"; }
  std::string attrib_dir() const { return dir + "/attrib"; }
  std::string attrib(const std::string& name) const { return attrib_dir() + "/" + name; }
  MappedLunDir mapped_lun(unsigned index) const;
};

struct LunDir {
  std::string dir;  // ".../tpgt_<tag>/lun/lun_<L>"
  std::string link(const std::string& alias) const { return dir + "/" + alias; }
  // Counters the kernel keeps per LUN (SCSI-MIB scsiTgtPortTable): commands, MiB read and written.
  std::string in_cmds() const { return stats() + "in_cmds"; }
  std::string read_mbytes() const { return stats() + "read_mbytes"; }
  std::string write_mbytes() const { return stats() + "write_mbytes"; }

 private:
  std::string stats() const { return dir + "/statistics/scsi_tgt_port/"; }
};

struct TpgDir {
  std::string dir;  // "target/iscsi/<iqn>/tpgt_<tag>"
  std::string enable() const { return dir + "/enable"; }
  std::string attrib_dir() const { return dir + "/attrib"; }
  std::string attrib(const std::string& name) const { return attrib_dir() + "/" + name; }
  std::string param_dir() const { return dir + "/param"; }
  std::string param(const std::string& name) const { return param_dir() + "/" + name; }
  std::string np_dir() const { return dir + "/np"; }
  std::string np(const std::string& portal_name) const { return np_dir() + "/" + portal_name; }  // Portal::configfs_name()
  std::string lun_dir() const { return dir + "/lun"; }
  LunDir lun(unsigned index) const;
  std::string acls_dir() const { return dir + "/acls"; }
  AclDir acl(const std::string& initiator) const { return {acls_dir() + "/" + initiator}; }
};
TpgDir tpg(const std::string& iqn, unsigned tag);

// ---- Names LIO lists, back to numbers ----
// Only the canonical spelling (no sign, no leading zero) parses, so the path built from the number is the
// listed entry itself; rtslib and apply never create anything else.

std::optional<unsigned> parse_tpgt_name(const std::string& name);  // "tpgt_1" -> 1
std::optional<unsigned> parse_lun_name(const std::string& name);   // "lun_3" -> 3 (TPG LUNs and mapped LUNs)
// A mapped LUN's link target (".../tpgt_1/lun/lun_3", as ConfigFs::read_link returns it) -> 3.
std::optional<unsigned> lun_index_of_link(const std::string& link_target);

}  // namespace iscsi_target::lio_paths
