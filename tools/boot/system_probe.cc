#include "system_probe.h"

#include <algorithm>
#include <sstream>

#include "cmdline.h"
#include "file_io.h"
#include "mountinfo.h"
#include "sysfs.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

std::string stable_name(const SystemRoots& roots, const std::string& kernel_name) {
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

std::string read_machine_id(const SystemRoots& roots) { return read_first_line(roots.etc / "machine-id"); }

std::string read_pretty_name(const SystemRoots& roots) {
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

std::vector<std::string> disks_holding(const SystemRoots& roots, const std::vector<std::string>& mount_points) {
  // Best effort: without mountinfo there are no root disks to derive defaults from, which callers report.
  const std::vector<Mount> mounts = parse_mountinfo(read_text_or_empty(roots.mountinfo()), roots);
  std::vector<std::string> kernel_names;
  for (const auto& wanted : mount_points) {
    const Mount* visible = nullptr;
    for (const Mount& m : mounts)
      if (m.mount_point == wanted) visible = &m;  // the last mount on a point is the visible one
    if (!visible) continue;
    for (dev_t device : visible->devices)
      for (dev_t disk : sysfs::whole_disks(roots, device)) {
        const std::string name = sysfs::name_of(roots, disk);
        if (std::find(kernel_names.begin(), kernel_names.end(), name) == kernel_names.end()) kernel_names.push_back(name);
      }
  }
  std::vector<std::string> specs;
  specs.reserve(kernel_names.size());
  for (const auto& name : kernel_names) specs.push_back(stable_name(roots, name));
  return specs;
}

std::vector<Nic> wired_nics(const SystemRoots& roots) {
  std::vector<Nic> nics;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(roots.sys / "class/net", ec)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const fs::path dir = roots.sys / "class/net" / name;
    if (read_first_line(dir / "type") != "1") continue;                 // ARPHRD_ETHER
    if (!fs::exists(dir / "device")) continue;                          // virtual (bridge, veth, tun)
    if (fs::exists(dir / "wireless") || fs::exists(dir / "phy80211")) continue;
    const std::string mac = read_first_line(dir / "address");
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

std::pair<std::string, std::string> system_cmdline(const SystemRoots& roots, const std::optional<std::string>& entry_options,
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

SystemFacts probe_system(const SystemRoots& roots, const std::optional<std::string>& entry_options, const fs::path& conf_root) {
  SystemFacts facts;
  facts.machine_id = read_machine_id(roots);
  facts.pretty_name = read_pretty_name(roots);
  facts.root_disks = disks_holding(roots, {"/", "/boot", "/boot/efi", "/efi"});
  facts.wired_nics = wired_nics(roots);
  std::tie(facts.cmdline, facts.cmdline_source) = system_cmdline(roots, entry_options, conf_root);
  return facts;
}

}  // namespace iscsi_target
