// Writing the ISO to a USB stick or disk (`iso write`): the checks that keep it off the running system, then
// plain writes + fsync, and a read-back that compares every byte.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "system_roots.h"

namespace iscsi_target {

struct WriteTarget {
  std::string path;              // as given, e.g. /dev/sdb
  bool block_device = false;     // else a regular file (tests, or an image to dd later)
  dev_t devno = 0;
  std::string name;              // kernel name, e.g. sdb
  std::string parent_disk;       // for a partition: the whole disk's kernel name, e.g. sdb for sdb1
  uint64_t size_bytes = 0;
  bool removable = false;        // sysfs "removable" is 1
  bool usb = false;              // the disk's sysfs device path runs through a USB bus
  std::string description;       // vendor and model, e.g. "SanDisk Cruzer Blade"
  std::vector<std::string> mounted;      // e.g. "/media/stick (sdb1)"
  std::vector<std::string> system_uses;  // e.g. "/ (sda2)", "swap (sda3)"
  std::vector<std::string> holders;      // device-mapper or md devices on it, e.g. "dm-0 (on sdb2)"
};

// Looks at what the checks need: for a block device sysfs, mountinfo and swaps; for a regular file its size
// and whether it is an active swap file. Throws Error naming the path when it is neither or cannot be read.
WriteTarget inspect_write_target(const std::string& path, const SystemRoots& roots = {});

// The same for a block device known by number (what inspect_write_target does after stat; tests call it).
WriteTarget inspect_block_device(const std::string& path, dev_t devno, const SystemRoots& roots);

// Why writing image_bytes to the target is refused, one line a user can act on per reason; empty when safe.
// --force lifts only "not removable and not on USB" and "not a block device"; a partition, a mounted device,
// one held by LVM/LUKS/md, the running system's disk or one too small are refused regardless.
std::vector<std::string> write_refusals(const WriteTarget& target, uint64_t image_bytes, bool force);

// One line describing the target for a confirmation prompt, e.g. "/dev/sdb (SanDisk Cruzer, 16.0 GB, USB)".
std::string describe_write_target(const WriteTarget& target);

struct WriteProgress {
  const char* phase;  // "writing" or "verifying"
  uint64_t done;
  uint64_t total;
};

struct WriteOptions {
  bool verify = true;
  std::function<void(const WriteProgress&)> progress;  // called after each chunk
  size_t chunk_bytes = 4 << 20;
  uint64_t sync_every_bytes = 64 << 20;  // flush so progress follows the device, not the page cache
};

struct WriteResult {
  uint64_t bytes = 0;
  double write_seconds = 0;   // including the final fsync
  double verify_seconds = 0;  // 0 when not verified
  bool verified = false;
};

// Writes the image from offset 0 with plain write() calls, fsyncs, drops the cached pages and reads it all back
// to compare. Throws Error naming the device, the offset and errno (or the first differing offset).
WriteResult write_image(const std::filesystem::path& image, const std::string& device, const WriteOptions& options = {});

// Megabytes (10^6 bytes) per second, for reports; 0 when seconds is 0.
double megabytes_per_second(uint64_t bytes, double seconds);

}  // namespace iscsi_target
