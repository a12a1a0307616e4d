#include "cpio_newc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "error.h"
#include "file_io.h"

namespace iscsi_target {

namespace {

constexpr uint32_t max_name = 4096;  // PATH_MAX: the kernel skips longer names

// "etc/cmdline.d/x.conf" from "/etc/cmdline.d/x.conf", refusing what the kernel would misplace.
std::string normalized(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") throw Error("cpio entry " + path + ": '..' is not allowed");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  if (out.empty()) throw Error("cpio entry '" + path + "': empty path");
  if (out == "TRAILER!!!") throw Error("cpio entry " + path + ": reserved name");
  if (out.size() + 1 > max_name) throw Error("cpio entry " + path + ": name longer than " + std::to_string(max_name));
  return out;
}

void pad4(std::string& out) { out.append((4 - out.size() % 4) % 4, '\0'); }

void append_header(std::string& out, uint32_t ino, uint32_t mode, uint32_t nlink, uint32_t mtime, uint32_t size,
                   const std::string& name) {
  char header[111];
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
                nlink, mtime, size, 0u, 0u, 0u, 0u, static_cast<uint32_t>(name.size() + 1), 0u);
  out.append(header, 110);
  out += name;
  out += '\0';
  pad4(out);
}

}  // namespace

std::string cpio_newc_archive(const std::vector<CpioEntry>& entries, uint32_t mtime) {
  std::string out;
  std::map<std::string, uint32_t> written;  // name -> mode with type bits
  uint32_t ino = 1;
  auto add_dir = [&](const std::string& name, uint32_t mode) {
    append_header(out, ino++, S_IFDIR | mode, 2, mtime, 0, name);
    written[name] = S_IFDIR | mode;
  };
  for (const CpioEntry& entry : entries) {
    const std::string name = normalized(entry.path);
    if (entry.mode & ~07777u) throw Error("cpio entry " + entry.path + ": mode " + std::to_string(entry.mode) + " has bits outside 07777");
    const bool directory = entry.type == CpioEntry::Type::directory;
    if (auto seen = written.find(name); seen != written.end()) {
      // A directory named again (or made earlier for a file inside it) is fine: the kernel applies the
      // mode of the last entry. Anything else would replace a file.
      if (!directory || !S_ISDIR(seen->second)) throw Error("cpio entry " + entry.path + ": listed twice");
      if (seen->second != (S_IFDIR | entry.mode)) add_dir(name, entry.mode);
      continue;
    }
    // Parents first: the kernel does not create missing directories.
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
      if (auto parent = written.find(name.substr(0, slash)); parent == written.end()) add_dir(name.substr(0, slash), 0755);
      else if (!S_ISDIR(parent->second)) throw Error("cpio entry " + entry.path + ": " + parent->first + " is a file");
    if (directory) {
      if (!entry.data.empty()) throw Error("cpio entry " + entry.path + ": a directory cannot have contents");
      add_dir(name, entry.mode);
      continue;
    }
    if (entry.data.size() > UINT32_MAX) throw Error("cpio entry " + entry.path + ": larger than 4 GiB");
    append_header(out, ino++, S_IFREG | entry.mode, 1, mtime, static_cast<uint32_t>(entry.data.size()), name);
    out += entry.data;
    pad4(out);
    written[name] = S_IFREG | entry.mode;
  }
  append_header(out, 0, 0, 1, 0, 0, "TRAILER!!!");
  return out;
}

void write_cpio_newc(const std::filesystem::path& file, const std::vector<CpioEntry>& entries, uint32_t mtime) {
  write_file_atomic(file, cpio_newc_archive(entries, mtime), 0600);
}

}  // namespace iscsi_target
