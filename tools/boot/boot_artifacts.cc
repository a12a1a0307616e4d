#include "boot_artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "bls_entry.h"
#include "boot_config.h"
#include "boot_settings.h"
#include "chap_secrets.h"
#include "cpio_newc.h"
#include "error.h"
#include "file_io.h"
#include "iso_menu.h"
#include "machine_facts.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) throw system_error("cannot chmod 0700", dir.string(), errno);
}

BootConfig load_config(const BootPaths& paths) {
  BootConfig config;
  if (auto text = read_file_if_exists(paths.config)) config = parse_boot_config(*text, paths.config.string());
  if (auto text = read_file_if_exists(paths.legacy_config)) apply_legacy_config(*text, config, paths.legacy_config.string());
  return config;
}

ChapCredentials chap_for(const BootConfig& config, const BootPaths& paths, std::vector<std::string>& messages) {
  ChapCredentials chap = load_or_create_chap_secrets(paths.secrets, config.mutual_chap, "iscsi-target-boot: warning: ");
  if (config.mutual_chap && !chap.mutual())
    messages.push_back("warning: mutual_chap = yes, but " + paths.secrets.string() +
                       " has no mutual credentials (made while it was off): the target does not prove itself. Delete the file "
                       "and run kernel-install add again to make new ones (then the ISO must be written again).");
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
  write_file_atomic(entry_file, entry.text(), 0644);
  return "restored the machine's own options in " + entry_file.string() + " (it had the initiator's: " + leaked + ")";
}

// One line of text for every menu: a control character (a tab or newline from os-release) becomes a space.
std::string entry_title(const std::string& kver, const std::string& pretty_name) {
  std::string title = "iSCSI Target (" + kver + ") " + pretty_name;
  for (char& c : title)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return title;
}

// The options as GRUB script words: each kernel word single-quoted, so `$`, `;`, `#`, `{` or `"` in a
// setting stay text for GRUB and reach the kernel as written (GRUB re-quotes a word with spaces for it).
std::string grub_words(const std::string& options) {
  std::string out;
  for (const auto& word : kernel_cmdline_words(options)) out += (out.empty() ? "" : " ") + grub_quote(word);
  return out;
}

// Refused at install time rather than in a boot loader: what cannot pass through GRUB and the kernel unchanged.
std::string checked_options(const std::string& options) {
  try {
    kernel_cmdline_words(options);
  } catch (const Error& e) {
    throw Error(std::string("the iSCSI Target entry's options (the system's command line + target_cmdline): ") + e.what());
  }
  return options;
}

// Where this kernel and its initramfs are: as the boot loader names them (BLS) and as files here.
struct KernelFiles {
  bool bls = false;
  fs::path loader_root;                  // the file system BLS paths are relative to
  fs::path kernel_entry_file;            // BLS: the kernel's own entry
  BlsEntry kernel_entry;
  std::string loader_linux;              // BLS: as the entry names it
  std::vector<std::string> loader_initrds;
  fs::path kernel;
  std::vector<fs::path> initrds;
};

KernelFiles locate_kernel(const KernelInstallContext& ctx, const BootPaths& paths, const fs::path& boot_root, const std::string& token) {
  KernelFiles k;
  k.bls = ctx.layout == "bls" || ((ctx.layout.empty() || ctx.layout == "auto") && fs::exists(boot_root / "loader/entries"));
  k.loader_root = mount_point_of(boot_root);
  if (k.bls) {
    auto entry_file = find_kernel_entry(boot_root / "loader/entries", token, ctx.kver);
    if (!entry_file) throw Error("no boot entry for " + ctx.kver + " in " + (boot_root / "loader/entries").string() + " (is 90-loaderentry.install enabled?)");
    k.kernel_entry_file = *entry_file;
    k.kernel_entry = read_bls_entry(*entry_file);
    auto linux_paths = k.kernel_entry.paths("linux");
    if (linux_paths.empty()) throw Error(entry_file->string() + ": no linux line");
    k.loader_linux = linux_paths.front();
    k.loader_initrds = k.kernel_entry.paths("initrd");
    k.kernel = k.loader_root / fs::path(k.loader_linux).relative_path();
    for (const auto& i : k.loader_initrds) k.initrds.push_back(k.loader_root / fs::path(i).relative_path());
    return k;
  }
  k.kernel = first_existing({ctx.image, paths.boot / ("vmlinuz-" + ctx.kver)});
  if (k.kernel.empty()) throw Error("no kernel image for " + ctx.kver + " (looked for " + (paths.boot / ("vmlinuz-" + ctx.kver)).string() + ")");
  fs::path initrd = first_existing({ctx.initrds.empty() ? fs::path() : ctx.initrds.front(),
                                    ctx.staging_area.empty() ? fs::path() : ctx.staging_area / "initrd",
                                    paths.boot / ("initrd.img-" + ctx.kver), paths.boot / ("initramfs-" + ctx.kver + ".img")});
  if (initrd.empty()) throw Error("no initramfs for " + ctx.kver + " (looked for " + (paths.boot / ("initrd.img-" + ctx.kver)).string() + ")");
  k.initrds.push_back(initrd);
  return k;
}

