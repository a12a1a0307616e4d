// The kernel command line as dracut sees it: /etc/cmdline.d/*.conf, then /etc/cmdline, then /proc/cmdline;
// for a key given more than once, the last value wins (getarg) or all values count in order (getargs).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iscsi_target {

struct CmdlineArg {
  std::string key;
  std::optional<std::string> value;  // nullopt for a bare flag such as "rw"
};

// Splits one command line the way the kernel does: whitespace separates words, double quotes group
// them and are removed ("key=a b" or key="a b"). Lines starting with '#' are comments (cmdline.d files).
std::vector<CmdlineArg> parse_cmdline(std::string_view text);

class Cmdline {
 public:
  Cmdline() = default;
  explicit Cmdline(std::vector<CmdlineArg> args) : args_(std::move(args)) {}

  // dracut's getcmdline(): files under etc_dir/cmdline.d/*.conf (sorted), etc_dir/cmdline, then proc_cmdline.
  // proc_cmdline_text, when given, stands in for the contents of /proc/cmdline.
  static Cmdline load(const std::filesystem::path& etc_dir, const std::filesystem::path& proc_cmdline,
                      const std::optional<std::string>& proc_cmdline_text = std::nullopt);

  // Appends the words of a file (same syntax as cmdline.d); a missing file is fine. Returns whether it existed.
  bool append_file_if_exists(const std::filesystem::path& file);

  // getarg: the last value given for key; a bare flag counts as "1".
  std::optional<std::string> get(std::string_view key) const;
  // getargs: every value in order.
  std::vector<std::string> get_all(std::string_view key) const;
  const std::vector<CmdlineArg>& args() const { return args_; }

 private:
  std::vector<CmdlineArg> args_;
};

}  // namespace iscsi_target
