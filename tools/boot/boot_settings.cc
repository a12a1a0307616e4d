#include "boot_settings.h"

#include <algorithm>
#include <set>

#include "cmdline.h"
#include "error.h"
#include "iqn.h"
#include "read_back.h"

namespace iscsi_target {

namespace {

bool is_mac(const std::string& s) { return s.size() == 17 && std::count(s.begin(), s.end(), ':') == 5; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Options whose meaning belongs to one side only, or which we set ourselves.
bool generated_key(const std::string& key) {
  static const std::set<std::string> keys = {"ip", "ifname", "netroot", "rd.neednet", "bootdev", "rd.systemd.unit", "systemd.unit"};
  return keys.count(key) || key.starts_with("rd.iscsi.") || key.starts_with("rd.iscsi_target.");
}

// The target never mounts its root: drop root, resume and storage-stack activation; show the console.
bool target_drops(const std::string& key) {
  static const std::set<std::string> keys = {"root", "rootflags", "rootfstype", "ro", "rw", "resume", "resume_offset",
                                             "quiet", "splash", "rhgb", "init", "rd.lvm", "rd.luks", "rd.md", "rd.dm",
                                             "rd.multipath"};
  return keys.count(key) || key.starts_with("rd.lvm.") || key.starts_with("rd.luks.") || key.starts_with("rd.md.") ||
         key.starts_with("rd.dm.") || generated_key(key);
}

// Resuming the target's hibernation image on another machine would corrupt the disk.
bool initiator_drops(const std::string& key) {
  return key == "resume" || key == "resume_offset" || key == "init" || generated_key(key);
}

std::string filtered(const std::string& cmdline, bool (*drop)(const std::string&)) {
  std::string out;
  for (const auto& arg : parse_cmdline(cmdline)) {
    if (drop(arg.key)) continue;
    std::string value = arg.value.value_or("");
    if (value.find(' ') != std::string::npos) value = "\"" + value + "\"";
    out += (out.empty() ? "" : " ") + arg.key + (arg.value ? "=" + value : "");
  }
  return out;
}

void append(std::string& out, const std::string& words) {
  if (!words.empty()) out += (out.empty() ? "" : " ") + words;
}

}  // namespace

std::string netmask_of(unsigned prefix) {
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return std::to_string(mask >> 24) + "." + std::to_string((mask >> 16) & 255) + "." + std::to_string((mask >> 8) & 255) + "." +
         std::to_string(mask & 255);
}

BootSettings derive_boot_settings(const BootConfig& config, const SystemFacts& facts, const ChapCredentials& chap) {
  BootSettings s;
  s.devices = config.devices.empty() ? facts.root_disks : config.devices;
  if (s.devices.empty()) throw setting_error("devices", "", "none set and no disk found under / (set devices = /dev/disk/by-id/...)");

  if (config.nic) {
    auto match = std::find_if(facts.wired_nics.begin(), facts.wired_nics.end(), [&](const Nic& n) {
      return n.name == *config.nic || lower(n.mac) == lower(*config.nic);
    });
    if (match != facts.wired_nics.end()) s.nic = *match;
    else if (is_mac(*config.nic)) s.nic = {"", lower(*config.nic)};  // a NIC only the target's initramfs sees
    else throw setting_error("nic", *config.nic, "no such wired network interface");
  } else if (!facts.wired_nics.empty()) {
    s.nic = facts.wired_nics.front();
  } else {
    throw setting_error("nic", "", "no wired network interface found (set nic = MAC address)");
  }

  if (facts.machine_id.size() < 12 && (!config.target_iqn || !config.initiator_iqn))
    throw setting_error("target_iqn", "", "cannot derive a default: /etc/machine-id is missing");
  s.target_iqn = config.target_iqn.value_or(default_target_iqn(facts.machine_id));
  s.initiator_iqn = config.initiator_iqn.value_or(default_initiator_iqn(facts.machine_id));
  if (s.target_iqn == s.initiator_iqn) throw setting_error("initiator_iqn", s.initiator_iqn, "must differ from target_iqn");

  // A private point-to-point pair for a direct cable; 10.251.73.0/30 is unlikely to clash with a LAN.
  s.target_address = config.target_address.value_or("10.251.73.1");
  s.initiator_address = config.initiator_address.value_or("10.251.73.2");
  s.prefix = config.prefix.value_or(30);
  if (s.target_address == s.initiator_address) throw setting_error("initiator_address", s.initiator_address, "equals target_address");
  s.port = config.port.value_or(3260);
  s.chap = chap;
  s.read_only = config.read_only;
  s.system_cmdline = facts.cmdline;
  s.target_extra = config.target_cmdline.value_or("");
  s.initiator_extra = config.initiator_cmdline.value_or("");
  s.initiator_root = config.initiator_root.value_or("");
  s.usb_devices = config.usb_devices;
  s.pretty_name = facts.pretty_name;
  if (s.initiator_root.empty() && !Cmdline(parse_cmdline(s.system_cmdline)).get("root"))
    throw setting_error("initiator_root", "", "the system command line (" + facts.cmdline_source + ") has no root=; set initiator_root = root=UUID=...");
  if (config.boot_entries) verify_target_files(s);
  if (config.iso) verify_initiator_files(s);
  return s;
}

TargetSettings target_settings_of(const BootSettings& s) {
  TargetSettings t;
  t.iqn = s.target_iqn;
  t.device_specs = s.devices;
  t.initiator_iqns = {s.initiator_iqn};
  t.chap = s.chap;
  t.portal = Portal{s.target_address, s.port, false};
  t.read_only = s.read_only;
  t.cable = CableAddress{"iscsi0", s.target_address, static_cast<int>(s.prefix), false};
  return t;
}

std::string target_options(const BootSettings& s) {
  std::string out = filtered(s.system_cmdline, target_drops);
  // On the real command line, not only in the initramfs' cmdline.d: systemd's ConditionKernelCommandLine (dracut's
  // multipathd.service, for one) reads /proc/cmdline alone.
  append(out, "rd.systemd.unit=iscsi-target.target rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0");
  // The cable NIC gets a stable name from its MAC (dracut's ifname=); the address is set by iscsi-target itself
  // (rd.iscsi_target.address, written below), not by dracut's ip=: serving starts seconds sooner
  // (test-vms/bench-boot.sh) and a cable plugged in late still works.
  append(out, "ifname=iscsi0:" + s.nic.mac);
  append(out, target_cmdline_text(target_settings_of(s)));
  append(out, s.target_extra);
  return out;
}

std::string initiator_options(const BootSettings& s) {
  std::string out = s.initiator_root.empty() ? filtered(s.system_cmdline, initiator_drops)
                                             : filtered(s.system_cmdline + " " + s.initiator_root, initiator_drops);
  append(out, "ip=" + s.initiator_address + ":::" + netmask_of(s.prefix) + "::" + ":off rd.neednet=1");
  append(out, "netroot=iscsi:" + s.target_address + "::" + std::to_string(s.port) + "::" + s.target_iqn);
  append(out, std::string(keys::initiator) + "=" + s.initiator_iqn);  // the key dracut's initiator reads too
  // Session timeouts and CHAP come from the iscsid.conf inside the ISO's extra initrd (initiator_iscsid_conf).
  append(out, s.initiator_extra);
  return out;
}

std::string target_secrets_file(const BootSettings& s) { return target_conf_text(s.chap); }

std::string initiator_iscsid_conf(const BootSettings& s) {
  std::string text = "# iSCSI root over a direct cable to the iSCSI Target machine (dracut-iscsi-target)\n"
                     "node.startup = onboot\n"
                     "node.session.auth.authmethod = CHAP\n"
                     "node.session.auth.username = " + s.chap.userid + "\n"
                     "node.session.auth.password = " + s.chap.password + "\n";
  if (s.chap.mutual())
    text += "node.session.auth.username_in = " + s.chap.mutual_userid + "\nnode.session.auth.password_in = " + s.chap.mutual_password + "\n";
  // An iSCSI root must ride out cable pulls and target pauses instead of failing I/O (open-iscsi README).
  text += "node.session.timeo.replacement_timeout = 86400\n"
          "node.conn[0].timeo.noop_out_interval = 0\n"
          "node.conn[0].timeo.noop_out_timeout = 0\n";
  return text;
}

}  // namespace iscsi_target
