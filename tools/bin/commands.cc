#include "commands.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "blockdev.h"
#include "cmdline.h"
#include "configfs.h"
#include "error.h"
#include "file_io.h"
#include "iqn.h"
#include "cable_link.h"
#include "crng_warmup.h"
#include "kmod.h"
#include "portal_address.h"
#include "lio_apply.h"
#include "lio_paths.h"
#include "lio_read.h"
#include "output.h"
#include "power_supply.h"
#include "poweroff_guard.h"
#include "saveconfig.h"
#include "settings.h"
#include "status.h"
#include "target_plan.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

constexpr const char* last_error_file = "/run/iscsi-target/error";
constexpr long configfs_magic = 0x62656570;  // CONFIGFS_MAGIC, linux/magic.h

void warn(const std::string& message) { write_stderr("iscsi-target: warning: " + message + "\n"); }

// The command line as dracut builds it, then our settings file inside the initramfs: CHAP secrets belong
// there, because dracut logs its command line (cmdline.d included) to the kernel log.
Cmdline load_cmdline(const Options& o) {
  Cmdline cmdline = Cmdline::load(o.etc_dir, o.proc_cmdline, o.has_cmdline_text ? std::optional(o.cmdline_text) : std::nullopt);
  const fs::path settings_file = fs::path(o.etc_dir) / "iscsi-target/target.conf";
  if (cmdline.append_file_if_exists(settings_file)) {
    struct stat st {};
    if (::stat(settings_file.c_str(), &st) == 0 && (st.st_mode & 077))
      warn(settings_file.string() + " is readable by others; it may hold CHAP secrets (chmod 600)");
  }
  return cmdline;
}

// The same name the boot side gives the target (iqn.h), for a command line without rd.iscsi_target.iqn.
std::string default_iqn(const Options& o) {
  const std::string text = read_text_or_empty(fs::path(o.etc_dir) / "machine-id");
  const auto words = split_fields(text, whitespace);  // its first word, as `ifstream >> id` took it
  return default_target_iqn(words.empty() ? std::string_view() : words.front());
}

// Everything LIO needs from the running kernel, before the first configfs write; with_fileio: the config has
// fileio backstores (kmod.h).
void prepare_kernel(bool with_fileio) {
  // LIO keeps persistent-reservation state under its dbroot (/etc/target); without it every PR command fails.
  std::error_code ec;
  fs::create_directories("/etc/target/pr", ec);
  if (ec) throw Error("cannot create LIO state directory /etc/target/pr: " + ec.message());
  std::vector<std::string> modules = lio_modules;
  if (with_fileio) modules.emplace_back(lio_fileio_module);
  load_kernel_modules(modules);
  struct statfs st {};
  if (::statfs("/sys/kernel/config", &st) != 0 || st.f_type != configfs_magic) {
    if (::mount("configfs", "/sys/kernel/config", "configfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 && errno != EBUSY)
      throw system_error("cannot mount configfs on", "/sys/kernel/config", errno);
  }
  if (!fs::exists("/sys/kernel/config/target"))
    throw Error("/sys/kernel/config/target missing after loading target_core_mod");
}

// For the console's "NOT EXPORTING" line; best effort: the error itself has been printed already.
void remember_error(const Options& o, const std::string& message) {
  if (!o.real_system()) return;
  std::error_code ec;
  fs::create_directories(fs::path(last_error_file).parent_path(), ec);
  try {
    write_file_atomic(last_error_file, message + "\n", 0644);
  } catch (const Error& e) {
    warn(e.what());
  }
}

void forget_error(const Options& o) {
  if (!o.real_system()) return;
  std::error_code ec;
  fs::remove(last_error_file, ec);
}

std::string local_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || (a->ifa_flags & IFF_LOOPBACK)) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    else
      continue;  // IPv4 is what initiators are usually given; keep the banner short
    out += std::string(out.empty() ? "" : ", ") + buf + " (" + a->ifa_name + ")";
  }
  freeifaddrs(list);
  return out;
}

