#include "boot_artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bls_entry.h"
#include "boot_config.h"
#include "boot_settings.h"
#include "chap_secrets.h"
#include "error.h"
#include "machine_facts.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw system_error("cannot read", file.string(), errno);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& file, const std::string& text, mode_t mode) {
  const fs::path tmp = file.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw system_error("cannot write", tmp.string(), errno);
  ::fchmod(fd, mode);
  ssize_t written = ::write(fd, text.data(), text.size());
  int err = errno;
  ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) throw system_error("cannot write", tmp.string(), written < 0 ? err : EIO);
  if (::rename(tmp.c_str(), file.c_str()) != 0) throw system_error("cannot rename into place", file.string(), errno);
}

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
}

BootConfig load_config(const BootPaths& paths) {
  BootConfig config;
  if (fs::exists(paths.config)) config = parse_boot_config(read_file(paths.config), paths.config.string());
  if (fs::exists(paths.legacy_config)) apply_legacy_config(read_file(paths.legacy_config), config, paths.legacy_config.string());
  return config;
}

ChapCredentials chap_for(const BootConfig& config, const BootPaths& paths) {
  ChapCredentials chap = load_or_create_chap_secrets(paths.secrets, config.mutual_chap, "iscsi-target-boot: warning: ");
  if (config.legacy_chap_username && config.legacy_chap_password)  // the shell original's one-way pair
    chap.userid = *config.legacy_chap_username, chap.password = *config.legacy_chap_password;
  if (!config.mutual_chap) chap.mutual_userid.clear(), chap.mutual_password.clear();
  return chap;
}

// The kernel's own BLS entry: <token>-<kver>.conf, else any entry of this version that is not ours.
std::optional<fs::path> find_kernel_entry(const fs::path& entries, const std::string& token, const std::string& kver) {
  const fs::path exact = entries / (token + "-" + kver + ".conf");
  if (fs::exists(exact)) return exact;
  std::error_code ec;
  std::vector<fs::path> candidates;
  for (const auto& e : fs::directory_iterator(entries, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with("-" + kver + ".conf") && name.find("iscsi-target") == std::string::npos) candidates.push_back(e.path());
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.empty()) return std::nullopt;
  return candidates.front();
}

fs::path first_existing(const std::vector<fs::path>& candidates) {
  for (const auto& c : candidates)
    if (!c.empty() && fs::exists(c)) return c;
  return {};
}

// Boot loaders see paths relative to the file system holding BOOT_ROOT (90-loaderentry writes them so).
fs::path mount_point_of(const fs::path& path) {
  std::error_code ec;
  fs::path current = fs::canonical(path, ec);
  if (ec) return path;
  struct stat st {};
  if (::stat(current.c_str(), &st) != 0) return path;
  const dev_t device = st.st_dev;
  while (current.has_relative_path()) {
    struct stat parent {};
    if (::stat(current.parent_path().c_str(), &parent) != 0 || parent.st_dev != device) break;
    current = current.parent_path();
  }
  return current;
}

fs::path record_file(const BootPaths& paths, const std::string& kver) { return paths.state_dir / (kver + ".files"); }
fs::path machine_facts_file(const BootPaths& paths) { return paths.state_dir / "machine-facts.json"; }

// kernel-install's 90-loaderentry copies /proc/cmdline into a new kernel's entry when there is no
// /etc/kernel/cmdline: booted over iSCSI, that is the initiator's command line. Put the machine's back.
std::optional<std::string> restore_kernel_entry_options(const fs::path& entry_file, BlsEntry entry, const std::string& machine_cmdline) {
  const std::string leaked = initiator_only_options(entry.options());
  if (leaked.empty() || !initiator_only_options(machine_cmdline).empty()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> lines;
  bool placed = false;
  for (auto& line : entry.lines) {
    if (line.first != "options") lines.push_back(std::move(line));
    else if (!placed) lines.emplace_back("options", machine_cmdline), placed = true;
  }
  entry.lines = std::move(lines);
  write_file(entry_file, entry.text(), 0644);
  return "restored the machine's own options in " + entry_file.string() + " (it had the initiator's: " + leaked + ")";
}

std::string entry_title(const std::string& kver, const std::string& pretty_name) {
  return "iSCSI Target (" + kver + ") " + pretty_name;
}

}  // namespace

