// What `kernel-install add` produces for one kernel: the "iSCSI Target" boot entry (BLS entry, or a record
// the /etc/grub.d script turns into a GRUB menu entry), the target's secrets initrd, the initiator ISO, and a
// list of every file created so `remove` deletes exactly those.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "iso_image.h"
#include "system_probe.h"

namespace iscsi_target {

// kernel-install's arguments and environment (systemd 250+); empty when not set.
struct KernelInstallContext {
  std::string kver;
  std::filesystem::path image;
  std::vector<std::filesystem::path> initrds;
  std::string machine_id, entry_token, layout;
  std::filesystem::path boot_root, staging_area, conf_root;
};

struct BootPaths {
  std::filesystem::path config = "/etc/iscsi-target/iscsi-target.conf";
  std::filesystem::path legacy_config = "/etc/dracut.conf.d/iscsi-target.conf";
  std::filesystem::path secrets = "/etc/iscsi-target/chap-secrets";
  std::filesystem::path state_dir = "/var/lib/dracut/iscsi-target";
  std::filesystem::path boot = "/boot";
  std::filesystem::path grub_d = "/etc/grub.d";
  SystemRoots probe;  // the running system's trees, probed for the defaults
};

// The pieces that run programs or touch devices; tests substitute fakes.
struct ArtifactWriters {
  std::function<IsoImageResult(const IsoImageSpec& spec)> build_iso;
  std::function<void(const std::filesystem::path& iso, const std::string& device)> write_usb;
};

enum class EntryKind { bls, grub, none };

struct AddResult {
  EntryKind kind = EntryKind::none;
  std::filesystem::path entry;  // BLS entry file or GRUB record
  std::filesystem::path iso;
  std::vector<std::filesystem::path> created;
  std::vector<std::string> messages;
};

// All or nothing: throws Error (one line naming the setting or file) when something could not be made, and
// then leaves none of this kernel's files behind. The caller reports it and still lets kernel-install succeed.
AddResult add_boot_artifacts(const KernelInstallContext& ctx, const BootPaths& paths, const ArtifactWriters& writers);
// Deletes the files `add` recorded for this kernel, nothing else. Returns the files removed.
std::vector<std::filesystem::path> remove_boot_artifacts(const std::string& kver, const BootPaths& paths);

// One tab-separated line per kernel with a GRUB record: KVER, title, kernel, initrds (space separated), and
// the options as GRUB script words (each single-quoted): grub.d/42_iscsi-target prints them as they are.
std::string grub_entry_records(const BootPaths& paths);

}  // namespace iscsi_target
