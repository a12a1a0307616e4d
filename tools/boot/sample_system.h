// The machine most tests describe: one NVMe disk, two wired NICs, an encrypted root with hibernation.
#pragma once

#include "system_probe.h"

inline iscsi_target::SystemFacts sample_laptop() {
  iscsi_target::SystemFacts f;
  f.machine_id = "0123456789abcdef0123456789abcdef";
  f.pretty_name = "Debian GNU/Linux 12 (bookworm)";
  f.root_disks = {"/dev/disk/by-id/nvme-Samsung_SSD_980_S1"};
  f.wired_nics = {{"enp3s0", "aa:bb:cc:dd:ee:ff"}, {"enp4s0", "11:22:33:44:55:66"}};
  f.cmdline = "root=UUID=1111-2222 ro quiet console=ttyS0,115200 resume=UUID=3333 rd.luks.uuid=4444";
  f.cmdline_source = "/proc/cmdline";
  return f;
}