// The machine's facts (saved on the machine itself, reused when booted over iSCSI) and the settings from them.
BootSettings derive_settings(const KernelInstallContext& ctx, const BootPaths& paths, const BootConfig& config, const KernelFiles& kernel,
                             AddResult& result) {
  const SystemFacts probed = probe_system(paths.probe, kernel.bls ? std::optional(kernel.kernel_entry.options()) : std::nullopt, ctx.conf_root);
  const FactsChoice machine = choose_machine_facts(probed, read_text_or_empty(paths.probe.proc / "cmdline"), machine_facts_file(paths),
                                                   !config.devices.empty() && config.nic.has_value());
  BootSettings settings = derive_boot_settings(config, machine.facts, chap_for(config, paths, result.messages));
  make_private_dir(paths.state_dir);
  if (machine.save) write_file_atomic(machine_facts_file(paths), machine_facts_json(machine.facts), 0600);
  if (machine.over_iscsi) {
    result.messages.push_back(machine.note);
    if (kernel.bls)
      if (auto restored = restore_kernel_entry_options(kernel.kernel_entry_file, kernel.kernel_entry, machine.facts.cmdline))
        result.messages.push_back(*restored);
  }
  return settings;
}

// The files one add makes, known before any is written: the record lists them first, so a run killed half
// way still leaves only files `remove` knows.
struct Planned {
  fs::path secrets_initrd, entry, iso;
  std::string secrets_loader_path;  // BLS: the secrets initrd as the entry names it
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto* f : {&secrets_initrd, &entry, &iso})
      if (!f->empty()) out.push_back(*f);
    return out;
  }
};

Planned plan_files(const KernelInstallContext& ctx, const BootPaths& paths, const BootConfig& config, const KernelFiles& kernel,
                   const fs::path& boot_root, const std::string& token) {
  Planned p;
  if (config.boot_entries) {
    const std::string secrets_name = "iscsi-target-" + ctx.kver + ".img";
    if (kernel.bls) {
      p.secrets_loader_path = (fs::path(kernel.loader_linux).parent_path() / secrets_name).string();
      p.secrets_initrd = kernel.loader_root / fs::path(p.secrets_loader_path).relative_path();
      p.entry = boot_root / "loader/entries" / (token + "-" + ctx.kver + "-iscsi-target.conf");
    } else {
      p.secrets_initrd = paths.boot / secrets_name;
      p.entry = paths.state_dir / "grub" / (ctx.kver + ".conf");
    }
  }
  if (config.iso) p.iso = paths.state_dir / ("iscsi-boot-" + ctx.kver + ".iso");
  return p;
}

void write_record(const BootPaths& paths, const std::string& kver, const std::vector<fs::path>& files) {
  std::string list;
  for (const auto& f : files) list += f.string() + "\n";
  write_file_atomic(record_file(paths, kver), list, 0600);
}

// The "iSCSI Target" entry: a BLS entry right under its kernel, or on GRUB a record (same format, file
// system paths) that `grub-entries` turns into a menu entry. Its secrets initrd carries target.conf (CHAP).
EntryKind write_target_entry(const KernelInstallContext& ctx, const BootPaths& paths, const KernelFiles& kernel, const BootSettings& settings,
                             const Planned& planned, const std::string& token) {
  write_cpio_newc(planned.secrets_initrd, {CpioEntry::file("/etc/iscsi-target/target.conf", target_secrets_file(settings), 0600)},
                  0);  // fixed mtime: same secrets, same bytes
  BlsEntry entry;
  entry.lines.emplace_back("title", entry_title(ctx.kver, settings.pretty_name));
  if (kernel.bls) {
    // "~" sorts before everything: right below its own kernel in systemd-boot and Fedora's GRUB alike.
    entry.lines.emplace_back("version", ctx.kver + "~iscsi");
    if (!ctx.machine_id.empty()) entry.lines.emplace_back("machine-id", ctx.machine_id);
    entry.lines.emplace_back("sort-key", kernel.kernel_entry.get("sort-key").value_or(token));
    entry.lines.emplace_back("linux", kernel.loader_linux);
    for (const auto& i : kernel.loader_initrds) entry.lines.emplace_back("initrd", i);
    entry.lines.emplace_back("initrd", planned.secrets_loader_path);
  } else {
    entry.lines.emplace_back("version", ctx.kver);
    entry.lines.emplace_back("linux", kernel.kernel.string());
    for (const auto& i : kernel.initrds) entry.lines.emplace_back("initrd", i.string());
    entry.lines.emplace_back("initrd", planned.secrets_initrd.string());
  }
  entry.lines.emplace_back("options", checked_options(target_options(settings)));
  if (kernel.bls) {
    if (auto arch = kernel.kernel_entry.get("architecture")) entry.lines.emplace_back("architecture", *arch);
    write_file_atomic(planned.entry, entry.text(), 0644);  // loaders read it; it holds no secret
    return EntryKind::bls;
  }
  make_private_dir(planned.entry.parent_path());
  write_file_atomic(planned.entry, entry.text(), 0600);
  return fs::exists(paths.grub_d) ? EntryKind::grub : EntryKind::none;
}

