#include "usb_write.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "error.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

// Mount points whose disk runs this system: writing over them would destroy it while it runs.
const char* const system_mount_points[] = {"/", "/boot", "/boot/efi", "/efi", "/usr", "/var"};

std::string read_first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (in) std::getline(in, line);
  const size_t first = line.find_first_not_of(" \t"), last = line.find_last_not_of(" \t\n");
  return first == std::string::npos ? "" : line.substr(first, last - first + 1);
}

std::string devno_text(dev_t devno) { return std::to_string(major(devno)) + ":" + std::to_string(minor(devno)); }

std::optional<dev_t> parse_devno(const std::string& text) {
  unsigned maj = 0, min = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u:%u%c", &maj, &min, &extra) != 2) return std::nullopt;
  return makedev(maj, min);
}

// The kernel's view of a block device by number, in whichever tree `paths.sys` is.
struct Sysfs {
  const WriteTargetPaths& paths;

  fs::path dir(dev_t devno) const { return paths.sys / "dev/block" / devno_text(devno); }

  std::optional<dev_t> by_name(const std::string& name) const {
    return parse_devno(read_first_line(paths.sys / "class/block" / name / "dev"));
  }

  // "/dev/mapper/root" → dm-0 → its number; nullopt when it is no block device we know.
  std::optional<dev_t> by_device_path(const std::string& path) const {
    if (!path.starts_with("/dev/")) return std::nullopt;
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    return by_name((ec ? fs::path(path) : real).filename().string());
  }

  bool is_partition(dev_t devno) const { return fs::exists(dir(devno) / "partition"); }

  // The whole disks a device lives on: itself, a partition's disk, or the disks under dm/md (slaves).
  void disks_of(dev_t devno, std::set<dev_t>& out, int depth = 0) const {
    std::error_code ec;
    const fs::path d = fs::canonical(dir(devno), ec);
    if (ec || depth > 16) return;
    bool has_slaves = false;
    for (const auto& slave : fs::directory_iterator(d / "slaves", ec)) {
      if (auto s = by_name(slave.path().filename().string())) disks_of(*s, out, depth + 1), has_slaves = true;
    }
    if (has_slaves) return;
    if (fs::exists(d / "partition")) {
      if (auto parent = parse_devno(read_first_line(d.parent_path() / "dev"))) out.insert(*parent);
    } else {
      out.insert(devno);
    }
  }

  std::string name_of(dev_t devno) const {
    std::error_code ec;
    const fs::path d = fs::canonical(dir(devno), ec);
    return ec ? devno_text(devno) : d.filename().string();
  }
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_field(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && std::isdigit(static_cast<unsigned char>(field[i + 1]))) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct Mount {
  std::string mount_point;
  std::string source;
  std::vector<dev_t> devices;  // the st_dev of the mount, and the device its source names
};

std::vector<Mount> read_mounts(const WriteTargetPaths& paths, const Sysfs& sysfs) {
  std::vector<Mount> mounts;
  std::ifstream in(paths.mountinfo);
  if (!in) throw system_error("reading", paths.mountinfo.string(), errno);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, mm, root, mount_point, word;
    fields >> id >> parent >> mm >> root >> mount_point;
    while (fields >> word && word != "-") {
    }
    std::string fstype, source;
    fields >> fstype >> source;
    Mount m{unescape_mount_field(mount_point), unescape_mount_field(source), {}};
    if (auto d = parse_devno(mm)) m.devices.push_back(*d);
    // btrfs and others report an anonymous 0:N device; the source names the real one.
    if (auto d = sysfs.by_device_path(m.source)) m.devices.push_back(*d);
    mounts.push_back(m);
  }
  return mounts;
}

struct Swap {
  std::string file;
  std::vector<dev_t> devices;  // a swap partition's own number, or the device holding a swap file
};

std::vector<Swap> read_swaps(const WriteTargetPaths& paths, const Sysfs& sysfs) {
  std::vector<Swap> swaps;
  std::ifstream in(paths.swaps);
  std::string line;
  std::getline(in, line);  // Filename Type Size Used Priority
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string file, type;
    if (!(fields >> file >> type)) continue;
    Swap s{unescape_mount_field(file), {}};
    if (type == "file") {
      struct stat st {};
      if (::stat(s.file.c_str(), &st) == 0) s.devices.push_back(st.st_dev);
    } else if (auto d = sysfs.by_device_path(s.file)) {
      s.devices.push_back(*d);
    }
    swaps.push_back(s);
  }
  return swaps;
}

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