// SIGTERM (a shutdown), SIGINT, SIGHUP and SIGQUIT wait while configfs is being changed, so an apply either
// completes or rolls back; a signal that came meanwhile takes effect right after. SIGKILL cannot wait: the
// next start or stop clears what it left (clear_unfinished_start).
class SignalsDeferred {
 public:
  SignalsDeferred() {
    sigset_t deferred;
    sigemptyset(&deferred);
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&deferred, signal);
    sigprocmask(SIG_BLOCK, &deferred, &previous_);
  }
  ~SignalsDeferred() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  SignalsDeferred(const SignalsDeferred&) = delete;
  SignalsDeferred& operator=(const SignalsDeferred&) = delete;

 private:
  sigset_t previous_{};
};

// A start or restore killed half way (SIGKILL, a power cut of the tool only) leaves backstores, or a target
// whose TPG was never enabled (apply enables TPGs last): nothing serves them, but iblock holds the disks open
// exclusively, so a new start would fail with EBUSY. While no TPG is enabled, everything in LIO is such a
// leftover and goes; a serving target (ours: refused; another one: left alone, as any start beside it) is
// never touched.
// iqns: the targets about to be created (start: one; restore: those of the file).
void clear_unfinished_start(ConfigFs& configfs, const std::vector<std::string>& iqns) {
  const LioConfig current = read_lio_config(configfs, /*with_secrets=*/false);
  auto ours = [&](const std::string& wwn) { return std::find(iqns.begin(), iqns.end(), wwn) != iqns.end(); };
  bool serving = false;
  for (const auto& target : current.targets)
    for (const auto& tpg : target.tpgs)
      if (tpg.enable) {
        if (ours(target.wwn))
          throw Error("target " + target.wwn + " is already serving from " +
                      configfs.path(lio_paths::target(target.wwn)).string() + " (run 'iscsi-target stop' first)");
        serving = true;
      }
  if (serving) {
    for (const auto& iqn : iqns)
      if (configfs.exists(lio_paths::target(iqn)))
        throw Error("target " + iqn + " already exists in " + configfs.path(lio_paths::target(iqn)).string() +
                    " beside a serving target (run 'iscsi-target stop' first)");
    return;
  }
  if (lio_is_empty(configfs)) return;
  warn("clearing what an unfinished start left in " + configfs.path("target").string() + " (" +
       std::to_string(current.storage_objects.size()) + " backstore(s), " + std::to_string(current.targets.size()) +
       " target(s), no TPG enabled)");
  if (!teardown_lio(configfs, warn)) throw Error("cannot clear what an unfinished start left in " + configfs.path("target").string());
}

// "Power: …" and a low-battery "WARNING: …", one per line; "" when nothing is known.
std::string power_lines(const PowerState& power) {
  std::string out;
  if (const std::string text = power_text(power); !text.empty()) out += text + "\n";
  if (const auto warning = power_warning(power)) out += *warning + "\n";
  return out;
}

