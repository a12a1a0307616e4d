#include <catch2/catch.hpp>
#include <sys/sysmacros.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "error.h"
#include "fake_sysfs.h"
#include "file_io.h"
#include "usb_write.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

constexpr const char* usb_host = "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block";
constexpr const char* usb_host2 = "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block";
constexpr const char* sata_host = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block";
constexpr const char* nvme_host = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/block";
constexpr uint64_t GB = uint64_t{1000} * 1000 * 1000;

// The USB writer's view of a disk: its host's sysfs path tells USB from SATA or NVMe; "removable" as the
// kernel reports it.
fs::path disk(FakeSysfs& sys, const char* host, const std::string& name, unsigned maj, unsigned min, uint64_t bytes, bool removable) {
  fs::path dev = sys.disk_at(host, name, maj, min, bytes / 512);
  std::ofstream(dev / "removable") << (removable ? 1 : 0) << "\n";
  return dev;
}

// A laptop: SATA system disk (EFI, LVM root, swap), an NVMe data disk, a USB stick, a USB disk with btrfs.
void laptop(FakeSysfs& sys) {
  auto sda = disk(sys, sata_host, "sda", 8, 0, 500 * GB, false);
  sys.partition(sda, "sda1", 8, 1, 1, GB / 2 / 512);
  sys.partition(sda, "sda2", 8, 2, 2, 400 * GB / 512);
  sys.partition(sda, "sda3", 8, 3, 3, 8 * GB / 512);
  sys.dm("dm-0", 254, 0, {"sda2"});
  sys.mount("25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw");
  sys.mount("26 25 8:1 / /boot/efi rw,relatime shared:2 - vfat /dev/sda1 rw");
  sys.swap("/dev/sda3                               partition\t8388604\t\t0\t\t-2");
  disk(sys, nvme_host, "nvme0n1", 259, 0, 1000 * GB, false);
  auto sdb = disk(sys, usb_host, "sdb", 8, 16, 16 * GB, true);
  fs::create_directories(sdb / "device");
  std::ofstream(sdb / "device/vendor") << "SanDisk \n";
  std::ofstream(sdb / "device/model") << "Cruzer Blade    \n";
  sys.partition(sdb, "sdb1", 8, 17, 1, 16 * GB / 512);
  auto sdc = disk(sys, usb_host2, "sdc", 8, 32, 2000 * GB, false);
  sys.partition(sdc, "sdc1", 8, 33, 1, 2000 * GB / 512);
}

void write_bytes(const fs::path& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }

// The system calls, except that fstat reports the opened file as block device `rdev` (tests cannot open one).
TargetOps as_block_device(dev_t rdev, std::vector<int>* open_flags = nullptr) {
  TargetOps ops = system_target_ops();
  ops.open = [open = ops.open, open_flags](const std::string& path, int flags) {
    if (open_flags) open_flags->push_back(flags);
    return open(path, flags);
  };
  ops.fstat = [rdev](int fd, struct stat& st) {
    if (::fstat(fd, &st) != 0) return -1;
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = rdev;
    return 0;
  };
  return ops;
}

}  // namespace

TEST_CASE("usb write: a USB stick that nothing uses is accepted and described") {
  FakeSysfs sys;
  laptop(sys);
  const WriteTarget t = inspect_block_device("/dev/sdb", makedev(8, 16), sys.roots);
  CHECK(t.name == "sdb");
  CHECK(t.usb);
  CHECK(t.removable);
  CHECK(t.size_bytes == 16 * GB);
  CHECK(t.mounted.empty());
  CHECK(t.system_uses.empty());
  CHECK(write_refusals(t, uint64_t{40} * 1000 * 1000, false).empty());
  CHECK(describe_write_target(t) == "/dev/sdb (SanDisk Cruzer Blade, 16.0 GB, USB)");
}

TEST_CASE("usb write: the running system's disk is refused, even with --force") {
  FakeSysfs sys;
  laptop(sys);
  const WriteTarget t = inspect_block_device("/dev/sda", makedev(8, 0), sys.roots);
  CHECK(t.system_uses == std::vector<std::string>{"/ (dm-0)", "/boot/efi (sda1)", "swap /dev/sda3 (sda3)"});
  const auto reasons = write_refusals(t, 1000, true);
  REQUIRE(reasons.size() == 4);
  CHECK(reasons[0] == "/dev/sda holds the running system: / (dm-0)");
  CHECK(reasons[2] == "/dev/sda holds the running system: swap /dev/sda3 (sda3)");
  CHECK(reasons[3] == "/dev/sda is in use by dm-0 (on sda2) (LVM, LUKS or md); deactivate it first");
}

