// Block devices named by path, /dev/disk/by-*, UUID=, PARTUUID=, LABEL= or PARTLABEL=, resolved with libblkid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "system_roots.h"

namespace iscsi_target {

struct BlockDevice {
  std::string spec;      // as the user wrote it
  std::string path;      // canonical device node, e.g. /dev/vda
  std::string name;      // kernel name, e.g. vda
  dev_t devno = 0;
  std::string identity;  // what the unit serial is derived from, e.g. "serial:QM00001"
};

// Waits up to `wait` for udev to create the device, then checks it is a block device that nothing has
// mounted or claimed (LVM, LUKS, md). Throws Error naming key, spec and the reason.
BlockDevice resolve_block_device(const std::string& key, const std::string& spec, std::chrono::milliseconds wait,
                                 const SystemRoots& roots = {});

// The most stable identity sysfs or the on-disk metadata offers: WWID, serial (partitions: the disk's plus
// the partition number), partition-table UUID, filesystem UUID, else the device path.
std::string device_identity(const SystemRoots& roots, dev_t devno, const std::string& devpath);

// Why the device at `path` must not be exported, or nullopt: it or one of its partitions is mounted (btrfs
// through its anonymous device and all its members), or it or one of its partitions is held by dm/md.
// Throws Error when mountinfo cannot be read.
std::optional<std::string> export_refusal(const SystemRoots& roots, dev_t devno, const std::string& path);

}  // namespace iscsi_target
