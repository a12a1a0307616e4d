#include "iso_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "error.h"
#include "file_io.h"
#include "iso_image.h"
#include "usb_write.h"

namespace iscsi_target {
namespace fs = std::filesystem;

const char* const iso_usage = R"(usage: iso build --kernel FILE --initrd FILE [--initrd FILE ...] --cmdline TEXT --output FILE.iso
                 [--title TEXT] [--timeout SECONDS] [--extra-file PATH=FILE ...] [--secure-boot auto|yes|no]
       iso write FILE.iso DEVICE [--force] [--yes] [--no-verify]

build   a hybrid ISO (BIOS + UEFI; CD, USB stick or disk) that boots the kernel with the command line and the
        initrds in order. --extra-file packs FILE at PATH (mode 0600) in one more initrd, e.g.
        --extra-file /etc/iscsi/iscsid.conf=iscsid.conf gives dracut's iSCSI initiator its CHAP credentials
        without putting them on the command line (not /etc/cmdline.d: dracut logs that to the kernel log).
        The menu waits --timeout seconds (default 3). The same inputs give the same bytes (SOURCE_DATE_EPOCH,
        else the kernel file's mtime). --secure-boot yes fails unless shim-signed and grub-efi-amd64-signed
        are installed; auto (default) uses them when they are.
write   copy the ISO to a USB stick or disk, then read it back and compare. Refuses a partition, a mounted
        device, the running system's disk and one too small; --force also allows a disk that is neither
        removable nor on USB, or a regular file. Asks for confirmation unless --yes.
)";

namespace {

void say(const std::string& line) { std::cout << "iso: " << line << std::endl; }
void complain(const std::string& line) { std::cerr << "iso: error: " << line << std::endl; }

std::string mb(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MB", bytes / 1e6);
  return text;
}

struct UsageError : Error {
  using Error::Error;
};

// Options of the form --name VALUE (or --name=VALUE); flags have no value.
struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> flags;

  Args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
       const std::vector<std::string>& flag_names) {
    for (size_t i = 0; i < args.size(); ++i) {
      std::string arg = args[i], value;
      const bool has_equals = arg.starts_with("--") && arg.find('=') != std::string::npos;
      if (has_equals) value = arg.substr(arg.find('=') + 1), arg = arg.substr(0, arg.find('='));
      if (std::find(with_value.begin(), with_value.end(), arg) != with_value.end()) {
        if (!has_equals) {
          if (i + 1 >= args.size()) throw UsageError(arg + ": missing value");
          value = args[++i];
        }
        options.emplace_back(arg, value);
      } else if (std::find(flag_names.begin(), flag_names.end(), arg) != flag_names.end() && !has_equals) {
        flags.push_back(arg);
      } else if (arg.starts_with("--")) {
        throw UsageError("unknown option " + args[i]);
      } else {
        positional.push_back(arg);
      }
    }
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : options)
      if (key == name) values.push_back(value);
    return values;
  }
  std::optional<std::string> last(const std::string& name) const {
    auto values = all(name);
    if (values.empty()) return std::nullopt;
    return values.back();
  }
  std::string required(const std::string& name) const {
    auto value = last(name);
    if (!value) throw UsageError(name + " is required");
    return *value;
  }
  bool flag(const std::string& name) const { return std::find(flags.begin(), flags.end(), name) != flags.end(); }
};

int build(const std::vector<std::string>& argv) {
  const Args args(argv, {"--kernel", "--initrd", "--cmdline", "--output", "--title", "--timeout", "--extra-file", "--secure-boot"}, {});
  if (!args.positional.empty()) throw UsageError("unexpected argument " + args.positional.front());
  IsoImageSpec spec;
  spec.kernel = args.required("--kernel");
  for (const auto& initrd : args.all("--initrd")) spec.initrds.emplace_back(initrd);
  if (spec.initrds.empty()) throw UsageError("--initrd is required");
  spec.cmdline = args.required("--cmdline");
  spec.output = args.required("--output");
  if (auto title = args.last("--title")) spec.title = *title;
  if (auto timeout = args.last("--timeout")) {
    size_t used = 0;
    try {
      spec.timeout_seconds = std::stoi(*timeout, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != timeout->size() || timeout->empty()) throw UsageError("--timeout " + *timeout + ": not a number of seconds");
  }
  for (const auto& extra : args.all("--extra-file")) {
    const size_t eq = extra.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == extra.size())
      throw UsageError("--extra-file " + extra + ": expected PATH=FILE");
    spec.extra_initrd.push_back(CpioEntry::file(extra.substr(0, eq), read_file(extra.substr(eq + 1)), 0600));
  }
  if (auto sb = args.last("--secure-boot")) {
    if (*sb == "auto") spec.secure_boot = SecureBootChoice::automatic;
    else if (*sb == "yes") spec.secure_boot = SecureBootChoice::required;
    else if (*sb == "no") spec.secure_boot = SecureBootChoice::off;
    else throw UsageError("--secure-boot " + *sb + ": expected auto, yes or no");
  }

  const IsoImageResult r = build_iso(spec);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", r.build_seconds);
  say("wrote " + r.output.string() + ": " + mb(static_cast<double>(r.bytes)) + " (kernel + initrds " +
      mb(static_cast<double>(r.payload_bytes)) + ", boot overhead " + mb(static_cast<double>(r.overhead_bytes)) + ") in " +
      seconds);
  say("boots on BIOS (isolinux) and UEFI (" + r.uefi_loader + "), from CD or written to a USB stick or disk; SOURCE_DATE_EPOCH=" +
      std::to_string(r.source_date_epoch));
  say(r.secure_boot_note);
  return 0;
}

