#include "blockdev.h"

#include <blkid/blkid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "error.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

std::string read_first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (in) std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\n' || line.back() == '\t')) line.pop_back();
  size_t start = line.find_first_not_of(' ');
  return start == std::string::npos ? "" : line.substr(start);
}

fs::path sysfs_dir(const SystemPaths& paths, dev_t devno) {
  return paths.sys / "dev/block" / (std::to_string(major(devno)) + ":" + std::to_string(minor(devno)));
}

std::string devno_text(dev_t devno) { return std::to_string(major(devno)) + ":" + std::to_string(minor(devno)); }

const char* const tag_prefixes[] = {"UUID=", "PARTUUID=", "LABEL=", "PARTLABEL="};

// blkid_evaluate_tag looks at udev's /dev/disk/by-* links first and scans devices otherwise.
std::optional<std::string> evaluate_tag(const std::string& spec) {
  auto eq = spec.find('=');
  const std::string token = spec.substr(0, eq), value = spec.substr(eq + 1);
  char* found = blkid_evaluate_tag(token.c_str(), value.c_str(), nullptr);
  if (!found) return std::nullopt;
  std::string path = found;
  free(found);
  return path;
}

std::string probe_value(const std::string& devpath, const char* name) {
  std::unique_ptr<blkid_struct_probe, decltype(&blkid_free_probe)> probe(blkid_new_probe_from_filename(devpath.c_str()),
                                                                         blkid_free_probe);
  if (!probe) return "";
  blkid_probe_enable_superblocks(probe.get(), 1);
  blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_UUID);
  blkid_probe_enable_partitions(probe.get(), 1);
  blkid_probe_set_partitions_flags(probe.get(), BLKID_PARTS_ENTRY_DETAILS);
  if (blkid_do_safeprobe(probe.get()) != 0) return "";
  const char* data = nullptr;
  if (blkid_probe_lookup_value(probe.get(), name, &data, nullptr) != 0 || !data) return "";
  return data;
}

}  // namespace

std::string device_identity(const SystemPaths& paths, dev_t devno, const std::string& devpath) {
  const fs::path dir = sysfs_dir(paths, devno);
  const bool partition = fs::exists(dir / "partition");
  const fs::path disk = partition ? fs::canonical(dir).parent_path() : dir;
  const std::string suffix = partition ? ":part" + read_first_line(dir / "partition") : "";
  for (const char* file : {"wwid", "device/wwid", "serial", "device/serial"}) {
    std::string value = read_first_line(disk / file);
    if (!value.empty()) return std::string(file).substr(std::string(file).rfind('/') + 1) + ":" + value + suffix;
  }
  for (const char* name : {"PTUUID", "PARTUUID", "UUID"}) {
    std::string value = probe_value(devpath, name);
    if (!value.empty()) return std::string(name) + ":" + value;
  }
  return "path:" + devpath;
}

std::optional<std::string> mount_point_of(const SystemPaths& paths, dev_t devno) {
  std::ifstream in(paths.mountinfo);
  std::string line;
  const std::string ours = devno_text(devno);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, mm, root, mount_point;
    fields >> id >> parent >> mm >> root >> mount_point;
    if (mm == ours) return mount_point;
    // A mounted partition of the exported disk: its sysfs dir sits inside the disk's.
    const fs::path part = paths.sys / "dev/block" / mm;
    std::error_code ec;
    if (fs::exists(part / "partition", ec) && read_first_line(fs::canonical(part, ec).parent_path() / "dev") == ours)
      return mount_point;
  }
  return std::nullopt;
}

std::optional<std::string> holder_of(const SystemPaths& paths, dev_t devno) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(sysfs_dir(paths, devno) / "holders", ec))
    return entry.path().filename().string();
  return std::nullopt;
}

BlockDevice resolve_block_device(const std::string& key, const std::string& spec, std::chrono::milliseconds wait,
                                 const SystemPaths& paths) {
  bool is_tag = false;
  for (const char* prefix : tag_prefixes) is_tag = is_tag || spec.starts_with(prefix);
  if (!is_tag && !spec.starts_with("/"))
    throw setting_error(key, spec, "expected a device path, UUID=, PARTUUID=, LABEL= or PARTLABEL=");

  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::optional<std::string> path;
  for (;;) {
    if (is_tag) path = evaluate_tag(spec);
    else if (fs::exists(spec)) path = spec;
    if (path || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::string waited = " (waited " + std::to_string(wait.count() / 1000) + " s)";
  if (!path) throw setting_error(key, spec, is_tag ? "no such device" + waited : std::string("no such device: ") + std::strerror(ENOENT) + waited);

  BlockDevice dev;
  dev.spec = spec;
  std::error_code ec;
  dev.path = fs::canonical(*path, ec).string();
  if (ec) throw setting_error(key, spec, "cannot resolve " + *path + ": " + ec.message());
  struct stat st {};
  if (::stat(dev.path.c_str(), &st) != 0) throw setting_error(key, spec, dev.path + ": " + std::strerror(errno));
  if (!S_ISBLK(st.st_mode)) throw setting_error(key, spec, dev.path + " is not a block device");
  dev.devno = st.st_rdev;
  dev.name = fs::path(dev.path).filename().string();
  const std::string sectors = read_first_line(sysfs_dir(paths, dev.devno) / "size");
  dev.size_bytes = sectors.empty() ? 0 : std::stoull(sectors) * 512;  // sysfs counts 512-byte sectors
  if (auto mounted = mount_point_of(paths, dev.devno))
    throw setting_error(key, spec, dev.path + " is mounted at " + *mounted + "; refusing to export a mounted filesystem");
  if (auto holder = holder_of(paths, dev.devno))
    throw setting_error(key, spec, dev.path + " is in use by " + *holder + " (LVM, LUKS or md? boot with rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0)");
  dev.identity = device_identity(paths, dev.devno, dev.path);
  return dev;
}

}  // namespace iscsi_target