TEST_CASE("usb write: a mounted partition refuses its disk; a partition itself is refused") {
  FakeSysfs sys;
  laptop(sys);
  sys.mount("40 25 8:17 / /media/my\\040stick rw,nosuid - vfat /dev/sdb1 rw");
  const WriteTarget disk = inspect_block_device("/dev/sdb", makedev(8, 16), sys.roots);
  CHECK(disk.mounted == std::vector<std::string>{"/media/my stick (sdb1)"});
  CHECK(write_refusals(disk, 1000, true) ==
        std::vector<std::string>{"/dev/sdb is mounted at /media/my stick (sdb1); unmount it first"});
  const WriteTarget part = inspect_block_device("/dev/sdb1", makedev(8, 17), sys.roots);
  CHECK(part.parent_disk == "sdb");
  CHECK_THAT(write_refusals(part, 1000, true).front(), Catch::StartsWith("/dev/sdb1 is a partition of sdb;"));
}

TEST_CASE("usb write: a disk with an active LVM, LUKS or md device on a partition is refused") {
  FakeSysfs sys;
  laptop(sys);
  sys.dm("dm-1", 254, 1, {"sdc1"});
  const WriteTarget t = inspect_block_device("/dev/sdc", makedev(8, 32), sys.roots);
  CHECK(t.holders == std::vector<std::string>{"dm-1 (on sdc1)"});
  CHECK(write_refusals(t, 1000, true) ==
        std::vector<std::string>{"/dev/sdc is in use by dm-1 (on sdc1) (LVM, LUKS or md); deactivate it first"});
}

TEST_CASE("usb write: btrfs's anonymous device is traced through the mount source") {
  FakeSysfs sys;
  laptop(sys);
  sys.mount("41 25 0:35 /@home /home rw - btrfs /dev/sdc1 rw,space_cache=v2");
  const WriteTarget t = inspect_block_device("/dev/sdc", makedev(8, 32), sys.roots);
  CHECK(t.usb);
  CHECK(t.mounted == std::vector<std::string>{"/home (sdc1)"});
}

TEST_CASE("usb write: every disk of a multi-device btrfs is refused, also those mountinfo does not name") {
  FakeSysfs sys;
  laptop(sys);
  // A btrfs RAID1 over the USB stick and the USB disk, mounted with the disk's partition as its source.
  sys.mount("41 25 0:35 / /srv/backup rw - btrfs /dev/sdc1 rw,space_cache=v2");
  sys.btrfs("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", {"sdc1", "sdb1"});
  const WriteTarget t = inspect_block_device("/dev/sdb", makedev(8, 16), sys.roots);
  CHECK(t.mounted == std::vector<std::string>{"/srv/backup (sdb1)"});
  CHECK(write_refusals(t, 1000, true) ==
        std::vector<std::string>{"/dev/sdb is mounted at /srv/backup (sdb1); unmount it first"});
  const WriteTarget nvme = inspect_block_device("/dev/nvme0n1", makedev(259, 0), sys.roots);
  CHECK(nvme.mounted.empty());
}

TEST_CASE("usb write: a missing mountinfo is an error naming it, not a disk assumed unused") {
  FakeSysfs sys;
  laptop(sys);
  fs::remove(sys.roots.mountinfo());
  CHECK_THROWS_WITH(inspect_block_device("/dev/sdb", makedev(8, 16), sys.roots),
                    "reading " + sys.roots.mountinfo().string() + ": No such file or directory");
}

TEST_CASE("usb write: an internal disk needs --force; a too small one is refused regardless") {
  FakeSysfs sys;
  laptop(sys);
  const WriteTarget t = inspect_block_device("/dev/nvme0n1", makedev(259, 0), sys.roots);
  CHECK_FALSE(t.usb);
  CHECK_FALSE(t.removable);
  CHECK(write_refusals(t, 1000, false) ==
        std::vector<std::string>{"/dev/nvme0n1 is neither removable nor on USB: an internal disk? (--force if you mean it)"});
  CHECK(write_refusals(t, 1000, true).empty());
  CHECK(write_refusals(t, 2000 * GB, true) == std::vector<std::string>{"/dev/nvme0n1 holds 1000000.0 MB, the image needs 2000000.0 MB"});
}

