#include "system_probe.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "cmdline.h"
#include "file_io.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

std::string read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (in) std::getline(in, line);
  while (!line.empty() && isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

// The kernel names of the whole disks beneath a block device (itself, its parent, or dm/md slaves).
void collect_disks(const ProbeRoots& roots, const fs::path& sysdir, std::vector<std::string>& out, int depth = 0) {
  std::error_code ec;
  const fs::path dir = fs::canonical(sysdir, ec);
  if (ec || depth > 8) return;
  bool has_slaves = false;
  for (const auto& slave : fs::directory_iterator(dir / "slaves", ec)) {
    has_slaves = true;
    collect_disks(roots, roots.sys / "class/block" / slave.path().filename(), out, depth + 1);
  }
  if (has_slaves) return;
  const fs::path disk = fs::exists(dir / "partition") ? dir.parent_path() : dir;
  const std::string name = disk.filename().string();
  if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
}

std::string stable_name(const ProbeRoots& roots, const std::string& kernel_name) {
  std::error_code ec;
  std::vector<std::string> links;
  for (const auto& entry : fs::directory_iterator(roots.dev / "disk/by-id", ec)) {
    const std::string link = entry.path().filename().string();
    if (fs::read_symlink(entry.path(), ec).filename() == kernel_name && !ec) links.push_back(link);
  }
  std::sort(links.begin(), links.end());
  // wwn-/eui- names are fine but less readable than the bus-model-serial ones.
  auto preferred = std::find_if(links.begin(), links.end(), [](const std::string& l) {
    return !l.starts_with("wwn-") && l.find("-eui.") == std::string::npos && !l.starts_with("nvme-nvme.");
  });
  if (preferred != links.end()) return "/dev/disk/by-id/" + *preferred;
  if (!links.empty()) return "/dev/disk/by-id/" + links.front();
  return "/dev/" + kernel_name;
}

}  // namespace

std::string read_machine_id(const ProbeRoots& roots) { return read_line(roots.etc / "machine-id"); }

std::string read_pretty_name(const ProbeRoots& roots) {
  for (const auto& file : {roots.etc / "os-release", roots.usr_lib / "os-release"}) {
    std::istringstream in(read_text_or_empty(file));
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("PRETTY_NAME=")) {
        std::string value = line.substr(12);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) value = value.substr(1, value.size() - 2);
        return value;
      }
  }
  return "Linux";
}

std::vector<std::string> disks_holding(const ProbeRoots& roots, const std::vector<std::string>& mount_points) {
  std::vector<std::string> kernel_names;
  std::istringstream mountinfo(read_text_or_empty(roots.proc / "self/mountinfo"));
  std::vector<std::pair<std::string, std::string>> mounts;  // mount point -> "M:m" or source path
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream f(line);
    std::string id, parent, mm, root, point;
    f >> id >> parent >> mm >> root >> point;
    auto dash = line.find(" - ");
    std::string fstype, source;
    if (dash != std::string::npos) std::istringstream(line.substr(dash + 3)) >> fstype >> source;
    // btrfs and others report an anonymous 0:N device; the mount source names the real one.
    if (mm.starts_with("0:") && source.starts_with("/dev/")) {
      struct stat st {};
      if (::stat(source.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) mm = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    }
    mounts.emplace_back(point, mm);
  }
  for (const auto& wanted : mount_points) {
    std::string mm;
    for (const auto& [point, dev] : mounts)
      if (point == wanted) mm = dev;  // the last mount on a point is the visible one
    if (!mm.empty() && !mm.starts_with("0:")) collect_disks(roots, roots.sys / "dev/block" / mm, kernel_names);
  }
  std::vector<std::string> specs;
  specs.reserve(kernel_names.size());
  for (const auto& name : kernel_names) specs.push_back(stable_name(roots, name));
  return specs;
}

std::vector<Nic> wired_nics(const ProbeRoots& roots) {
  std::vector<Nic> nics;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(roots.sys / "class/net", ec)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const fs::path dir = roots.sys / "class/net" / name;
    if (read_line(dir / "type") != "1") continue;                       // ARPHRD_ETHER
    if (!fs::exists(dir / "device")) continue;                          // virtual (bridge, veth, tun)
    if (fs::exists(dir / "wireless") || fs::exists(dir / "phy80211")) continue;
    const std::string mac = read_line(dir / "address");
    if (mac.empty() || mac == "00:00:00:00:00:00") continue;
    nics.push_back({name, mac});
  }
  return nics;
}

std::string without_loader_args(const std::string& cmdline) {
  std::string out;
  for (const auto& arg : parse_cmdline(cmdline)) {
    if (arg.key == "BOOT_IMAGE" || arg.key == "initrd") continue;
    std::string word = arg.key + (arg.value ? "=" + *arg.value : "");
    if (word.find(' ') != std::string::npos) word = arg.key + "=\"" + arg.value.value_or("") + "\"";
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

std::pair<std::string, std::string> system_cmdline(const ProbeRoots& roots, const std::optional<std::string>& entry_options,
                                                   const fs::path& conf_root) {
  for (const auto& file : {conf_root.empty() ? fs::path() : conf_root / "cmdline", roots.etc / "kernel/cmdline", roots.usr_lib / "kernel/cmdline"}) {
    if (!file.empty() && fs::exists(file)) {
      std::string text = read_text_or_empty(file);
      std::replace(text.begin(), text.end(), '\n', ' ');
      return {without_loader_args(text), file.string()};
    }
  }
  if (entry_options && !entry_options->empty()) return {without_loader_args(*entry_options), "the kernel's boot entry"};
  return {without_loader_args(read_text_or_empty(roots.proc / "cmdline")), (roots.proc / "cmdline").string()};
}

SystemFacts probe_system(const ProbeRoots& roots, const std::optional<std::string>& entry_options, const fs::path& conf_root) {
  SystemFacts facts;
  facts.machine_id = read_machine_id(roots);
  facts.pretty_name = read_pretty_name(roots);
  facts.root_disks = disks_holding(roots, {"/", "/boot", "/boot/efi", "/efi"});
  facts.wired_nics = wired_nics(roots);
  std::tie(facts.cmdline, facts.cmdline_source) = system_cmdline(roots, entry_options, conf_root);
  return facts;
}

}  // namespace iscsi_target
