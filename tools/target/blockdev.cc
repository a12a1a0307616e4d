#include "blockdev.h"
#include "file_io.h"

#include <blkid/blkid.h>
#include <sys/stat.h>

#include <memory>
#include <thread>

#include "error.h"
#include "mountinfo.h"
#include "real_path.h"
#include "sysfs.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

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

std::string device_identity(const SystemRoots& roots, dev_t devno, const std::string& devpath) {
  const fs::path dir = sysfs::dir(roots, devno);
  const bool partition = fs::exists(dir / "partition");
  fs::path disk = dir;
  if (partition) {
    int err = 0;
    const auto real = real_path(dir, err);
    if (!real) throw system_error("cannot resolve", dir.string(), err);
    disk = real->parent_path();
  }
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

std::optional<std::string> export_refusal(const SystemRoots& roots, dev_t devno, const std::string& path) {
  for (const Mount& m : read_mountinfo(roots))
    for (dev_t d : m.devices)
      if (d == devno || sysfs::parent_disk(roots, d) == devno)
        return path + " is mounted at " + m.mount_point + " (" + sysfs::name_of(roots, d) + ", " + m.fstype +
               "); refusing to export a mounted filesystem";
  const auto held = sysfs::holders(roots, devno);
  if (!held.empty()) {
    const sysfs::Holder& h = held.front();
    const std::string on = h.on == sysfs::name_of(roots, devno) ? "" : " on " + h.on;
    return path + " is in use by " + h.name + on + " (LVM, LUKS or md? boot with rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0)";
  }
  return std::nullopt;
}

BlockDevice resolve_block_device(const std::string& key, const std::string& spec, std::chrono::milliseconds wait,
                                 const SystemRoots& roots) {
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
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string waited = " (waited " + std::to_string(wait.count() / 1000) + " s)";
  if (!path) throw setting_error(key, spec, is_tag ? "no such device" + waited : std::string("no such device: ") + std::strerror(ENOENT) + waited);

  BlockDevice dev;
  dev.spec = spec;
  int err = 0;
  const auto real = real_path(*path, err);
  if (!real) throw setting_error(key, spec, "cannot resolve " + *path + ": " + std::strerror(err));
  dev.path = real->string();
  struct stat st {};
  if (::stat(dev.path.c_str(), &st) != 0) throw setting_error(key, spec, dev.path + ": " + std::strerror(errno));
  if (!S_ISBLK(st.st_mode)) throw setting_error(key, spec, dev.path + " is not a block device");
  dev.devno = st.st_rdev;
  dev.name = fs::path(dev.path).filename().string();
  std::optional<std::string> refusal;
  try {
    refusal = export_refusal(roots, dev.devno, dev.path);
  } catch (const Error& e) {
    throw setting_error(key, spec, e.what());
  }
  if (refusal) throw setting_error(key, spec, *refusal);
  dev.identity = device_identity(roots, dev.devno, dev.path);
  return dev;
}

}  // namespace iscsi_target
