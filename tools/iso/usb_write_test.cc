#include <catch2/catch.hpp>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.h"
#include "scratch_dir.h"
#include "usb_write.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

constexpr const char* usb_host = "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block";
constexpr const char* usb_host2 = "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block";
constexpr const char* sata_host = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block";
constexpr const char* nvme_host = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/block";
constexpr uint64_t GB = uint64_t{1000} * 1000 * 1000;

// sysfs as the kernel lays it out: /sys/dev/block/M:m and /sys/class/block/NAME link into /sys/devices/...;
// partitions sit inside their disk's directory; dm devices list what they sit on in slaves/.
struct FakeSystem {
  ScratchDir dir{"fake-usb-sysfs"};
  SystemRoots paths;
  FakeSystem() {
    paths.sys = dir.path / "sys";
    paths.dev = dir.path / "dev";
    paths.proc = dir.path / "proc";
    fs::create_directories(paths.sys / "dev/block");
    fs::create_directories(paths.sys / "class/block");
    fs::create_directories(paths.proc / "self");
    mount("22 1 0:21 / /proc rw,nosuid - proc proc rw");
    std::ofstream(paths.swaps()) << "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  }
  fs::path add(const fs::path& parent_dir, const std::string& name, int maj, int min, uint64_t bytes) {
    fs::path dev = parent_dir / name;
    fs::create_directories(dev);
    std::ofstream(dev / "dev") << maj << ":" << min << "\n";
    std::ofstream(dev / "size") << bytes / 512 << "\n";
    fs::create_directory_symlink(dev, paths.sys / "dev/block" / (std::to_string(maj) + ":" + std::to_string(min)));
    fs::create_directory_symlink(dev, paths.sys / "class/block" / name);
    return dev;
  }
  fs::path disk(const char* host, const std::string& name, int maj, int min, uint64_t bytes, bool removable) {
    fs::path dev = add(paths.sys / host, name, maj, min, bytes);
    std::ofstream(dev / "removable") << (removable ? 1 : 0) << "\n";
    return dev;
  }
  fs::path partition(const fs::path& disk_dir, const std::string& name, int maj, int min, int number, uint64_t bytes) {
    fs::path dev = add(disk_dir, name, maj, min, bytes);
    std::ofstream(dev / "partition") << number << "\n";
    return dev;
  }
  void dm(const std::string& name, int maj, int min, const std::string& slave) {
    fs::path dev = add(paths.sys / "devices/virtual/block", name, maj, min, GB);
    fs::create_directories(dev / "slaves");
    fs::create_directory_symlink(paths.sys / "class/block" / slave, dev / "slaves" / slave);
  }
  void mount(const std::string& line) { std::ofstream(paths.mountinfo(), std::ios::app) << line << "\n"; }
  void swap(const std::string& line) { std::ofstream(paths.swaps(), std::ios::app) << line << "\n"; }
  // What the btrfs module shows for a mounted filesystem: one link per member device.
  void btrfs(const std::string& fsid, const std::vector<std::string>& members) {
    const fs::path devices = paths.sys / "fs/btrfs" / fsid / "devices";
    fs::create_directories(devices);
    for (const auto& m : members) fs::create_directory_symlink(paths.sys / "class/block" / m, devices / m);
  }

  // A laptop: SATA system disk (EFI, LVM root, swap), an NVMe data disk, a USB stick, a USB disk with btrfs.
  void laptop() {
    auto sda = disk(sata_host, "sda", 8, 0, 500 * GB, false);
    partition(sda, "sda1", 8, 1, 1, GB / 2);
    partition(sda, "sda2", 8, 2, 2, 400 * GB);
    partition(sda, "sda3", 8, 3, 3, 8 * GB);
    dm("dm-0", 254, 0, "sda2");
    mount("25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw");
    mount("26 25 8:1 / /boot/efi rw,relatime shared:2 - vfat /dev/sda1 rw");
    swap("/dev/sda3                               partition\t8388604\t\t0\t\t-2");
    disk(nvme_host, "nvme0n1", 259, 0, 1000 * GB, false);
    auto sdb = disk(usb_host, "sdb", 8, 16, 16 * GB, true);
    fs::create_directories(sdb / "device");
    std::ofstream(sdb / "device/vendor") << "SanDisk \n";
    std::ofstream(sdb / "device/model") << "Cruzer Blade    \n";
    partition(sdb, "sdb1", 8, 17, 1, 16 * GB);
    auto sdc = disk(usb_host2, "sdc", 8, 32, 2000 * GB, false);
    partition(sdc, "sdc1", 8, 33, 1, 2000 * GB);
  }
};

void write_bytes(const fs::path& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("usb write: a USB stick that nothing uses is accepted and described") {
  FakeSystem sys;
  sys.laptop();
  const WriteTarget t = inspect_block_device("/dev/sdb", makedev(8, 16), sys.paths);
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
  FakeSystem sys;
  sys.laptop();
  const WriteTarget t = inspect_block_device("/dev/sda", makedev(8, 0), sys.paths);
  CHECK(t.system_uses == std::vector<std::string>{"/ (dm-0)", "/boot/efi (sda1)", "swap /dev/sda3 (sda3)"});
  const auto reasons = write_refusals(t, 1000, true);
  REQUIRE(reasons.size() == 3);
  CHECK(reasons[0] == "/dev/sda holds the running system: / (dm-0)");
  CHECK(reasons[2] == "/dev/sda holds the running system: swap /dev/sda3 (sda3)");
}

TEST_CASE("usb write: a mounted partition refuses its disk; a partition itself is refused") {
  FakeSystem sys;
  sys.laptop();
  sys.mount("40 25 8:17 / /media/my\\040stick rw,nosuid - vfat /dev/sdb1 rw");
  const WriteTarget disk = inspect_block_device("/dev/sdb", makedev(8, 16), sys.paths);
  CHECK(disk.mounted == std::vector<std::string>{"/media/my stick (sdb1)"});
  CHECK(write_refusals(disk, 1000, true) ==
        std::vector<std::string>{"/dev/sdb is mounted at /media/my stick (sdb1); unmount it first"});
  const WriteTarget part = inspect_block_device("/dev/sdb1", makedev(8, 17), sys.paths);
  CHECK(part.parent_disk == "sdb");
  CHECK_THAT(write_refusals(part, 1000, true).front(), Catch::StartsWith("/dev/sdb1 is a partition of sdb;"));
}

TEST_CASE("usb write: a disk with an active LVM, LUKS or md device on a partition is refused") {
  FakeSystem sys;
  sys.laptop();
  sys.dm("dm-1", 254, 1, "sdc1");
  fs::create_directories(sys.paths.sys / usb_host2 / "sdc/sdc1/holders");
  fs::create_directory_symlink(sys.paths.sys / "class/block/dm-1", sys.paths.sys / usb_host2 / "sdc/sdc1/holders/dm-1");
  const WriteTarget t = inspect_block_device("/dev/sdc", makedev(8, 32), sys.paths);
  CHECK(t.holders == std::vector<std::string>{"dm-1 (on sdc1)"});
  CHECK(write_refusals(t, 1000, true) ==
        std::vector<std::string>{"/dev/sdc is in use by dm-1 (on sdc1) (LVM, LUKS or md); deactivate it first"});
}

TEST_CASE("usb write: btrfs's anonymous device is traced through the mount source") {
  FakeSystem sys;
  sys.laptop();
  sys.mount("41 25 0:35 /@home /home rw - btrfs /dev/sdc1 rw,space_cache=v2");
  const WriteTarget t = inspect_block_device("/dev/sdc", makedev(8, 32), sys.paths);
  CHECK(t.usb);
  CHECK(t.mounted == std::vector<std::string>{"/home (sdc1)"});
}

TEST_CASE("usb write: every disk of a multi-device btrfs is refused, also those mountinfo does not name") {
  FakeSystem sys;
  sys.laptop();
  // A btrfs RAID1 over the USB stick and the USB disk, mounted with the disk's partition as its source.
  sys.mount("41 25 0:35 / /srv/backup rw - btrfs /dev/sdc1 rw,space_cache=v2");
  sys.btrfs("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", {"sdc1", "sdb1"});
  const WriteTarget t = inspect_block_device("/dev/sdb", makedev(8, 16), sys.paths);
  CHECK(t.mounted == std::vector<std::string>{"/srv/backup (sdb1)"});
  CHECK(write_refusals(t, 1000, true) ==
        std::vector<std::string>{"/dev/sdb is mounted at /srv/backup (sdb1); unmount it first"});
  const WriteTarget nvme = inspect_block_device("/dev/nvme0n1", makedev(259, 0), sys.paths);
  CHECK(nvme.mounted.empty());
}

TEST_CASE("usb write: a missing mountinfo is an error naming it, not a disk assumed unused") {
  FakeSystem sys;
  sys.laptop();
  fs::remove(sys.paths.mountinfo());
  CHECK_THROWS_WITH(inspect_block_device("/dev/sdb", makedev(8, 16), sys.paths),
                    "reading " + sys.paths.mountinfo().string() + ": No such file or directory");
}

TEST_CASE("usb write: an internal disk needs --force; a too small one is refused regardless") {
  FakeSystem sys;
  sys.laptop();
  const WriteTarget t = inspect_block_device("/dev/nvme0n1", makedev(259, 0), sys.paths);
  CHECK_FALSE(t.usb);
  CHECK_FALSE(t.removable);
  CHECK(write_refusals(t, 1000, false) ==
        std::vector<std::string>{"/dev/nvme0n1 is neither removable nor on USB: an internal disk? (--force if you mean it)"});
  CHECK(write_refusals(t, 1000, true).empty());
  CHECK(write_refusals(t, 2000 * GB, true) == std::vector<std::string>{"/dev/nvme0n1 holds 1000000.0 MB, the image needs 2000000.0 MB"});
}

TEST_CASE("usb write: a device without sysfs entry gives one clear error") {
  FakeSystem sys;
  CHECK_THROWS_WITH(inspect_block_device("/dev/sdz", makedev(8, 240), sys.paths), Catch::StartsWith("/dev/sdz: no ") && Catch::Contains("8:240"));
  CHECK_THROWS_WITH(inspect_write_target("/nonexistent/sdz", sys.paths), "cannot write to /nonexistent/sdz: No such file or directory");
  CHECK_THROWS_WITH(inspect_write_target("/dev/null", sys.paths), "/dev/null: neither a block device nor a regular file");
}

TEST_CASE("usb write: a regular file needs --force, and an active swap file never") {
  FakeSystem sys;
  const fs::path file = sys.dir.path / "stick.img";
  write_bytes(file, std::string(4096, '\0'));
  WriteTarget t = inspect_write_target(file.string(), sys.paths);
  CHECK_FALSE(t.block_device);
  CHECK(t.size_bytes == 4096);
  CHECK_THAT(write_refusals(t, 4096, false).front(), Catch::Contains("is a regular file, not a block device"));
  CHECK(write_refusals(t, 4096, true).empty());
  CHECK(describe_write_target(t) == file.string() + " (0.0 MB, regular file)");
  CHECK_THAT(write_refusals(t, 4097, true).front(), Catch::Contains("the image needs"));
  sys.swap(file.string() + " file 4 0 -2");
  t = inspect_write_target(file.string(), sys.paths);
  CHECK(write_refusals(t, 4096, true) == std::vector<std::string>{file.string() + " holds the running system: swap " + file.string()});
}

TEST_CASE("usb write: writes the image, leaves what follows, reports progress and verifies every byte") {
  ScratchDir dir("usb-write");
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
  const WriteResult r = write_image(dir.path / "image.iso", (dir.path / "device").string(), options);
  CHECK(r.bytes == image.size());
  CHECK(r.verified);
  CHECK(r.write_seconds > 0);
  const std::string device = read_bytes(dir.path / "device");
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
  ScratchDir dir("usb-verify");
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
  CHECK_THROWS_WITH(write_image(dir.path / "image.iso", (dir.path / "device").string(), options),
                    "verifying " + (dir.path / "device").string() + ": byte 1234567 differs from the image (a failing or fake-capacity stick?)");
  CHECK_THROWS_WITH(write_image(dir.path / "missing.iso", (dir.path / "device").string()),
                    "opening " + (dir.path / "missing.iso").string() + ": No such file or directory");
}
