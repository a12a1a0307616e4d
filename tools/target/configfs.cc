#include "configfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "error.h"
#include "file_io.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

// Emulation marks directories made by mkdir(2); unmarked ones stand for configfs's default groups
// (attrib/, auth/, param/ …), which vanish with their parent unless they hold links or made groups.
constexpr const char* group_marker = ".configfs-group";

// An empty file, as std::ofstream(file) made it (mode 0666 less the umask; a failure is not an error).
void touch(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd >= 0) ::close(fd);
}

bool holds_links_or_groups(const fs::path& dir) {
  // directory_iterator, not recursive_directory_iterator: that one costs ≈ 8 KB of the initramfs binary.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_symlink() || entry.path().filename() == group_marker) return true;
    if (entry.is_directory() && holds_links_or_groups(entry.path())) return true;
  }
  return false;
}

void remove_default_groups(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_symlink()) continue;
    const bool attribute = entry.is_regular_file();
    const bool default_group = entry.is_directory() && !holds_links_or_groups(entry.path());
    if (attribute || default_group) doomed.push_back(entry.path());
  }
  for (const auto& path : doomed) fs::remove_all(path, ec);
}

}  // namespace

void ConfigFs::record(const std::string& line) {
  std::string masked = line;
  for (const auto& secret : secrets_) {
    if (secret.empty()) continue;
    for (size_t at = masked.find(secret); at != std::string::npos; at = masked.find(secret, at))
      masked.replace(at, secret.size(), "<hidden>");
  }
  log_.push_back(masked);
}

bool ConfigFs::exists(const std::string& rel) const {
  std::error_code ec;
  return fs::symlink_status(path(rel), ec).type() != fs::file_type::not_found && !ec;
}

std::vector<std::string> ConfigFs::list(const std::string& rel) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path(rel), ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(".")) names.push_back(name);  // configfs has no dot files; emulation keeps markers there
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> ConfigFs::read(const std::string& rel) const {
  int err = 0;
  return read_file_raw(path(rel), err);  // a show() that fails reads as what it gave, as before (ifstream)
}

std::optional<std::string> ConfigFs::read_link(const std::string& rel) const {
  std::error_code ec;
  auto target = fs::read_symlink(path(rel), ec);
  if (ec) return std::nullopt;
  // configfs answers with a path relative to the link's directory.
  if (target.is_relative()) target = (path(rel).parent_path() / target).lexically_normal();
  return target.string();
}

void ConfigFs::mkdir(const std::string& rel) {
  record("mkdir " + rel);
  const auto p = path(rel);
  if (options_.emulate) fs::create_directories(p.parent_path());
  if (::mkdir(p.c_str(), 0755) != 0) throw system_error("cannot create configfs directory", p.string(), errno);
  if (options_.emulate) touch(p / group_marker);
}

void ConfigFs::mkdir_in_child(const std::string& rel) {
  record("mkdir " + rel);
  const auto p = path(rel);
  if (options_.emulate) fs::create_directories(p.parent_path());
  const pid_t child = ::fork();
  if (child < 0) throw system_error("cannot fork to create configfs directory", p.string(), errno);
  if (child == 0) _exit(::mkdir(p.c_str(), 0755) == 0 ? 0 : errno);  // errno values fit in an exit status
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) throw system_error("cannot wait for the process creating configfs directory", p.string(), errno);
  const int err = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
  if (err != 0) throw system_error("cannot create configfs directory", p.string(), err);
  if (options_.emulate) touch(p / group_marker);
}

void ConfigFs::write(const std::string& rel, const std::string& value) {
  record("write " + rel + "=" + value);
  const auto p = path(rel);
  if (options_.emulate) fs::create_directories(p.parent_path());
  int flags = O_WRONLY | O_CLOEXEC | (options_.emulate ? O_CREAT | O_TRUNC : 0);
  int fd = ::open(p.c_str(), flags, 0644);
  if (fd < 0) throw system_error("cannot open configfs attribute", p.string(), errno);
  // configfs takes an attribute in one write; a short or failed write is the kernel refusing the value.
  ssize_t written = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (written < 0) throw system_error("kernel refused value for", p.string(), err);
  if (static_cast<size_t>(written) != value.size()) throw system_error("short write to", p.string(), EIO);
}

void ConfigFs::symlink(const std::string& target_rel, const std::string& link_rel) {
  record("symlink " + link_rel + " -> " + target_rel);
  const auto link = path(link_rel);
  if (::symlink(path(target_rel).c_str(), link.c_str()) != 0)
    throw system_error("cannot link " + path(target_rel).string() + " as", link.string(), errno);
}

void ConfigFs::rmdir(const std::string& rel) {
  record("rmdir " + rel);
  const auto p = path(rel);
  if (options_.emulate) remove_default_groups(p);
  if (::rmdir(p.c_str()) != 0) throw system_error("cannot remove configfs directory", p.string(), errno);
}

void ConfigFs::unlink(const std::string& rel) {
  record("unlink " + rel);
  const auto p = path(rel);
  if (::unlink(p.c_str()) != 0) throw system_error("cannot remove configfs link", p.string(), errno);
}

ConfigFsTransaction::~ConfigFsTransaction() { rollback(); }

void ConfigFsTransaction::mkdir(const std::string& rel) {
  fs_.mkdir(rel);
  undo_.push_back({Undo::remove_dir, rel, {}});
}

void ConfigFsTransaction::mkdir_in_child(const std::string& rel) {
  fs_.mkdir_in_child(rel);
  undo_.push_back({Undo::remove_dir, rel, {}});
}

void ConfigFsTransaction::mkdir_if_missing(const std::string& rel) {
  if (!fs_.exists(rel)) mkdir(rel);
}

void ConfigFsTransaction::symlink(const std::string& target_rel, const std::string& link_rel) {
  fs_.symlink(target_rel, link_rel);
  undo_.push_back({Undo::remove_link, link_rel, {}});
}

void ConfigFsTransaction::write_with_undo(const std::string& rel, const std::string& value, const std::string& undo_value) {
  fs_.write(rel, value);
  undo_.push_back({Undo::restore_value, rel, undo_value});
}

void ConfigFsTransaction::rollback() {
  while (!undo_.empty()) {
    Undo undo = std::move(undo_.back());
    undo_.pop_back();
    try {
      switch (undo.kind) {
        case Undo::remove_dir: fs_.rmdir(undo.rel); break;
        case Undo::remove_link: fs_.unlink(undo.rel); break;
        case Undo::restore_value: fs_.write(undo.rel, undo.value); break;
      }
    } catch (const Error& e) {
      if (warn_) warn_(std::string("rollback: ") + e.what());
    }
  }
}

}  // namespace iscsi_target
