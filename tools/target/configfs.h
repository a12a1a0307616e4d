// File operations under a configfs root (normally /sys/kernel/config), each failure naming the path and errno.
// Every change can be recorded in an undo journal so a failed start removes exactly what it created.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace iscsi_target {

class ConfigFs {
 public:
  struct Options {
    // A plain directory standing in for configfs (tests): attribute files are created on write, parent
    // directories that configfs would create by itself are made on demand, and rmdir removes attribute files
    // first, as configfs does when a group disappears.
    bool emulate = false;
  };

  explicit ConfigFs(std::filesystem::path root) : root_(std::move(root)) {}
  ConfigFs(std::filesystem::path root, Options options) : root_(std::move(root)), options_(options) {}

  std::filesystem::path path(const std::string& rel) const { return root_ / rel; }

  bool exists(const std::string& rel) const;
  // Entries of a directory (names only, sorted); empty when it does not exist.
  std::vector<std::string> list(const std::string& rel) const;
  std::optional<std::string> read(const std::string& rel) const;
  // A link's target as an absolute path.
  std::optional<std::string> read_link(const std::string& rel) const;

  void mkdir(const std::string& rel);
  // mkdir(2) done by a forked child, so a SIGKILL sent to this process cannot interrupt it in the kernel. For
  // a portal (np/IP:PORT): LIO listens on the socket, then starts the portal's thread, and if that fails
  // because the caller got SIGKILL it frees the portal but never closes the socket (iscsit_add_np, every
  // kernel up to at least 6.x), which then holds the port, accepting connections nobody answers, until reboot.
  void mkdir_in_child(const std::string& rel);
  // Writes value as exact bytes (CHAP values must not end in a newline).
  void write(const std::string& rel, const std::string& value);
  void symlink(const std::string& target_rel, const std::string& link_rel);
  void rmdir(const std::string& rel);
  void unlink(const std::string& rel);

  // Each change in order, e.g. "mkdir target/iscsi/IQN" or "write target/.../enable=1"; secrets are masked.
  const std::vector<std::string>& log() const { return log_; }
  void mask_in_log(const std::string& secret) { secrets_.push_back(secret); }

 private:
  void record(const std::string& line);
  std::filesystem::path root_;
  Options options_;
  std::vector<std::string> log_;
  std::vector<std::string> secrets_;
};

// Undoes, in reverse order, every object created through it unless commit() is called: a failed start leaves
// configfs as it found it. Undo failures are reported through the warn callback and undo goes on.
class ConfigFsTransaction {
 public:
  using Warn = std::function<void(const std::string&)>;
  ConfigFsTransaction(ConfigFs& fs, Warn warn) : fs_(fs), warn_(std::move(warn)) {}
  ~ConfigFsTransaction();
  ConfigFsTransaction(const ConfigFsTransaction&) = delete;
  ConfigFsTransaction& operator=(const ConfigFsTransaction&) = delete;

  void mkdir(const std::string& rel);
  void mkdir_in_child(const std::string& rel);  // see ConfigFs::mkdir_in_child
  void mkdir_if_missing(const std::string& rel);
  void symlink(const std::string& target_rel, const std::string& link_rel);
  void write(const std::string& rel, const std::string& value) { fs_.write(rel, value); }
  // Undo a write when rolling back (e.g. tpgt enable=1 must become 0 before the TPG can be removed).
  void write_with_undo(const std::string& rel, const std::string& value, const std::string& undo_value);
  void commit() { undo_.clear(); }
  void rollback();

 private:
  struct Undo {
    enum Kind { remove_dir, remove_link, restore_value } kind;
    std::string rel, value;
  };
  ConfigFs& fs_;
  Warn warn_;
  std::vector<Undo> undo_;
};

}  // namespace iscsi_target
