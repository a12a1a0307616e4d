// Block devices named by path, /dev/disk/by-*, UUID=, PARTUUID=, LABEL= or PARTLABEL=, resolved with libblkid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace iscsi_target {

struct BlockDevice {
  std::string spec;      // as the user wrote it
  std::string path;      // canonical device node, e.g. /dev/vda
  std::string name;      // kernel name, e.g. vda
  dev_t devno = 0;
  uint64_t size_bytes = 0;
  std::string identity;  // what the unit serial is derived from, e.g. "serial:QM00001"
};

// Where the kernel's views live; tests point them at fake trees.
struct SystemPaths {
  std::filesystem::path sys = "/sys";
  std::filesystem::path mountinfo = "/proc/self/mountinfo";
};

// Waits up to `wait` for udev to create the device, then checks it is a block device that nothing has
// mounted or claimed (LVM, LUKS, md). Throws Error naming key, spec and the reason.
BlockDevice resolve_block_device(const std::string& key, const std::string& spec, std::chrono::milliseconds wait,
                                 const SystemPaths& paths = {});

// The most stable identity sysfs or the on-disk metadata offers: WWID, serial (partitions: the disk's plus
// the partition number), partition-table UUID, filesystem UUID, else the device path.
std::string device_identity(const SystemPaths& paths, dev_t devno, const std::string& devpath);

// The mount point of the device or any of its partitions, if mounted.
std::optional<std::string> mount_point_of(const SystemPaths& paths, dev_t devno);

// Kernel devices holding the device (dm, md), e.g. "dm-0".
std::optional<std::string> holder_of(const SystemPaths& paths, dev_t devno);

}  // namespace iscsi_target
