#include "usb_write.h"
#include "file_io.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "error.h"
#include "mountinfo.h"
#include "sysfs.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

// Mount points whose disk runs this system: writing over them would destroy it while it runs.
const char* const system_mount_points[] = {"/", "/boot", "/boot/efi", "/efi", "/usr", "/var"};

void write_all(int fd, const char* data, size_t size, uint64_t offset, const std::string& device) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error("writing at byte " + std::to_string(offset + done) + " of", device, errno);
    if (n == 0) throw Error("writing at byte " + std::to_string(offset + done) + " of " + device + ": device full");
    done += static_cast<size_t>(n);
  }
}

size_t read_full(int fd, char* data, size_t size, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error("reading at byte " + std::to_string(offset + done) + " of", what, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

WriteTarget inspect_block_device(const std::string& path, dev_t devno, const SystemRoots& roots) {
  WriteTarget t;
  t.path = path;
  t.block_device = true;
  t.devno = devno;
  std::error_code ec;
  const fs::path dir = fs::canonical(sysfs::dir(roots, devno), ec);
  if (ec) throw Error(path + ": no " + sysfs::dir(roots, devno).string() + " (" + ec.message() + ")");
  t.name = dir.filename().string();
  const auto parent = sysfs::parent_disk(roots, devno);
  const dev_t disk_devno = parent.value_or(devno);
  const fs::path disk = parent ? dir.parent_path() : dir;
  if (parent) t.parent_disk = disk.filename().string();
  t.size_bytes = sysfs::size_bytes(roots, devno);
  t.removable = read_first_line(disk / "removable") == "1";
  t.usb = disk.string().find("/usb") != std::string::npos;
  for (const char* file : {"device/vendor", "device/model"}) {
    const std::string value = read_first_line(disk / file);
    if (!value.empty()) t.description += (t.description.empty() ? "" : " ") + value;
  }

  // LVM, LUKS or md on the disk or one of its partitions, active even when nothing is mounted.
  for (const auto& h : sysfs::holders(roots, disk_devno)) t.holders.push_back(h.name + " (on " + h.on + ")");
  std::sort(t.holders.begin(), t.holders.end());

  const std::vector<dev_t> ours = sysfs::whole_disks(roots, devno);
  auto on_our_disk = [&](const std::vector<dev_t>& devices) {
    for (dev_t d : devices)
      for (dev_t disk_of_d : sysfs::whole_disks(roots, d))
        if (std::find(ours.begin(), ours.end(), disk_of_d) != ours.end()) return sysfs::name_of(roots, d);
    return std::string();
  };
  const std::vector<Mount> mounts = read_mountinfo(roots);
  for (const Mount& m : mounts) {
    const std::string on = on_our_disk(m.devices);
    if (on.empty()) continue;
    bool system = false;
    for (const char* mp : system_mount_points) system = system || m.mount_point == mp;
    (system ? t.system_uses : t.mounted).push_back(m.mount_point + " (" + on + ")");
  }
  for (const Swap& s : read_swaps(roots, mounts)) {
    const std::string on = on_our_disk(s.devices);
    if (!on.empty()) t.system_uses.push_back("swap " + s.file + " (" + on + ")");
  }
  return t;
}

WriteTarget inspect_opened(const std::string& path, const struct stat& st, const SystemRoots& roots) {
  if (S_ISBLK(st.st_mode)) return inspect_block_device(path, st.st_rdev, roots);
  if (!S_ISREG(st.st_mode)) throw Error(path + ": neither a block device nor a regular file");
  WriteTarget t;
  t.path = path;
  t.name = fs::path(path).filename().string();
  t.size_bytes = static_cast<uint64_t>(st.st_size);
  // An active swap file: writing into it would corrupt memory pages of running programs.
  for (const Swap& s : read_swaps(roots, {})) {
    struct stat swap_st {};  // per entry: one vanished swap file must not hide the others
    if (s.is_file && ::stat(s.file.c_str(), &swap_st) == 0 && swap_st.st_dev == st.st_dev && swap_st.st_ino == st.st_ino)
      t.system_uses.push_back("swap " + s.file);
  }
  return t;
}

TargetOps system_target_ops() {
  return {[](const std::string& path, int flags) { return ::open(path.c_str(), flags); },
          [](int fd, struct stat& st) { return ::fstat(fd, &st); },
          [](const std::string& path, struct stat& st) { return ::stat(path.c_str(), &st); }};
}

OpenWriteTarget& OpenWriteTarget::operator=(OpenWriteTarget&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    target = std::move(other.target);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

OpenWriteTarget::~OpenWriteTarget() {
  if (fd_ >= 0) ::close(fd_);
}

OpenWriteTarget open_write_target(const std::string& path, const SystemRoots& roots, const TargetOps& ops) {
  const int fd = ops.open(path, write_target_open_flags);
  if (fd < 0 && errno == EBUSY) {
    // Refused whatever else is found; the path is looked at only to say who holds the device.
    WriteTarget t;
    struct stat st {};
    if (ops.stat(path, st) == 0 && S_ISBLK(st.st_mode)) {
      try {
        t = inspect_block_device(path, st.st_rdev, roots);
      } catch (const Error&) {
        t = WriteTarget{};  // no explanation, still refused
      }
    }
    t.path = path;
    t.busy = std::strerror(EBUSY);
    return OpenWriteTarget(std::move(t), -1);
  }
  if (fd < 0) throw system_error("cannot write to", path, errno);
  OpenWriteTarget opened({}, fd);  // closes fd if what follows throws
  struct stat st {};
  if (ops.fstat(fd, st) != 0) throw system_error("cannot look at", path, errno);
  opened.target = inspect_opened(path, st, roots);
  return opened;
}

std::vector<std::string> write_refusals(const WriteTarget& t, uint64_t image_bytes, bool force) {
  std::vector<std::string> reasons;
  if (!t.busy.empty())
    reasons.push_back(t.path + " cannot be opened exclusively (" + t.busy +
                      "): mounted, or in use by LVM, LUKS, md or another program");
  if (!t.parent_disk.empty())
    reasons.push_back(t.path + " is a partition of " + t.parent_disk +
                      "; the image carries its own partition table: write it to the whole disk");
  for (const auto& use : t.system_uses) reasons.push_back(t.path + " holds the running system: " + use);
  for (const auto& mount : t.mounted) reasons.push_back(t.path + " is mounted at " + mount + "; unmount it first");
  for (const auto& holder : t.holders)
    reasons.push_back(t.path + " is in use by " + holder + " (LVM, LUKS or md); deactivate it first");
  if (!t.busy.empty()) return reasons;  // what was not opened is looked at only to say who holds it
  if (t.size_bytes < image_bytes)
    reasons.push_back(t.path + " holds " + megabytes(t.size_bytes) + " MB, the image needs " + megabytes(image_bytes) + " MB");
  if (!force) {
    if (!t.block_device)
      reasons.push_back(t.path + " is a regular file, not a block device (--force writes into it anyway)");
    else if (!t.removable && !t.usb)
      reasons.push_back(t.path + " is neither removable nor on USB: an internal disk? (--force if you mean it)");
  }
  return reasons;
}

std::string describe_write_target(const WriteTarget& t) {
  std::string text = t.path + " (";
  if (!t.description.empty()) text += t.description + ", ";
  char size[32];
  if (t.size_bytes >= 1000000000) std::snprintf(size, sizeof size, "%.1f GB", static_cast<double>(t.size_bytes) / 1e9);
  else std::snprintf(size, sizeof size, "%.1f MB", static_cast<double>(t.size_bytes) / 1e6);
  text += size;
  if (t.usb) text += ", USB";
  else if (t.removable) text += ", removable";
  else if (!t.block_device) text += ", regular file";
  return text + ")";
}

double megabytes_per_second(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

WriteResult write_image(const fs::path& image, const OpenWriteTarget& target, const WriteOptions& options) {
  using clock = std::chrono::steady_clock;
  const std::string& device = target.target.path;
  const bool block = target.target.block_device;
  if (target.fd() < 0) throw Error("writing " + device + ": not open (" + (target.target.busy.empty() ? "no descriptor" : target.target.busy) + ")");
  Fd in{::open(image.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw system_error("opening", image.string(), errno);
  struct stat image_st {};
  if (::fstat(in.fd, &image_st) != 0) throw system_error("reading", image.string(), errno);
  const int out = target.fd();  // the descriptor the checks looked at, never the path again

  WriteResult result;
  result.bytes = static_cast<uint64_t>(image_st.st_size);
  std::vector<char> buffer(options.chunk_bytes), readback(options.chunk_bytes);
  auto report = [&](const char* phase, uint64_t done) {
    if (options.progress) options.progress({phase, done, result.bytes});
  };

  const auto write_start = clock::now();
  uint64_t since_sync = 0;
  for (uint64_t offset = 0; offset < result.bytes;) {
    const size_t n = read_full(in.fd, buffer.data(), buffer.size(), offset, image.string());
    if (n == 0) throw Error(image.string() + ": shorter than its size while writing (changed underneath?)");
    write_all(out, buffer.data(), n, offset, device);
    offset += n;
    since_sync += n;
    if (since_sync >= options.sync_every_bytes || offset == result.bytes) {
      if (::fdatasync(out) != 0) throw system_error("flushing", device, errno);
      since_sync = 0;
    }
    report("writing", offset);
  }
  if (::fsync(out) != 0) throw system_error("flushing", device, errno);
  result.write_seconds = std::chrono::duration<double>(clock::now() - write_start).count();
  if (block) ::ioctl(out, BLKRRPART);  // let the kernel see the new partitions; busy is harmless

  if (!options.verify) return result;
  // Read from the device, not from the pages just written.
  ::posix_fadvise(out, 0, 0, POSIX_FADV_DONTNEED);
  if (block) ::ioctl(out, BLKFLSBUF, 0);
  const auto verify_start = clock::now();
  for (uint64_t offset = 0; offset < result.bytes;) {
    const size_t n = read_full(in.fd, buffer.data(), buffer.size(), offset, image.string());
    if (n == 0) throw Error(image.string() + ": shorter than its size while verifying");
    const size_t got = read_full(out, readback.data(), n, offset, device);
    if (got != n) throw Error("verifying " + device + ": ends at byte " + std::to_string(offset + got));
    if (std::memcmp(buffer.data(), readback.data(), n) != 0) {
      size_t i = 0;
      while (buffer[i] == readback[i]) ++i;
      throw Error("verifying " + device + ": byte " + std::to_string(offset + i) +
                  " differs from the image (a failing or fake-capacity stick?)");
    }
    offset += n;
    report("verifying", offset);
  }
  result.verify_seconds = std::chrono::duration<double>(clock::now() - verify_start).count();
  result.verified = true;
  return result;
}

}  // namespace iscsi_target
