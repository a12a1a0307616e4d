#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<std::string> read_file_raw(const fs::path& file, int& err) {
  err = 0;
  Fd in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) {
    err = errno;
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;  // EISDIR for a directory
      return text;
    }
    if (n == 0) return text;
    text.append(buffer, static_cast<size_t>(n));
  }
}

namespace {

// errno 0 with the whole content, else nullopt (the file missing: ENOENT).
std::optional<std::string> read_all(const fs::path& file, int& err) {
  auto text = read_file_raw(file, err);
  if (err != 0) return std::nullopt;
  return text;
}

void write_all(int fd, const std::string& content, const fs::path& file) {
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error("cannot write", file.string(), errno);
    done += static_cast<size_t>(n);
  }
}

std::string octal_mode(mode_t mode) {
  const char digits[] = {'0', static_cast<char>('0' + ((mode >> 6) & 7)), static_cast<char>('0' + ((mode >> 3) & 7)),
                         static_cast<char>('0' + (mode & 7)), '\0'};
  return digits;
}

}  // namespace

std::string read_file(const fs::path& file) {
  int err = 0;
  auto text = read_all(file, err);
  if (!text) throw system_error("cannot read", file.string(), err);
  return *text;
}

std::optional<std::string> read_file_if_exists(const fs::path& file) {
  int err = 0;
  auto text = read_all(file, err);
  if (!text && err != ENOENT) throw system_error("cannot read", file.string(), err);
  return text;
}

std::string read_text_or_empty(const fs::path& file) {
  int err = 0;
  return read_all(file, err).value_or("");
}

std::string read_first_line(const fs::path& file) {
  const std::string text = read_text_or_empty(file);
  return trim(text.substr(0, text.find('\n')));
}

void write_file_atomic(const fs::path& file, const std::string& content, mode_t mode, IfExists if_exists) {
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const fs::path tmp = dir / ("." + file.filename().string() + ".tmp-" + std::to_string(::getpid()));
  ::unlink(tmp.c_str());  // a leftover of a killed run of ours (same pid, e.g. in a container)
  Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (out.fd < 0) throw system_error("cannot create", tmp.string(), errno);
  try {
    // Some file systems refuse chmod (vfat: EPERM); the check after the rename decides whether that matters.
    (void)::fchmod(out.fd, mode);
    write_all(out.fd, content, tmp);
    if (::fsync(out.fd) != 0) throw system_error("cannot flush", tmp.string(), errno);
    const int fd = out.fd;
    out.fd = -1;
    if (::close(fd) != 0) throw system_error("cannot write", tmp.string(), errno);
    if (if_exists == IfExists::keep) {
      // link(2) fails with EEXIST where rename(2) would replace.
      if (::link(tmp.c_str(), file.c_str()) != 0) throw system_error("cannot create", file.string(), errno);
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), file.c_str()) != 0) {
      throw system_error("cannot rename into place", file.string(), errno);
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)}; d.fd >= 0) ::fsync(d.fd);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw system_error("cannot check", file.string(), errno);
  // Read or write access for others that was not asked for; FAT's execute bits are harmless.
  if ((st.st_mode & 0066 & ~mode) != 0) {
    const std::string wider = octal_mode(st.st_mode & 07777);
    ::unlink(file.c_str());
    throw Error(file.string() + ": mode " + wider + " after writing it as " + octal_mode(mode) +
                ": its file system ignores permissions (FAT mounted with a wide fmask?); mount it with fmask=0077, "
                "or keep the file on a Linux file system");
  }
}

}  // namespace iscsi_target