bool confirmed(const WriteTarget& target, uint64_t image_bytes) {
  if (!::isatty(STDIN_FILENO)) throw Error("not confirmed: standard input is not a terminal; pass --yes to write " + target.path);
  std::cout << "Write " << mb(static_cast<double>(image_bytes)) << " to " << describe_write_target(target)
            << "? Everything on it will be lost. Type yes to go on: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

int write(const std::vector<std::string>& argv) {
  const Args args(argv, {"--sysfs", "--proc"}, {"--force", "--yes", "--no-verify"});
  if (args.positional.size() != 2) throw UsageError("expected FILE.iso DEVICE");
  const fs::path image = args.positional[0];
  const std::string device = args.positional[1];
  SystemRoots paths;  // the overrides are for tests
  if (auto v = args.last("--sysfs")) paths.sys = *v;
  if (auto v = args.last("--proc")) paths.proc = *v;

  struct stat st {};
  if (::stat(image.c_str(), &st) != 0) throw system_error("reading", image.string(), errno);
  const uint64_t image_bytes = static_cast<uint64_t>(st.st_size);
  // Opened once, exclusively; the checks, the question, the write and the read-back all use that descriptor.
  const OpenWriteTarget opened = open_write_target(device, paths);
  const WriteTarget& target = opened.target;
  const auto refusals = write_refusals(target, image_bytes, args.flag("--force"));
  if (!refusals.empty()) {
    for (const auto& reason : refusals) complain("refusing: " + reason);
    return 1;
  }
  if (!args.flag("--yes") && !confirmed(target, image_bytes)) {
    complain("not confirmed; nothing written");
    return 1;
  }

  say("writing " + image.string() + " to " + describe_write_target(target));
  WriteOptions options;
  options.verify = !args.flag("--no-verify");
  int last_decile = -1;
  const char* last_phase = "";
  options.progress = [&](const WriteProgress& p) {
    const int percent = p.total ? static_cast<int>(p.done * 100 / p.total) : 100;
    if (p.phase != last_phase) last_phase = p.phase, last_decile = -1;
    if (percent / 10 == last_decile) return;
    last_decile = percent / 10;
    say(std::string(p.phase) + ": " + std::to_string(percent) + "% (" + mb(static_cast<double>(p.done)) + " of " +
        mb(static_cast<double>(p.total)) + ")");
  };
  const WriteResult r = write_image(image, opened, options);
  char line[200];
  std::snprintf(line, sizeof line, "wrote %s in %.1f s (%.1f MB/s)", mb(static_cast<double>(r.bytes)).c_str(), r.write_seconds,
                megabytes_per_second(r.bytes, r.write_seconds));
  std::string summary = line;
  if (r.verified) {
    std::snprintf(line, sizeof line, "; verified every byte in %.1f s (%.1f MB/s)", r.verify_seconds,
                  megabytes_per_second(r.bytes, r.verify_seconds));
    summary += line;
  }
  say(summary);
  return 0;
}

}  // namespace

int cmd_iso(const std::vector<std::string>& args) {
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
      std::cout << iso_usage;
      return args.empty() ? 2 : 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "build") return build(rest);
    if (args[0] == "write") return write(rest);
    throw UsageError("unknown iso command '" + args[0] + "' (build or write)");
  } catch (const UsageError& e) {
    complain(e.what());
    std::cerr << iso_usage;
    return 2;
  } catch (const Error& e) {
    complain(e.what());
    return 1;
  } catch (const std::exception& e) {
    complain(std::string("internal error: ") + e.what());
    return 1;
  }
}

}  // namespace iscsi_target
