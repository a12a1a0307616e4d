// Facts about the running system that the zero-config defaults are derived from. Reading them is kept apart
// from deriving settings (boot_settings.h), so derivation is a pure function tests can feed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "system_roots.h"

namespace iscsi_target {

struct Nic {
  std::string name, mac;
};

struct SystemFacts {
  std::string machine_id;
  std::string pretty_name;               // os-release PRETTY_NAME
  std::vector<std::string> root_disks;   // stable specs of the whole disks under /, /boot, /boot/efi
  std::vector<Nic> wired_nics;           // physical Ethernet NICs, by name
  std::string cmdline;                   // the system's own kernel options (no BOOT_IMAGE=/initrd=)
  std::string cmdline_source;            // where cmdline came from, for messages
};

std::string read_machine_id(const SystemRoots& roots);
std::string read_pretty_name(const SystemRoots& roots);
// Whole disks (partitions -> parent, dm/md -> the disks beneath, btrfs -> all its members) holding the given
// mount points, as /dev/disk/by-id/ links when one exists, in mount point order, without duplicates.
std::vector<std::string> disks_holding(const SystemRoots& roots, const std::vector<std::string>& mount_points);
std::vector<Nic> wired_nics(const SystemRoots& roots);
// $KERNEL_INSTALL_CONF_ROOT/cmdline (when given), /etc/kernel/cmdline, else the kernel's own boot entry
// options (when given), else /proc/cmdline — kernel-install's own order, then the loader's view.
std::pair<std::string, std::string> system_cmdline(const SystemRoots& roots, const std::optional<std::string>& entry_options,
                                                   const std::filesystem::path& conf_root = {});
// Drops BOOT_IMAGE= and initrd=, which boot loaders add.
std::string without_loader_args(const std::string& cmdline);

SystemFacts probe_system(const SystemRoots& roots, const std::optional<std::string>& entry_options,
                         const std::filesystem::path& conf_root = {});

}  // namespace iscsi_target
