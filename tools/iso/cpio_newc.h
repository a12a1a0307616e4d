// A "newc" (SVR4, no CRC) cpio archive built in memory: the format the kernel unpacks from an initrd. Used for
// the small extra initrds that carry CHAP secrets (target.conf, iscsid.conf) instead of the kernel command line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace iscsi_target {

struct CpioEntry {
  enum class Type { directory, file };
  std::string path;   // inside the initramfs, e.g. "/etc/iscsi/iscsid.conf"
  Type type = Type::file;
  uint32_t mode = 0644;  // permission bits only (07777)
  std::string data;      // file contents; empty for directories

  static CpioEntry file(std::string path, std::string data, uint32_t mode = 0644) {
    return {std::move(path), Type::file, mode, std::move(data)};
  }
  static CpioEntry directory(std::string path, uint32_t mode = 0755) { return {std::move(path), Type::directory, mode, {}}; }
};

// The archive bytes: every entry owned by root (uid/gid 0) with the given mtime; directories leading to a file
// that are not listed are added first with mode 0755; ends with TRAILER!!!. Fields and names are padded to
// 4 bytes as the kernel's initramfs unpacker expects. Throws Error for an absolute-path problem (empty, "..",
// duplicate) or a mode outside 07777, naming the path.
std::string cpio_newc_archive(const std::vector<CpioEntry>& entries, uint32_t mtime);

// Writes the archive to `file` with mode 0600 (it may hold secrets). Throws Error naming the file.
void write_cpio_newc(const std::filesystem::path& file, const std::vector<CpioEntry>& entries, uint32_t mtime);

}  // namespace iscsi_target