TEST_CASE("usb write: a device without sysfs entry gives one clear error") {
  FakeSysfs sys;
  CHECK_THROWS_WITH(inspect_block_device("/dev/sdz", makedev(8, 240), sys.roots), Catch::StartsWith("/dev/sdz: no ") && Catch::Contains("8:240"));
  CHECK_THROWS_WITH(open_write_target("/nonexistent/sdz", sys.roots), "cannot write to /nonexistent/sdz: No such file or directory");
  CHECK_THROWS_WITH(open_write_target("/dev/null", sys.roots), "/dev/null: neither a block device nor a regular file");
}

TEST_CASE("usb write: a regular file needs --force, and an active swap file never") {
  FakeSysfs sys;
  const fs::path file = sys.dir.path / "stick.img";
  write_bytes(file, std::string(4096, '\0'));
  WriteTarget t = open_write_target(file.string(), sys.roots).target;
  CHECK_FALSE(t.block_device);
  CHECK(t.size_bytes == 4096);
  CHECK_THAT(write_refusals(t, 4096, false).front(), Catch::Contains("is a regular file, not a block device"));
  CHECK(write_refusals(t, 4096, true).empty());
  CHECK(describe_write_target(t) == file.string() + " (0.0 MB, regular file)");
  CHECK_THAT(write_refusals(t, 4097, true).front(), Catch::Contains("the image needs"));
  sys.swap(file.string() + " file 4 0 -2");
  t = open_write_target(file.string(), sys.roots).target;
  CHECK(write_refusals(t, 4096, true) == std::vector<std::string>{file.string() + " holds the running system: swap " + file.string()});
}

TEST_CASE("usb write: writes the image, leaves what follows, reports progress and verifies every byte") {
  FakeSysfs sys;
  const ScratchDir& dir = sys.dir;
  std::string image;
  for (uint32_t i = 0; i < 5 * 1024 * 1024 + 2048; ++i) image += static_cast<char>((i * 7919u) >> 3);
  write_bytes(dir.path / "image.iso", image);
  write_bytes(dir.path / "device", std::string(size_t{8} * 1024 * 1024, '\xff'));

  std::vector<std::pair<std::string, uint64_t>> progress;
  WriteOptions options;
  options.chunk_bytes = 1 << 20;
  options.sync_every_bytes = 2 << 20;
  uint64_t totals_seen = 0;
  options.progress = [&](const WriteProgress& p) {
    progress.emplace_back(p.phase, p.done);
    if (p.total == image.size()) ++totals_seen;
  };
  const WriteResult r = write_image(dir.path / "image.iso", open_write_target((dir.path / "device").string(), sys.roots), options);
  CHECK(r.bytes == image.size());
  CHECK(r.verified);
  CHECK(r.write_seconds > 0);
  const std::string device = read_file(dir.path / "device");
  REQUIRE(device.size() == size_t{8} * 1024 * 1024);
  CHECK(device.substr(0, image.size()) == image);
  CHECK(device.substr(image.size()) == std::string(device.size() - image.size(), '\xff'));
  REQUIRE(progress.size() == 12);
  CHECK(totals_seen == 12);  // 6 chunks written, 6 verified
  CHECK(progress[0] == std::make_pair(std::string("writing"), uint64_t{1} << 20));
  CHECK(progress[5] == std::make_pair(std::string("writing"), uint64_t{image.size()}));
  CHECK(progress[11] == std::make_pair(std::string("verifying"), uint64_t{image.size()}));
  CHECK(megabytes_per_second(10'000'000, 2.0) == Approx(5.0));
}