std::string iso_summary(const IsoImageResult& r) {
  std::ostringstream line;
  line.precision(2);
  line << std::fixed << "ISO " << r.output.string() << ": " << static_cast<double>(r.bytes) / 1048576.0 << " MiB ("
       << static_cast<double>(r.overhead_bytes) / 1048576.0 << " MiB over kernel+initrds), built in " << r.build_seconds << " s; "
       << r.secure_boot_note;
  return line.str();
}

// The initiator's ISO: the same kernel and initramfs, the initiator's command line, CHAP in iscsid.conf.
std::string write_initiator_iso(const KernelInstallContext& ctx, const KernelFiles& kernel, const BootSettings& settings, const fs::path& output,
                                const ArtifactWriters& writers) {
  IsoImageSpec spec;
  spec.kernel = kernel.kernel;
  spec.initrds = kernel.initrds;
  spec.extra_initrd = {CpioEntry::file(std::string("/") + initiator_iscsid_conf_path, initiator_iscsid_conf(settings), 0600)};
  spec.cmdline = initiator_options(settings);
  spec.title = "Boot " + settings.pretty_name + " over iSCSI (" + ctx.kver + ")";
  spec.output = output;
  return iso_summary(writers.build_iso(spec));
}

// A stick that cannot take the image is reported, not fatal: the ISO itself is made.
void write_to_sticks(const fs::path& iso, const BootSettings& settings, const ArtifactWriters& writers, AddResult& result) {
  for (const auto& device : settings.usb_devices) {
    try {
      writers.write_usb(iso, device);
      result.messages.push_back("wrote " + iso.string() + " to " + device);
    } catch (const Error& e) {
      result.messages.push_back(std::string("usb_devices: ") + e.what());
    }
  }
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
  if (ctx.layout == "uki") throw Error("KERNEL_INSTALL_LAYOUT=uki is not supported yet (kernel and initrd are inside the UKI)");
  const fs::path boot_root = ctx.boot_root.empty() ? paths.boot : ctx.boot_root;
  const std::string token = !ctx.entry_token.empty() ? ctx.entry_token : ctx.machine_id;

  const KernelFiles kernel = locate_kernel(ctx, paths, boot_root, token);
  const BootSettings settings = derive_settings(ctx, paths, config, kernel, result);
  const Planned planned = plan_files(ctx, paths, config, kernel, boot_root, token);
  write_record(paths, ctx.kver, planned.files());
  try {
    if (config.boot_entries) {
      result.kind = write_target_entry(ctx, paths, kernel, settings, planned, token);
      result.entry = planned.entry;
      if (result.kind == EntryKind::none)
        result.messages.push_back("no BLS entries directory and no " + paths.grub_d.string() + ": only the ISO is made");
    }
    if (config.iso) {
      result.messages.push_back(write_initiator_iso(ctx, kernel, settings, planned.iso, writers));
      result.iso = planned.iso;
    }
  } catch (...) {
    remove_boot_artifacts(ctx.kver, paths);
    throw;
  }
  result.created = planned.files();
  if (config.iso) write_to_sticks(result.iso, settings, writers, result);
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
    const std::string kver = r.get("version").value_or("");
    if (kver.empty() || kver.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~_-") != std::string::npos)
      throw Error(file.string() + ": version '" + kver + "' is not a kernel version");
    out += kver + "\t" + r.get("title").value_or("iSCSI Target") + "\t" + *linux_path + "\t" + initrds + "\t" +
           grub_words(r.options()) + "\n";
  }
  return out;
}

}  // namespace iscsi_target
