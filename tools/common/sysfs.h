// Block devices by number in a sysfs tree: /sys/dev/block/M:m and /sys/class/block/NAME link into
// /sys/devices/..., a partition's directory sits inside its disk's, dm/md list what they sit on in slaves/
// and what sits on them in holders/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "system_roots.h"

namespace iscsi_target::sysfs {

// "8:1", as sysfs and mountinfo write device numbers.
std::string devno_text(dev_t devno);
// "8:1" -> its number; nullopt for anything else (trailing text included).
std::optional<dev_t> parse_devno(std::string_view text);

// sys/dev/block/M:m (whether or not it exists).
std::filesystem::path dir(const SystemRoots& roots, dev_t devno);
// The device with this kernel name ("sda2", "dm-0"), from sys/class/block/NAME/dev.
std::optional<dev_t> by_name(const SystemRoots& roots, const std::string& name);
// "/dev/mapper/root" -> dm-0 -> its number, resolved inside roots.dev; when the node is not there (fake trees)
// its file name is taken as the kernel name. nullopt for paths outside /dev/ and unknown devices.
std::optional<dev_t> by_device_path(const SystemRoots& roots, const std::string& path);
// The kernel name, e.g. "sda2"; "M:m" when sysfs does not know the number.
std::string name_of(const SystemRoots& roots, dev_t devno);
// Size in bytes; 0 when unknown.
uint64_t size_bytes(const SystemRoots& roots, dev_t devno);

// A partition's whole disk; nullopt for anything that is not a partition.
std::optional<dev_t> parent_disk(const SystemRoots& roots, dev_t devno);
// The whole disks a device lives on: itself, a partition's disk, or (recursively) the disks under dm/md
// slaves. Sorted; empty when sysfs does not know the device.
std::vector<dev_t> whole_disks(const SystemRoots& roots, dev_t devno);

struct Holder {
  std::string name;  // e.g. "dm-0"
  std::string on;    // the device it holds: the one asked about or one of its partitions, e.g. "sda2"
};
// dm/md devices sitting on the device or on any of its partitions (LVM, LUKS, md), sorted by `on`, `name`.
std::vector<Holder> holders(const SystemRoots& roots, dev_t devno);

}  // namespace iscsi_target::sysfs
