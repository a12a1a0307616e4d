// iscsi-target: export this machine's disks through the kernel's LIO iSCSI target (used from the initramfs).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>

#include "commands.h"
#include "error.h"
#include "output.h"

namespace {

constexpr const char* usage = R"(usage: iscsi-target COMMAND [OPTIONS]

Commands:
  start       export the devices named on the kernel command line (rd.iscsi_target.*)
  stop        remove every iSCSI target and backstore (safe to repeat)
  status      show what is exported, to whom, and I/O counters (--json for JSON)
  save [FILE] write the LIO configuration as targetcli saveconfig.json (default: stdout; mode 0600)
  restore FILE  apply a targetcli saveconfig.json (all or nothing)
  enabled     exit 0 when the command line asks for target mode
  prepare     in target mode, load LIO's modules and start the CRNG early, at low priority (a boot hook)
  console     show the status and run an operator shell (target mode's console)
  poweroff    stop the target, sync and power off (initramfs without systemd); while an initiator is
              logged in, names it and asks first (no terminal: refuses unless --force)
  guard       while a computer is logged in, answer that computer only (runs beside the target)

Options:
  --cmdline TEXT   use TEXT instead of /proc/cmdline (/etc/cmdline.d/*.conf still apply)
  --configfs DIR   configfs root (default /sys/kernel/config)
  --etc DIR        where cmdline.d lives (default /etc)
  --json           JSON output for status
  --force          poweroff: do not ask, even while initiators are logged in
)";

// Instead of the verbose terminate handler, which names the exception's type and for that links the C++
// demangler (≈ 40 KB of the initramfs binary). main catches every exception, so this runs only on a noexcept
// violation or the like: it says what() when there is one, and aborts.
[[noreturn]] void terminate_quietly() noexcept {
  std::string message = "iscsi-target: internal error: terminate called";
  if (const auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      message += std::string(" after an exception: ") + e.what();
    } catch (...) {
      message += " after an exception";
    }
  }
  message += "\n";
  iscsi_target::write_stderr(message);
  std::abort();
}

}  // namespace

// The handler std::terminate starts with. std::set_terminate(terminate_quietly) in main would not make the
// binary smaller: the default handler is the initial value of this variable, defined in libsupc++'s
// eh_term_handler.o, and the static link (-static-libstdc++, tools/CMakeLists.txt) pulls that member, and with
// it __gnu_cxx::__verbose_terminate_handler and __cxa_demangle, as soon as anything refers to the variable.
// Defining it here satisfies the reference first, so the member stays in the archive. With a shared
// libstdc++ (sanitizer builds) the library keeps its own definition or takes this one; either way works.
namespace __cxxabiv1 {  // NOLINT(cert-dcl58-cpp,bugprone-reserved-identifier)
// NOLINTNEXTLINE(bugprone-reserved-identifier,cppcoreguidelines-avoid-non-const-global-variables)
std::terminate_handler __terminate_handler = terminate_quietly;
}  // namespace __cxxabiv1

int main(int argc, char** argv) {
  using namespace iscsi_target;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    write_stdout(usage);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  Options options;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        print_error(arg + ": missing value");
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--cmdline") options.cmdline_text = value(), options.has_cmdline_text = true;
    else if (arg == "--configfs") options.configfs_root = value();
    else if (arg == "--etc") options.etc_dir = value();
    else if (arg == "--json") options.json = true;
    else if (arg == "--force") options.force = true;
    else if (arg.starts_with("--")) {
      print_error("unknown option " + arg);
      return 2;
    } else options.positional.push_back(arg);
  }
  static const std::map<std::string, int (*)(const Options&)> commands = {
      {"start", cmd_start},     {"stop", cmd_stop},       {"status", cmd_status},   {"save", cmd_save},
      {"restore", cmd_restore}, {"enabled", cmd_enabled}, {"console", cmd_console}, {"poweroff", cmd_poweroff},
      {"guard", cmd_guard},     {"prepare", cmd_prepare}};
  auto found = commands.find(command);
  if (found == commands.end()) {
    print_error("unknown command '" + command + "' (see iscsi-target --help)");
    return 2;
  }
  try {
    return found->second(options);
  } catch (const Error& e) {
    print_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return 1;
  } catch (...) {
    print_error("internal error: unexpected failure");
    return 1;
  }
}
