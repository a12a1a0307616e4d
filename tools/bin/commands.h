// The subcommands of iscsi-target. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace iscsi_target {

struct Options {
  std::string configfs_root = "/sys/kernel/config";
  std::string etc_dir = "/etc";
  std::string proc_cmdline = "/proc/cmdline";
  std::string cmdline_text;  // --cmdline: stands in for /proc/cmdline
  bool has_cmdline_text = false;
  bool json = false;
  bool force = false;  // poweroff: do not ask, even with initiators logged in
  std::vector<std::string> positional;
  // Touch the running kernel (modules, configfs mount, LIO dbroot) only when configfs is the real one.
  bool real_system() const { return configfs_root == "/sys/kernel/config"; }
};

int cmd_start(const Options& options);
int cmd_stop(const Options& options);
int cmd_status(const Options& options);
int cmd_save(const Options& options);
int cmd_restore(const Options& options);
int cmd_enabled(const Options& options);
int cmd_prepare(const Options& options);
int cmd_console(const Options& options);
int cmd_poweroff(const Options& options);
int cmd_guard(const Options& options);  // guard_command.cc

void print_error(const std::string& message);
void print_info(const std::string& message);

}  // namespace iscsi_target
