// What is mounted and what is swapped on, from /proc/self/mountinfo and /proc/swaps, down to the block devices
// underneath: the facts behind "do not export / overwrite a disk the running system uses".
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "system_roots.h"

namespace iscsi_target {

struct Mount {
  std::string mount_point;  // unescaped, e.g. "/media/my stick"
  std::string source;       // unescaped, e.g. "/dev/sda2"
  std::string fstype;
  dev_t st_dev = 0;         // the number mountinfo reports: st_dev of its files (anonymous 0:N for btrfs, overlay)
  // The block devices it lives on: st_dev unless anonymous, the device the source names, and for btrfs every
  // member device of the filesystem. Without duplicates; empty for proc, tmpfs, overlay and the like.
  std::vector<dev_t> devices;
};

// mountinfo and /proc/swaps escape space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view field);

// Lines that do not parse are skipped. Sources are resolved in roots.sys/roots.dev.
std::vector<Mount> parse_mountinfo(std::string_view text, const SystemRoots& roots);
// roots.mountinfo(); throws Error naming the file when it cannot be read.
std::vector<Mount> read_mountinfo(const SystemRoots& roots);

// Every member device of the btrfs filesystem the device belongs to (sys/fs/btrfs/<fsid>/devices/<name>),
// sorted; empty when it belongs to none.
std::vector<dev_t> btrfs_members(const SystemRoots& roots, dev_t member);

struct Swap {
  std::string file;            // unescaped, e.g. "/dev/sda3" or "/swapfile"
  bool is_file = false;        // a swap file rather than a partition
  std::vector<dev_t> devices;  // a partition's own number; for a file the device holding it (through its mount)
};

// A swap file is looked up with stat() on the running system; its st_dev is mapped through `mounts`.
std::vector<Swap> parse_swaps(std::string_view text, const SystemRoots& roots, const std::vector<Mount>& mounts);
// roots.swaps(); empty when missing (a kernel without swap support has none).
std::vector<Swap> read_swaps(const SystemRoots& roots, const std::vector<Mount>& mounts);

}  // namespace iscsi_target
