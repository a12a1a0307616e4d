// Writing the ISO to a USB stick or disk (`iso write`): the checks that keep it off the running system, then
// plain writes + fsync, and a read-back that compares every byte.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
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
  std::string busy;              // the errno text when the exclusive open failed (EBUSY): always refused
};

// How the target is opened and looked at: the system calls, or a test's stand-ins (a test cannot open a real
// block device; it opens a file and lets fstat report a block device number of its fake sysfs).
struct TargetOps {
  std::function<int(const std::string& path, int flags)> open;        // an fd, or -1 with errno set
  std::function<int(int fd, struct stat& st)> fstat;                   // 0, or -1 with errno set
  std::function<int(const std::string& path, struct stat& st)> stat;  // only to explain a busy device
};
TargetOps system_target_ops();

// The flags the target is opened with: O_EXCL on a block device fails with EBUSY while anything has it (or one
// of its partitions) mounted or claimed (LVM, LUKS, md, another exclusive opener), and holds it against them.
inline constexpr int write_target_open_flags = O_RDWR | O_EXCL | O_CLOEXEC | O_NOCTTY;

// The write target, opened exactly once. The checks (write_refusals), the write and the read-back all use this
// descriptor and what fstat said about it (for a block device its st_rdev, looked up in sysfs), never the path
// again: a symlink retargeted or a /dev/sdX renumbered after the check cannot redirect the write.
class OpenWriteTarget {
 public:
  WriteTarget target;

  OpenWriteTarget() = default;
  OpenWriteTarget(WriteTarget t, int fd) : target(std::move(t)), fd_(fd) {}
  OpenWriteTarget(OpenWriteTarget&& other) noexcept : target(std::move(other.target)), fd_(std::exchange(other.fd_, -1)) {}
  OpenWriteTarget& operator=(OpenWriteTarget&& other) noexcept;
  OpenWriteTarget(const OpenWriteTarget&) = delete;
  OpenWriteTarget& operator=(const OpenWriteTarget&) = delete;
  ~OpenWriteTarget();
  int fd() const { return fd_; }  // -1 when the exclusive open failed with EBUSY (target.busy)

 private:
  int fd_ = -1;
};

// Opens path with write_target_open_flags and inspects what the descriptor refers to (inspect_opened). EBUSY
// is not thrown: the result has no descriptor, target.busy set, and — looked up by path, only to explain the
// refusal — where it is mounted or what holds it. Any other failure throws Error naming the path and errno.
OpenWriteTarget open_write_target(const std::string& path, const SystemRoots& roots = {}, const TargetOps& ops = system_target_ops());

// What the checks need about an opened target, from its fstat: for a block device (by st_rdev) sysfs,
// mountinfo and swaps; for a regular file its size and whether it is an active swap file (by device and
// inode). Throws Error naming the path when it is neither or cannot be looked at.
WriteTarget inspect_opened(const std::string& path, const struct stat& st, const SystemRoots& roots);

// The block-device part of inspect_opened: a device known by number.
WriteTarget inspect_block_device(const std::string& path, dev_t devno, const SystemRoots& roots);

// Why writing image_bytes to the target is refused, one line a user can act on per reason; empty when safe.
// --force lifts only "not removable and not on USB" and "not a block device"; a partition, a mounted device,
// one held by LVM/LUKS/md or otherwise busy, the running system's disk or one too small are refused regardless.
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

// Writes the image from offset 0 with plain write() calls through the target's descriptor, fsyncs, drops the
// cached pages and reads it all back through the same descriptor to compare. Throws Error naming the device,
// the offset and errno (or the first differing offset), and when the target has no descriptor.
WriteResult write_image(const std::filesystem::path& image, const OpenWriteTarget& target, const WriteOptions& options = {});

// Megabytes (10^6 bytes) per second, for reports; 0 when seconds is 0.
double megabytes_per_second(uint64_t bytes, double seconds);

}  // namespace iscsi_target
