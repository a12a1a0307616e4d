// iscsi-target-boot: the "iSCSI Target" boot entry and the initiator ISO for each installed kernel.
// Called by the kernel-install plugin, Debian's /etc/kernel/post{inst,rm}.d hooks and /etc/grub.d script.
#include <cstdlib>
#include <fstream>
#include <cstring>
#include <iostream>

#include "boot_artifacts.h"
#include "boot_writers.h"
#include "error.h"
#include "file_io.h"
#include "text.h"
#include "iso_command.h"

namespace {

using namespace iscsi_target;
namespace fs = std::filesystem;

constexpr const char* usage = R"(usage: iscsi-target-boot COMMAND ...

  kernel-install add|remove KVER [ENTRY_DIR [IMAGE [INITRD...]]]
                   as a kernel-install plugin (reads KERNEL_INSTALL_* from the environment)
  add KVER [IMAGE] make the entry and ISO for an installed kernel (Debian postinst.d)
  remove KVER      delete exactly what add made for KVER (Debian postrm.d)
  grub-entries     records for /etc/grub.d/42_iscsi-target
  iso build|write  build an ISO from parts / write an ISO to a USB stick (see 'iso --help')

Settings: /etc/iscsi-target/iscsi-target.conf. CHAP secrets: /etc/iscsi-target/chap-secrets (0600).
)";

void say(const std::string& line) { std::cout << "iscsi-target-boot: " << line << std::endl; }

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

BootPaths boot_paths() {
  BootPaths paths;
  // Tests run the real plugin against throwaway trees.
  if (auto root = env("ISCSI_TARGET_TEST_ROOT"); !root.empty()) {
    paths.config = root + paths.config.string();
    paths.legacy_config = root + paths.legacy_config.string();
    paths.secrets = root + paths.secrets.string();
    paths.state_dir = root + paths.state_dir.string();
    paths.grub_d = root + paths.grub_d.string();
    paths.boot = root + paths.boot.string();
  }
  return paths;
}

std::string read_machine_id_or_empty() { return trim(read_text_or_empty("/etc/machine-id")); }

// Our failures must never fail the kernel installation: the normal entry is what boots the machine.
int add(const KernelInstallContext& ctx) {
  const std::string unaffected = " (no iSCSI Target entry for " + ctx.kver + "; the normal boot entry is unaffected)";
  try {
    const AddResult result = add_boot_artifacts(ctx, boot_paths(), real_artifact_writers());
    for (const auto& m : result.messages) say(m);
    if (result.kind == EntryKind::bls) say("boot entry " + result.entry.string());
    if (result.kind == EntryKind::grub) say("GRUB menu entry data " + result.entry.string() + " (shown after update-grub)");
    if (!result.iso.empty()) say("initiator ISO " + result.iso.string());
  } catch (const Error& e) {
    std::cerr << "iscsi-target-boot: error: " << e.what() << unaffected << std::endl;
  } catch (const std::exception& e) {  // e.g. a full /var (filesystem_error), bad_alloc
    std::cerr << "iscsi-target-boot: error: " << e.what() << unaffected << std::endl;
  } catch (...) {
    std::cerr << "iscsi-target-boot: error: unexpected failure" << unaffected << std::endl;
  }
  return 0;
}

int remove(const std::string& kver) {
  try {
    for (const auto& f : remove_boot_artifacts(kver, boot_paths())) say("removed " + f.string());
  } catch (const std::exception& e) {
    std::cerr << "iscsi-target-boot: error: removing what add made for " << kver << ": " << e.what() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  try {
    const std::string command = args[0];
    if (command == "kernel-install" && args.size() >= 3) {
      // kernel-install VERB KVER ENTRY_DIR IMAGE INITRD…: ENTRY_DIR is 90-loaderentry's business, not ours.
      const std::string& verb = args[1];
      KernelInstallContext ctx;
      ctx.kver = args[2];
      if (args.size() > 4) ctx.image = args[4];
      for (size_t i = 5; i < args.size(); ++i) ctx.initrds.emplace_back(args[i]);
      ctx.machine_id = env("KERNEL_INSTALL_MACHINE_ID");
      ctx.entry_token = env("KERNEL_INSTALL_ENTRY_TOKEN");
      ctx.layout = env("KERNEL_INSTALL_LAYOUT");
      ctx.boot_root = env("KERNEL_INSTALL_BOOT_ROOT");
      ctx.staging_area = env("KERNEL_INSTALL_STAGING_AREA");
      ctx.conf_root = env("KERNEL_INSTALL_CONF_ROOT");
      if (verb == "add") return add(ctx);
      if (verb == "remove") return remove(ctx.kver);
      return 0;  // other verbs are not ours
    }
    if (command == "add" && args.size() >= 2) {
      KernelInstallContext ctx;
      ctx.kver = args[1];
      if (args.size() > 2) ctx.image = args[2];
      ctx.machine_id = read_machine_id_or_empty();
      ctx.layout = "auto";
      ctx.conf_root = env("KERNEL_INSTALL_CONF_ROOT");  // kernel-install's config dir, honoured here too
      return add(ctx);
    }
    if (command == "remove" && args.size() >= 2) return remove(args[1]);
    if (command == "grub-entries") {
      std::cout << grub_entry_records(boot_paths());
      return 0;
    }
    if (command == "iso") return cmd_iso(std::vector<std::string>(args.begin() + 1, args.end()));
    std::cerr << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "iscsi-target-boot: error: " << e.what() << std::endl;
    return 1;
  } catch (...) {
    std::cerr << "iscsi-target-boot: error: unexpected failure" << std::endl;
    return 1;
  }
}
