// Everything the boot entry and the ISO need, derived from the config file and the running system, and the
// two command lines built from it. Pure functions: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boot_config.h"
#include "settings.h"
#include "system_probe.h"

namespace iscsi_target {

struct BootSettings {
  std::vector<std::string> devices;
  Nic nic;
  std::string target_address, initiator_address;
  unsigned prefix = 30;
  uint16_t port = 3260;
  std::string target_iqn, initiator_iqn;
  ChapCredentials chap;
  bool read_only = false;
  std::string system_cmdline;
  std::string target_extra, initiator_extra, initiator_root;
  std::vector<std::string> usb_devices;
  std::string pretty_name;
};

// Throws Error naming the setting when a default cannot be derived (no disk, no wired NIC, no machine-id),
// or when what would be written does not read back as meant (read_back.h: the entry's files when
// config.boot_entries, the ISO's when config.iso). Callers write nothing before this.
BootSettings derive_boot_settings(const BootConfig& config, const SystemFacts& facts, const ChapCredentials& chap);

// What the "iSCSI Target" entry tells the target: the devices in LUN order, its IQN, the initiator's IQN,
// the portal target_address:port, CHAP, read-only. The contract's writers (settings.h) turn it into text.
TargetSettings target_settings_of(const BootSettings& s);

// The "iSCSI Target" entry's options: the system's console options plus the target keys. No secrets.
std::string target_options(const BootSettings& s);
// The initiator's command line (ISO): the system's own options (root=, …) plus dracut's iSCSI root keys.
std::string initiator_options(const BootSettings& s);
// Files for the small cpio archives that carry the CHAP secrets. Neither is a cmdline.d file: dracut logs its
// whole command line, cmdline.d included, to the kernel log (and so to the journal on disk).
std::string target_secrets_file(const BootSettings& s);  // /etc/iscsi-target/target.conf (target_conf_text), read by iscsi-target only
// /etc/iscsi/iscsid.conf for the initiator's initramfs: iscsiadm's discovery gives every new node record these
// defaults, so dracut's iscsi module logs in with CHAP without rd.iscsi.password= anywhere.
std::string initiator_iscsid_conf(const BootSettings& s);
inline constexpr const char* initiator_iscsid_conf_path = "etc/iscsi/iscsid.conf";
std::string netmask_of(unsigned prefix);

}  // namespace iscsi_target