TEST_CASE("usb write: a byte that does not read back is reported with its offset") {
  FakeSysfs sys;
  const ScratchDir& dir = sys.dir;
  write_bytes(dir.path / "image.iso", std::string(3 << 20, 'a'));
  write_bytes(dir.path / "device", std::string(4 << 20, '\0'));
  WriteOptions options;
  options.chunk_bytes = 1 << 20;
  // Stands in for a failing stick: a byte changes between writing and reading back.
  options.progress = [&](const WriteProgress& p) {
    if (std::string(p.phase) == "writing" && p.done == p.total) {
      std::fstream f(dir.path / "device", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(1234567);
      f.put('b');
    }
  };
  CHECK_THROWS_WITH(write_image(dir.path / "image.iso", open_write_target((dir.path / "device").string(), sys.roots), options),
                    "verifying " + (dir.path / "device").string() + ": byte 1234567 differs from the image (a failing or fake-capacity stick?)");
  CHECK_THROWS_WITH(write_image(dir.path / "missing.iso", open_write_target((dir.path / "device").string(), sys.roots)),
                    "opening " + (dir.path / "missing.iso").string() + ": No such file or directory");
}

TEST_CASE("usb write: checked and written through one exclusive descriptor; a path swapped after the check changes nothing") {
  FakeSysfs sys;
  laptop(sys);
  const std::string image(3 << 20, 'i');
  write_bytes(sys.dir.path / "image.iso", image);
  // The stick (8:16 in sysfs, USB, nothing mounted) and another disk a path could be made to point at meanwhile.
  write_bytes(sys.dir.path / "stick", std::string(4 << 20, '\0'));
  write_bytes(sys.dir.path / "internal-disk", std::string(4 << 20, 'd'));
  const fs::path link = sys.dir.path / "usb-SanDisk_Cruzer_Blade";
  fs::create_symlink(sys.dir.path / "stick", link);

  std::vector<int> flags;
  const OpenWriteTarget opened = open_write_target(link.string(), sys.roots, as_block_device(makedev(8, 16), &flags));
  CHECK(flags == std::vector<int>{O_RDWR | O_EXCL | O_CLOEXEC | O_NOCTTY});
  CHECK(opened.fd() >= 0);
  CHECK(opened.target.block_device);
  CHECK(opened.target.devno == makedev(8, 16));
  CHECK(opened.target.usb);
  CHECK(write_refusals(opened.target, image.size(), false).empty());

  // Between the check (and the question) and the write: the link now names another disk, and the kernel has
  // given 8:16 to the NVMe disk (a replug renumbered it). The write must still land on what was checked.
  fs::remove(link);
  fs::create_symlink(sys.dir.path / "internal-disk", link);
  fs::remove(sys.roots.sys / "dev/block/8:16");
  fs::create_directory_symlink(sys.roots.sys / nvme_host / "nvme0n1", sys.roots.sys / "dev/block/8:16");
  const WriteResult r = write_image(sys.dir.path / "image.iso", opened);
  CHECK(r.verified);
  CHECK(flags.size() == 1);  // never opened again
  CHECK(read_file(sys.dir.path / "stick").substr(0, image.size()) == image);
  CHECK(read_file(sys.dir.path / "internal-disk") == std::string(4 << 20, 'd'));
}

TEST_CASE("usb write: a device busy for the exclusive open is refused, even with --force, and says who holds it") {
  FakeSysfs sys;
  laptop(sys);
  sys.mount("40 25 8:17 / /media/stick rw,nosuid - vfat /dev/sdb1 rw");
  TargetOps ops = system_target_ops();
  int opens = 0;
  ops.open = [&](const std::string&, int) {
    ++opens;
    errno = EBUSY;
    return -1;
  };
  ops.stat = [](const std::string&, struct stat& st) {
    st = {};
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 16);
    return 0;
  };
  const OpenWriteTarget busy = open_write_target("/dev/sdb", sys.roots, ops);
  CHECK(opens == 1);
  CHECK(busy.fd() == -1);
  CHECK(write_refusals(busy.target, 1000, true) ==
        std::vector<std::string>{"/dev/sdb cannot be opened exclusively (Device or resource busy): mounted, or in use by LVM, LUKS, md or another program",
                                 "/dev/sdb is mounted at /media/stick (sdb1); unmount it first"});
  write_bytes(sys.dir.path / "image.iso", "x");
  CHECK_THROWS_WITH(write_image(sys.dir.path / "image.iso", busy), "writing /dev/sdb: not open (Device or resource busy)");

  // No sysfs entry to explain it: still refused.
  ops.stat = [](const std::string&, struct stat& st) {
    st = {};
    st.st_mode = S_IFBLK | 0660;
    st.st_rdev = makedev(8, 240);
    return 0;
  };
  CHECK(write_refusals(open_write_target("/dev/sdz", sys.roots, ops).target, 1000, true).size() == 1);

  // Other failures of the open are errors naming the device and errno.
  ops.open = [](const std::string&, int) {
    errno = EACCES;
    return -1;
  };
  CHECK_THROWS_WITH(open_write_target("/dev/sdb", sys.roots, ops), "cannot write to /dev/sdb: Permission denied");
}