WriteTarget inspect_block_device(const std::string& path, dev_t devno, const WriteTargetPaths& paths) {
  const Sysfs sysfs{paths};
  WriteTarget t;
  t.path = path;
  t.block_device = true;
  t.devno = devno;
  std::error_code ec;
  const fs::path dir = fs::canonical(sysfs.dir(devno), ec);
  if (ec) throw Error(path + ": no " + sysfs.dir(devno).string() + " (" + ec.message() + ")");
  t.name = dir.filename().string();
  const bool partition = fs::exists(dir / "partition");
  const fs::path disk = partition ? dir.parent_path() : dir;
  if (partition) t.parent_disk = disk.filename().string();
  const std::string sectors = read_first_line(dir / "size");
  t.size_bytes = sectors.empty() ? 0 : std::stoull(sectors) * 512;  // sysfs counts 512-byte sectors
  t.removable = read_first_line(disk / "removable") == "1";
  t.usb = disk.string().find("/usb") != std::string::npos;
  for (const char* file : {"device/vendor", "device/model"}) {
    const std::string value = read_first_line(disk / file);
    if (!value.empty()) t.description += (t.description.empty() ? "" : " ") + value;
  }

  // LVM, LUKS or md on the disk or one of its partitions, active even when nothing is mounted.
  auto add_holders = [&](const fs::path& d) {
    std::error_code ignored;
    for (const auto& holder : fs::directory_iterator(d / "holders", ignored))
      t.holders.push_back(holder.path().filename().string() + " (on " + d.filename().string() + ")");
  };
  add_holders(disk);
  for (const auto& entry : fs::directory_iterator(disk, ec))
    if (entry.is_directory() && fs::exists(entry.path() / "partition")) add_holders(entry.path());
  std::sort(t.holders.begin(), t.holders.end());

  std::set<dev_t> ours;
  sysfs.disks_of(devno, ours);
  auto on_our_disk = [&](const std::vector<dev_t>& devices) {
    for (dev_t d : devices) {
      std::set<dev_t> disks;
      sysfs.disks_of(d, disks);
      for (dev_t disk_devno : disks)
        if (ours.contains(disk_devno)) return sysfs.name_of(d);
    }
    return std::string();
  };
  for (const Mount& m : read_mounts(paths, sysfs)) {
    const std::string on = on_our_disk(m.devices);
    if (on.empty()) continue;
    bool system = false;
    for (const char* mp : system_mount_points) system = system || m.mount_point == mp;
    (system ? t.system_uses : t.mounted).push_back(m.mount_point + " (" + on + ")");
  }
  for (const Swap& s : read_swaps(paths, sysfs)) {
    const std::string on = on_our_disk(s.devices);
    if (!on.empty()) t.system_uses.push_back("swap " + s.file + " (" + on + ")");
  }
  return t;
}

WriteTarget inspect_write_target(const std::string& path, const WriteTargetPaths& paths) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw system_error("cannot write to", path, errno);
  if (S_ISBLK(st.st_mode)) return inspect_block_device(path, st.st_rdev, paths);
  if (!S_ISREG(st.st_mode)) throw Error(path + ": neither a block device nor a regular file");
  WriteTarget t;
  t.path = path;
  t.name = fs::path(path).filename().string();
  t.size_bytes = static_cast<uint64_t>(st.st_size);
  // An active swap file: writing into it would corrupt memory pages of running programs.
  const Sysfs sysfs{paths};
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  for (const Swap& s : read_swaps(paths, sysfs))
    if (!ec && fs::equivalent(real, s.file, ec)) t.system_uses.push_back("swap " + s.file);
  return t;
}

std::vector<std::string> write_refusals(const WriteTarget& t, uint64_t image_bytes, bool force) {
  std::vector<std::string> reasons;
  if (!t.parent_disk.empty())
    reasons.push_back(t.path + " is a partition of " + t.parent_disk +
                      "; the image carries its own partition table: write it to the whole disk");
  for (const auto& use : t.system_uses) reasons.push_back(t.path + " holds the running system: " + use);
  for (const auto& mount : t.mounted) reasons.push_back(t.path + " is mounted at " + mount + "; unmount it first");
  for (const auto& holder : t.holders)
    reasons.push_back(t.path + " is in use by " + holder + " (LVM, LUKS or md); deactivate it first");
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

WriteResult write_image(const fs::path& image, const std::string& device, const WriteOptions& options) {
  using clock = std::chrono::steady_clock;
  Fd in{::open(image.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw system_error("opening", image.string(), errno);
  struct stat image_st {};
  if (::fstat(in.fd, &image_st) != 0) throw system_error("reading", image.string(), errno);
  struct stat dev_st {};
  if (::stat(device.c_str(), &dev_st) != 0) throw system_error("opening", device, errno);
  const bool block = S_ISBLK(dev_st.st_mode);
  // O_EXCL on a block device fails with EBUSY while anything has it mounted or claimed: a last guard.
  Fd out{::open(device.c_str(), O_RDWR | O_CLOEXEC | (block ? O_EXCL : 0))};
  if (out.fd < 0) throw system_error("opening", device, errno);

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
    write_all(out.fd, buffer.data(), n, offset, device);
    offset += n;
    since_sync += n;
    if (since_sync >= options.sync_every_bytes || offset == result.bytes) {
      if (::fdatasync(out.fd) != 0) throw system_error("flushing", device, errno);
      since_sync = 0;
    }
    report("writing", offset);
  }
  if (::fsync(out.fd) != 0) throw system_error("flushing", device, errno);
  result.write_seconds = std::chrono::duration<double>(clock::now() - write_start).count();
  if (block) ::ioctl(out.fd, BLKRRPART);  // let the kernel see the new partitions; busy is harmless

  if (!options.verify) return result;
  // Read from the device, not from the pages just written.
  ::posix_fadvise(out.fd, 0, 0, POSIX_FADV_DONTNEED);
  if (block) ::ioctl(out.fd, BLKFLSBUF, 0);
  const auto verify_start = clock::now();
  for (uint64_t offset = 0; offset < result.bytes;) {
    const size_t n = read_full(in.fd, buffer.data(), buffer.size(), offset, image.string());
    if (n == 0) throw Error(image.string() + ": shorter than its size while verifying");
    const size_t got = read_full(out.fd, readback.data(), n, offset, device);
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