// Whether powering off may go ahead: yes without sessions or with --force; otherwise the operator is told who
// loses its disk and must answer y on a terminal.
bool poweroff_confirmed(const Options& o, const ConfigFs& configfs) {
  const auto targets = configfs.exists("target") ? read_status(configfs) : std::vector<TargetStatus>{};
  const std::string warning = poweroff_warning(targets, read_power_state(SystemRoots{}));
  if (!warning.empty()) write_stderr("iscsi-target: " + warning);
  const auto answer = confirm_poweroff(!warning.empty(), o.force, ::isatty(STDIN_FILENO) == 1, [] {
    write_stderr("Power off anyway? [y/N] ");
    return read_stdin_line();
  });
  if (answer == PoweroffAnswer::refused_no_terminal)
    print_error("poweroff refused: initiators are logged in and there is no terminal to ask on (use 'iscsi-target poweroff --force')");
  if (answer == PoweroffAnswer::cancelled) print_info("poweroff cancelled; the target keeps serving");
  return answer == PoweroffAnswer::go;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void print_error(const std::string& message) { write_stderr("iscsi-target: error: " + message + "\n"); }
void print_info(const std::string& message) { write_stdout("iscsi-target: " + message + "\n"); }

int cmd_start(const Options& o) {
  const auto started = std::chrono::steady_clock::now();
  try {
    const Cmdline cmdline = load_cmdline(o);
    const TargetSettings settings = settings_from_cmdline(cmdline, default_iqn(o));  // refuses a start without CHAP
    if (settings.without_authentication)
      warn(std::string(keys::auth) + "=none: serving without CHAP; anyone on the network who knows the initiator IQN (" +
           settings.initiator_iqns.front() + ", no secret: it is in the boot entry) can attach the disk(s)");
    // The address comes from dracut's initqueue (ip=) or from us (rd.iscsi_target.address): carrier (10 s), link
    // up (20 s) and the duplicate address check may each take their time, so at least 90 s whatever
    // rd.iscsi_target.wait says for the disks.
    const auto address_wait = std::chrono::seconds(std::max(settings.device_wait_seconds, 90));
    // The cable's address comes up beside the module loading: waiting for the NIC and the duplicate address
    // check are waits, loading modules is work.
    std::future<std::string> cable;
    double cable_up = 0;
    if (o.real_system()) {
      start_crng_warmup();
      if (settings.cable)
        cable = std::async(std::launch::async, [&] {
          std::string done = bring_up_cable(keys::address, *settings.cable, address_wait);
          cable_up = seconds_since(started);
          print_info("cable address " + done);
          return done;
        });
      prepare_kernel(/*with_fileio=*/false);
    }
    const double modules_loaded = seconds_since(started);
    if (cable.valid()) cable.get();  // rethrows the cable's error
    ConfigFs configfs(o.configfs_root);
    clear_unfinished_start(configfs, {settings.iqn});
    // The service starts while udev and dracut's initqueue still bring up the disks and the network.
    std::vector<BlockDevice> devices;
    for (const auto& spec : settings.device_specs)
      devices.push_back(resolve_block_device(keys::dev, spec, std::chrono::seconds(settings.device_wait_seconds)));
    if (o.real_system()) wait_for_portal_address(keys::portal, settings.portal, address_wait);
    const double devices_ready = seconds_since(started);
    const LioConfig config = plan_lio_config(settings, devices);
    {
      const SignalsDeferred signals_deferred;
      apply_lio_config(configfs, config, warn);
    }
    forget_error(o);
    std::string summary = "ready: " + settings.iqn + " on " + settings.portal.configfs_name() + ", " +
                          std::to_string(devices.size()) + " LUN(s):";
    for (size_t i = 0; i < devices.size(); ++i) summary += " " + std::to_string(i) + "=" + devices[i].path;
    const double total = seconds_since(started);
    summary += "; start took " + fixed_point(total, 2) + " s (since its start: modules loaded at " +
               fixed_point(modules_loaded, 2) + " s, ";
    if (settings.cable) summary += "cable address at " + fixed_point(cable_up, 2) + " s, ";
    summary += "disks and address at " + fixed_point(devices_ready, 2) + " s; configfs " +
               fixed_point(total - devices_ready, 2) + " s)";
    print_info(summary);
    return 0;
  } catch (const Error& e) {
    remember_error(o, e.what());
    throw;
  }
}

int cmd_stop(const Options& o) {
  ConfigFs configfs(o.configfs_root);
  if (!configfs.exists("target")) {
    print_info("stopped (LIO is not loaded)");
    return 0;
  }
  if (lio_is_empty(configfs)) {
    print_info("stopped: nothing to remove (no iSCSI target or backstore)");
    return 0;
  }
  bool ok = teardown_lio(configfs, warn);
  print_info(ok ? "stopped: every iSCSI target and backstore removed" : "stop: some objects could not be removed (see warnings)");
  return ok ? 0 : 1;
}

int cmd_status(const Options& o) {
  ConfigFs configfs(o.configfs_root);
  const auto targets = read_status(configfs);
  const PowerState power = read_power_state(SystemRoots{});
  if (o.json) {
    auto json = status_to_json(targets);
    json["power"] = power_to_json(power);
    write_stdout(json.dump(2) + "\n");
  } else {
    write_stdout(status_to_text(targets) + power_lines(power));
  }
  return 0;
}

int cmd_save(const Options& o) {
  ConfigFs configfs(o.configfs_root);
  const std::string text = saveconfig_from_lio(read_lio_config(configfs, /*with_secrets=*/true)).dump(2) + "\n";
  if (o.positional.empty() || o.positional[0] == "-") write_stdout(text);
  else write_file_atomic(o.positional[0], text, 0600), print_info("saved to " + o.positional[0]);  // holds CHAP secrets
  return 0;
}

int cmd_restore(const Options& o) {
  if (o.positional.empty()) throw Error("restore: missing FILE (a targetcli saveconfig.json)");
  const std::string& file = o.positional[0];
  const std::string text = read_file(file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Not e.what(): it quotes the text around the error, which may be a CHAP secret.
    throw Error(file + ": not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  }
  LioConfig config;
  try {
    config = lio_from_saveconfig(json);
  } catch (const Error& e) {
    throw Error(file + ": " + e.what());
  }
  if (o.real_system())
    prepare_kernel(std::any_of(config.storage_objects.begin(), config.storage_objects.end(),
                               [](const StorageObject& so) { return so.plugin == "fileio"; }));
  ConfigFs configfs(o.configfs_root);
  std::vector<std::string> iqns;
  for (const auto& target : config.targets) iqns.push_back(target.wwn);
  clear_unfinished_start(configfs, iqns);
  const SignalsDeferred signals_deferred;
  apply_lio_config(configfs, config, warn);
  print_info("restored " + std::to_string(config.storage_objects.size()) + " storage object(s) and " +
             std::to_string(config.targets.size()) + " target(s) from " + file);
  return 0;
}

int cmd_enabled(const Options& o) { return target_mode_requested(load_cmdline(o)) ? 0 : 1; }

int cmd_prepare(const Options& o) {
  // Without systemd the target starts in a pre-mount hook, after dracut's initqueue; a pre-trigger hook runs this
  // in the background so the modules load and the CRNG gets going while udev and the network come up. Low
  // priority: on one core it must not delay the network it waits for. Errors are start's to report.
  if (!target_mode_requested(load_cmdline(o))) return 0;
  if (::setpriority(PRIO_PROCESS, 0, 19) != 0) warn(std::string("prepare: setpriority: ") + std::strerror(errno));
  if (o.real_system()) {
    start_crng_warmup();
    prepare_kernel(/*with_fileio=*/false);
  }
  return 0;
}

int cmd_console(const Options& o) {
  ConfigFs configfs(o.configfs_root);
  const auto targets = read_status(configfs);
  const bool read_only = !targets.empty() && std::all_of(targets.begin(), targets.end(), [](const TargetStatus& t) { return t.read_only; });
  std::string banner = std::string("\n=== iSCSI Target mode: this machine's disks are exported") +
                       (read_only ? " read-only" : "") + "; its filesystems stay unmounted ===\n" +
                       status_to_text(targets) + power_lines(read_power_state(SystemRoots{}));
  if (const std::string error = read_text_or_empty(last_error_file); !error.empty())
    banner += "  NOT EXPORTING: " + error.substr(0, error.find('\n')) + "\n";
  const std::string addresses = local_addresses();
  banner += "  addresses: " + (addresses.empty() ? std::string("none configured") : addresses) + "\n" +
            "  Power off: iscsi-target poweroff (stops the target first; asks while a computer uses the disk" +
            (fs::exists("/run/systemd/system") ? "; systemctl poweroff does not ask" : "") +
            ").  Leaving this shell brings it back.\n\n";
  write_stdout(banner);
  pid_t child = fork();
  if (child < 0) throw system_error("cannot fork", "/bin/sh", errno);
  if (child == 0) {
    setenv("PS1", "iscsi-target# ", 1);
    execl("/bin/sh", "sh", "-i", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

int cmd_poweroff(const Options& o) {
  ConfigFs configfs(o.configfs_root);
  if (!poweroff_confirmed(o, configfs)) return 1;
  if (configfs.exists("target")) teardown_lio(configfs, warn);
  if (!o.real_system()) {  // a test's configfs: never power off the machine running it
    print_info("target stopped; not powering off (--configfs " + o.configfs_root + ")");
    return 0;
  }
  print_info("target stopped; powering off");
  ::sync();
  if (::reboot(RB_POWER_OFF) != 0) throw system_error("cannot power off", "reboot(2)", errno);
  return 0;
}

}  // namespace iscsi_target
