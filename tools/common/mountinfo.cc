#include "mountinfo.h"
#include "file_io.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>

#include "error.h"
#include "sysfs.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

void add_unique(std::vector<dev_t>& devices, dev_t d) {
  if (std::find(devices.begin(), devices.end(), d) == devices.end()) devices.push_back(d);
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

}  // namespace

std::string unescape_octal(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::vector<Mount> parse_mountinfo(std::string_view text, const SystemRoots& roots) {
  std::vector<Mount> mounts;
  for (std::string_view line : lines_of(text)) {
    // ID PARENT M:m ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const auto f = split_fields(line);
    if (f.size() < 9) continue;
    const auto dash = std::find(f.begin() + 6, f.end(), "-");
    if (f.end() - dash < 3) continue;
    const auto st_dev = sysfs::parse_devno(f[2]);
    if (!st_dev) continue;
    Mount m{unescape_octal(f[4]), unescape_octal(*(dash + 2)), std::string(*(dash + 1)), *st_dev, {}};
    if (major(m.st_dev) != 0) m.devices.push_back(m.st_dev);
    // btrfs (and overlay and others) report an anonymous 0:N device; the source names the real one.
    if (auto d = sysfs::by_device_path(roots, m.source)) add_unique(m.devices, *d);
    // A multi-device btrfs names one member as its source; the others hold the same filesystem.
    if (m.fstype == "btrfs")
      for (dev_t d : std::vector<dev_t>(m.devices))
        for (dev_t member : btrfs_members(roots, d)) add_unique(m.devices, member);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

std::vector<Mount> read_mountinfo(const SystemRoots& roots) {
  const fs::path file = roots.mountinfo();
  int err = 0;
  const auto text = read_file_raw(file, err);
  if (!text || err != 0) throw system_error("reading", file.string(), err);
  return parse_mountinfo(*text, roots);
}

std::vector<dev_t> btrfs_members(const SystemRoots& roots, dev_t member) {
  std::vector<dev_t> out;
  const std::string name = sysfs::name_of(roots, member);
  std::error_code ec;
  for (const auto& fsid : fs::directory_iterator(roots.sys / "fs/btrfs", ec)) {
    const fs::path devices = fsid.path() / "devices";
    std::error_code ignored;
    if (!fs::exists(fs::symlink_status(devices / name, ignored))) continue;
    for (const auto& entry : fs::directory_iterator(devices, ignored)) {
      auto d = sysfs::by_name(roots, entry.path().filename().string());
      if (!d) d = sysfs::parse_devno(read_first_line(entry.path() / "dev"));
      if (d) out.push_back(*d);
    }
    break;  // a device belongs to one filesystem
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Swap> parse_swaps(std::string_view text, const SystemRoots& roots, const std::vector<Mount>& mounts) {
  std::vector<Swap> swaps;
  for (std::string_view line : lines_of(text)) {
    // Filename Type Size Used Priority (the first line is that header)
    const auto f = split_fields(line);
    if (f.size() < 2 || f[0] == "Filename") continue;
    Swap s{unescape_octal(f[0]), f[1] == "file", {}};
    if (s.is_file) {
      struct stat st {};
      if (::stat(s.file.c_str(), &st) == 0) {
        s.devices.push_back(st.st_dev);
        // On btrfs st_dev is anonymous: the mount with that number knows the disks.
        for (const Mount& m : mounts)
          if (m.st_dev == st.st_dev)
            for (dev_t d : m.devices) add_unique(s.devices, d);
      }
    } else if (auto d = sysfs::by_device_path(roots, s.file)) {
      s.devices.push_back(*d);
    }
    swaps.push_back(std::move(s));
  }
  return swaps;
}

std::vector<Swap> read_swaps(const SystemRoots& roots, const std::vector<Mount>& mounts) {
  return parse_swaps(read_text_or_empty(roots.swaps()), roots, mounts);
}

}  // namespace iscsi_target
