#include "sysfs.h"
#include "file_io.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "real_path.h"
#include "text.h"

namespace iscsi_target::sysfs {
namespace fs = std::filesystem;

namespace {

// Stacked dm/md is a few levels deep at most; the limit only guards against a cycle in a broken tree.
constexpr int max_slave_depth = 16;

std::optional<fs::path> canonical_dir(const SystemRoots& roots, dev_t devno) {
  int err = 0;
  return real_path(dir(roots, devno), err);
}

bool is_partition_dir(const fs::path& d) {
  std::error_code ec;
  return fs::exists(d / "partition", ec);
}

// A slaves/ or holders/ entry: a symlink to the device's directory, named by its kernel name.
std::optional<dev_t> entry_devno(const SystemRoots& roots, const fs::path& entry) {
  if (auto d = by_name(roots, entry.filename().string())) return d;
  return parse_devno(read_first_line(entry / "dev"));
}

void collect_disks(const SystemRoots& roots, dev_t devno, std::vector<dev_t>& out, int depth) {
  const auto d = canonical_dir(roots, devno);
  if (!d || depth > max_slave_depth) return;
  bool has_slaves = false;
  std::error_code ec;
  for (const auto& slave : fs::directory_iterator(*d / "slaves", ec)) {
    if (auto s = entry_devno(roots, slave.path())) {
      has_slaves = true;
      collect_disks(roots, *s, out, depth + 1);
    }
  }
  if (has_slaves) return;
  if (!is_partition_dir(*d)) out.push_back(devno);
  else if (auto parent = parse_devno(read_first_line(d->parent_path() / "dev"))) out.push_back(*parent);
}

}  // namespace

std::string devno_text(dev_t devno) { return std::to_string(major(devno)) + ":" + std::to_string(minor(devno)); }

std::optional<dev_t> parse_devno(std::string_view text) {
  unsigned maj = 0, min = 0;
  const char* const end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, maj);
  if (ec != std::errc() || p == end || *p != ':') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, min);
  if (ec2 != std::errc() || q != end) return std::nullopt;
  return makedev(maj, min);
}

fs::path dir(const SystemRoots& roots, dev_t devno) { return roots.sys / "dev/block" / devno_text(devno); }

std::optional<dev_t> by_name(const SystemRoots& roots, const std::string& name) {
  if (name.empty()) return std::nullopt;
  return parse_devno(read_first_line(roots.sys / "class/block" / name / "dev"));
}

std::optional<dev_t> by_device_path(const SystemRoots& roots, const std::string& path) {
  if (!path.starts_with("/dev/")) return std::nullopt;
  int err = 0;
  const auto real = real_path(roots.dev / path.substr(5), err);
  return by_name(roots, real.value_or(fs::path(path)).filename().string());
}

std::string name_of(const SystemRoots& roots, dev_t devno) {
  const auto d = canonical_dir(roots, devno);
  return d ? d->filename().string() : devno_text(devno);
}

uint64_t size_bytes(const SystemRoots& roots, dev_t devno) {
  const std::string sectors = read_first_line(dir(roots, devno) / "size");
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(sectors.data(), sectors.data() + sectors.size(), n);
  if (ec != std::errc() || sectors.empty()) return 0;
  return n * 512;  // sysfs counts 512-byte sectors whatever the logical block size
}

std::optional<dev_t> parent_disk(const SystemRoots& roots, dev_t devno) {
  const auto d = canonical_dir(roots, devno);
  if (!d || !is_partition_dir(*d)) return std::nullopt;
  return parse_devno(read_first_line(d->parent_path() / "dev"));
}

std::vector<dev_t> whole_disks(const SystemRoots& roots, dev_t devno) {
  std::vector<dev_t> out;
  collect_disks(roots, devno, out, 0);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Holder> holders(const SystemRoots& roots, dev_t devno) {
  std::vector<Holder> out;
  const auto d = canonical_dir(roots, devno);
  if (!d) return out;
  std::vector<fs::path> dirs{*d};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*d, ec))
    if (is_partition_dir(entry.path())) dirs.push_back(entry.path());
  for (const auto& held : dirs)
    for (const auto& holder : fs::directory_iterator(held / "holders", ec))
      out.push_back({holder.path().filename().string(), held.filename().string()});
  std::sort(out.begin(), out.end(), [](const Holder& a, const Holder& b) { return std::tie(a.on, a.name) < std::tie(b.on, b.name); });
  return out;
}

}  // namespace iscsi_target::sysfs
