// /etc/iscsi-target/iscsi-target.conf: what the user chose. Every setting is optional; what is missing is
// derived from the running system (boot_settings.h). Users of the shell original keep their
// /etc/dracut.conf.d/iscsi-target.conf variables (dracut_iscsi_target_*), mapped here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace iscsi_target {

struct BootConfig {
  std::vector<std::string> devices;  // rd.iscsi_target.dev specs, LUN order
  std::optional<std::string> nic;    // MAC address or interface name
  std::optional<std::string> target_address, initiator_address;  // IPv4, optional /prefix on target_address
  std::optional<unsigned> prefix;
  std::optional<uint16_t> port;
  std::optional<std::string> target_iqn, initiator_iqn;
  std::optional<std::string> target_cmdline, initiator_cmdline;  // extra options for each side
  std::optional<std::string> initiator_root;                     // root options for the initiator (default: system's)
  std::vector<std::string> usb_devices;                          // written with each new ISO
  bool boot_entries = true;
  bool iso = true;
  bool mutual_chap = true;
  bool read_only = false;  // the target exports every disk write-protected (rd.iscsi_target.read_only=1)
  // Only from the shell original's file; new secrets live in the root-only secrets file.
  std::optional<std::string> legacy_chap_username, legacy_chap_password;
};

// Parses "key = value" lines ('#' comments, values may be double-quoted). Throws Error
// "FILE:LINE: key=value: reason" for unknown keys and malformed values.
BootConfig parse_boot_config(const std::string& text, const std::string& source);

// Maps the shell original's dracut_iscsi_target_* variables onto config (values already in config win).
// Its CHAP username and password get the target's check (chap_value_problem); a bad one throws Error
// "SOURCE: dracut_iscsi_target_password=<hidden N characters>: reason".
void apply_legacy_config(const std::string& shell_text, BootConfig& config, const std::string& source);

// One line for the caller to show when the shell original's file carries a CHAP password and is readable by
// every user (such files are usually 0644); nullopt otherwise. Names the file, never the password.
std::optional<std::string> legacy_secret_warning(const std::filesystem::path& file, const BootConfig& config);

}  // namespace iscsi_target
