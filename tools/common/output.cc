#include "output.h"

#include <unistd.h>

#include <cerrno>

namespace iscsi_target {

namespace {

void write_fd(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void write_stdout(std::string_view text) { write_fd(STDOUT_FILENO, text); }
void write_stderr(std::string_view text) { write_fd(STDERR_FILENO, text); }

std::optional<std::string> read_stdin_line() {
  std::string line;
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') break;
    line += c;
  }
  if (!any) return std::nullopt;
  return line;
}

}  // namespace iscsi_target