AddResult add_boot_artifacts(const KernelInstallContext& ctx, const BootPaths& paths, const ArtifactWriters& writers) {
  AddResult result;
  const BootConfig config = load_config(paths);
  if (auto warning = legacy_secret_warning(paths.legacy_config, config)) result.messages.push_back(*warning);
  if (!config.boot_entries && !config.iso) {
    result.messages.push_back("boot_entries and iso are both off: nothing to do");
    return result;
  }
  const fs::path boot_root = ctx.boot_root.empty() ? paths.boot : ctx.boot_root;
  const std::string token = !ctx.entry_token.empty() ? ctx.entry_token : ctx.machine_id;
  const bool bls = ctx.layout == "bls" || ((ctx.layout.empty() || ctx.layout == "auto") && fs::exists(boot_root / "loader/entries"));
  if (ctx.layout == "uki") throw Error("KERNEL_INSTALL_LAYOUT=uki is not supported yet (kernel and initrd are inside the UKI)");

  // Where the kernel and its initramfs are, as the boot loader sees them and as files here.
  BlsEntry kernel_entry;
  fs::path kernel_entry_file;
  std::vector<std::string> loader_initrds;
  std::string loader_linux;
  fs::path kernel_file;
  std::vector<fs::path> initrd_files;
  const fs::path loader_root = mount_point_of(boot_root);
  if (bls) {
    auto entry_file = find_kernel_entry(boot_root / "loader/entries", token, ctx.kver);
    if (!entry_file) throw Error("no boot entry for " + ctx.kver + " in " + (boot_root / "loader/entries").string() + " (is 90-loaderentry.install enabled?)");
    kernel_entry_file = *entry_file;
    kernel_entry = read_bls_entry(*entry_file);
    auto linux_paths = kernel_entry.paths("linux");
    if (linux_paths.empty()) throw Error(entry_file->string() + ": no linux line");
    loader_linux = linux_paths.front();
    loader_initrds = kernel_entry.paths("initrd");
    kernel_file = loader_root / fs::path(loader_linux).relative_path();
    for (const auto& i : loader_initrds) initrd_files.push_back(loader_root / fs::path(i).relative_path());
  } else {
    kernel_file = first_existing({ctx.image, paths.boot / ("vmlinuz-" + ctx.kver)});
    if (kernel_file.empty()) throw Error("no kernel image for " + ctx.kver + " (looked for " + (paths.boot / ("vmlinuz-" + ctx.kver)).string() + ")");
    fs::path initrd = first_existing({ctx.initrds.empty() ? fs::path() : ctx.initrds.front(),
                                      ctx.staging_area.empty() ? fs::path() : ctx.staging_area / "initrd",
                                      paths.boot / ("initrd.img-" + ctx.kver), paths.boot / ("initramfs-" + ctx.kver + ".img")});
    if (initrd.empty()) throw Error("no initramfs for " + ctx.kver + " (looked for " + (paths.boot / ("initrd.img-" + ctx.kver)).string() + ")");
    initrd_files.push_back(initrd);
  }

  const SystemFacts probed = probe_system(paths.probe, bls ? std::optional(kernel_entry.options()) : std::nullopt, ctx.conf_root);
  const FactsChoice machine = choose_machine_facts(probed, read_text_or_empty(paths.probe.proc / "cmdline"), machine_facts_file(paths),
                                                   !config.devices.empty() && config.nic.has_value());
  const BootSettings settings = derive_boot_settings(config, machine.facts, chap_for(config, paths));
  make_private_dir(paths.state_dir);
  if (machine.save) write_file(machine_facts_file(paths), machine_facts_json(machine.facts), 0600);
  if (machine.over_iscsi) {
    result.messages.push_back(machine.note);
    if (bls)
      if (auto restored = restore_kernel_entry_options(kernel_entry_file, kernel_entry, machine.facts.cmdline)) result.messages.push_back(*restored);
  }
  std::vector<fs::path> created;

  if (config.boot_entries) {
    const std::string secrets_name = "iscsi-target-" + ctx.kver + ".img";
    const std::vector<CpioFile> target_secrets = {{"etc/iscsi-target/target.conf", target_secrets_file(settings), 0600}};
    if (bls) {
      const std::string secrets_loader_path = (fs::path(loader_linux).parent_path() / secrets_name).string();
      const fs::path secrets_file = loader_root / fs::path(secrets_loader_path).relative_path();
      writers.write_cpio(secrets_file, target_secrets);
      ::chmod(secrets_file.c_str(), 0600);
      created.push_back(secrets_file);
      BlsEntry entry;
      entry.lines.emplace_back("title", entry_title(ctx.kver, settings.pretty_name));
      // "~" sorts before everything: right below its own kernel in systemd-boot and Fedora's GRUB alike.
      entry.lines.emplace_back("version", ctx.kver + "~iscsi");
      if (!ctx.machine_id.empty()) entry.lines.emplace_back("machine-id", ctx.machine_id);
      entry.lines.emplace_back("sort-key", kernel_entry.get("sort-key").value_or(token));
      entry.lines.emplace_back("linux", loader_linux);
      for (const auto& i : loader_initrds) entry.lines.emplace_back("initrd", i);
      entry.lines.emplace_back("initrd", secrets_loader_path);
      entry.lines.emplace_back("options", target_options(settings));
      if (auto arch = kernel_entry.get("architecture")) entry.lines.emplace_back("architecture", *arch);
      result.entry = boot_root / "loader/entries" / (token + "-" + ctx.kver + "-iscsi-target.conf");
      write_file(result.entry, entry.text(), 0644);
      result.kind = EntryKind::bls;
    } else {
      const fs::path secrets_file = paths.boot / secrets_name;
      writers.write_cpio(secrets_file, target_secrets);
      ::chmod(secrets_file.c_str(), 0600);
      created.push_back(secrets_file);
      BlsEntry record;  // same format, file system paths; read by `grub-entries` for /etc/grub.d
      record.lines.emplace_back("title", entry_title(ctx.kver, settings.pretty_name));
      record.lines.emplace_back("version", ctx.kver);
      record.lines.emplace_back("linux", kernel_file.string());
      for (const auto& i : initrd_files) record.lines.emplace_back("initrd", i.string());
      record.lines.emplace_back("initrd", secrets_file.string());
      record.lines.emplace_back("options", target_options(settings));
      make_private_dir(paths.state_dir / "grub");
      result.entry = paths.state_dir / "grub" / (ctx.kver + ".conf");
      write_file(result.entry, record.text(), 0600);
      result.kind = fs::exists(paths.grub_d) ? EntryKind::grub : EntryKind::none;
      if (result.kind == EntryKind::none) result.messages.push_back("no BLS entries directory and no " + paths.grub_d.string() + ": only the ISO is made");
    }
    created.push_back(result.entry);
  }

  if (config.iso) {
    IsoSpec spec{kernel_file,
                 initrd_files,
                 {{initiator_iscsid_conf_path, initiator_iscsid_conf(settings), 0600}},
                 initiator_options(settings),
                 "Boot " + settings.pretty_name + " over iSCSI (" + ctx.kver + ")",
                 paths.state_dir / ("iscsi-boot-" + ctx.kver + ".iso")};
    result.messages.push_back(writers.build_iso(spec));
    result.iso = spec.output;
    created.push_back(result.iso);
    for (const auto& device : settings.usb_devices) {
      try {
        writers.write_usb(result.iso, device);
        result.messages.push_back("wrote " + result.iso.string() + " to " + device);
      } catch (const Error& e) {
        result.messages.push_back(std::string("usb_devices: ") + e.what());
      }
    }
  }

  std::string list;
  for (const auto& f : created) list += f.string() + "\n";
  write_file(record_file(paths, ctx.kver), list, 0600);
  result.created = created;
  return result;
}

std::vector<fs::path> remove_boot_artifacts(const std::string& kver, const BootPaths& paths) {
  std::vector<fs::path> removed;
  const fs::path record = record_file(paths, kver);
  if (!fs::exists(record)) return removed;
  std::istringstream in(read_file(record));
  std::error_code ec;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && fs::remove(line, ec)) removed.push_back(line);
  fs::remove(record, ec);
  return removed;
}

std::string grub_entry_records(const BootPaths& paths) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths.state_dir / "grub", ec))
    if (e.path().extension() == ".conf") files.push_back(e.path());
  // Newest kernel first, like grub-mkconfig's own list.
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  std::string out;
  for (const auto& file : files) {
    const BlsEntry r = read_bls_entry(file);
    auto linux_path = r.get("linux");
    if (!linux_path || !fs::exists(*linux_path)) continue;  // kernel gone: no menu entry
    std::string initrds;
    for (const auto& i : r.paths("initrd")) initrds += (initrds.empty() ? "" : " ") + i;
    out += r.get("version").value_or("") + "\t" + r.get("title").value_or("iSCSI Target") + "\t" + *linux_path + "\t" + initrds + "\t" +
           r.options() + "\n";
  }
  return out;
}

}  // namespace iscsi_target
