#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "error.h"
#include "fake_sysfs.h"
#include "mountinfo.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {
Mount mount_at(const std::vector<Mount>& mounts, const std::string& point) {
  auto it = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) { return m.mount_point == point; });
  INFO("no mount at " << point);
  REQUIRE(it != mounts.end());
  return *it;
}
}  // namespace

TEST_CASE("mountinfo: octal escapes in mount points and sources are undone") {
  CHECK(unescape_octal("/media/my\\040stick") == "/media/my stick");
  CHECK(unescape_octal("tab\\011back\\134slash") == "tab\tback\\slash");
  CHECK(unescape_octal("not\\09octal\\04") == "not\\09octal\\04");
  FakeSysfs sys;
  auto sdb = sys.disk("sdb", 8, 16);
  sys.partition(sdb, "sdb1", 8, 17, 1);
  const auto mounts = parse_mountinfo("40 25 8:17 / /media/my\\040stick rw,nosuid shared:7 master:1 - vfat /dev/sdb1 rw\n"
                                      "garbage line\n",
                                      sys.roots);
  REQUIRE(mounts.size() == 1);
  CHECK(mounts[0].mount_point == "/media/my stick");
  CHECK(mounts[0].source == "/dev/sdb1");
  CHECK(mounts[0].fstype == "vfat");
  CHECK(mounts[0].st_dev == makedev(8, 17));
  CHECK(mounts[0].devices == std::vector<dev_t>{makedev(8, 17)});
}

TEST_CASE("mountinfo: an anonymous 0:N device is mapped through the source; pseudo filesystems have none") {
  FakeSysfs sys;
  auto vda = sys.disk("vda", 254, 0);
  sys.partition(vda, "vda2", 254, 2, 2);
  sys.mount("25 1 0:34 /@ / rw,relatime shared:1 - btrfs /dev/vda2 rw,subvol=/@");
  sys.mount("26 25 0:40 / /merged rw - overlay overlay rw,lowerdir=/a,upperdir=/b");
  const auto mounts = read_mountinfo(sys.roots);
  REQUIRE(mounts.size() == 3);
  CHECK(mount_at(mounts, "/").st_dev == makedev(0, 34));
  CHECK(mount_at(mounts, "/").devices == std::vector<dev_t>{makedev(254, 2)});
  CHECK(mount_at(mounts, "/proc").devices.empty());
  CHECK(mount_at(mounts, "/merged").devices.empty());
}

TEST_CASE("mountinfo: a multi-device btrfs brings every member from /sys/fs/btrfs") {
  FakeSysfs sys;
  auto vda = sys.disk("vda", 254, 0);
  sys.partition(vda, "vda2", 254, 2, 2);
  sys.disk("vdb", 254, 16);
  sys.disk("vdc", 254, 32);
  sys.dm("dm-0", 253, 0, {"vdc"});  // a LUKS member
  sys.btrfs("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", {"vdb"});  // another filesystem
  sys.btrfs("5f1a4b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c", {"vda2", "dm-0"});
  fs::create_directories(sys.roots.sys / "fs/btrfs/features");
  sys.mount("25 1 0:34 /@ / rw - btrfs /dev/vda2 rw,subvol=/@");
  const Mount root = mount_at(read_mountinfo(sys.roots), "/");
  CHECK(root.devices == std::vector<dev_t>{makedev(254, 2), makedev(253, 0)});
  CHECK(btrfs_members(sys.roots, makedev(253, 0)) == std::vector<dev_t>{makedev(253, 0), makedev(254, 2)});
  CHECK(btrfs_members(sys.roots, makedev(254, 0)).empty());
}

TEST_CASE("mountinfo: an unreadable file is an error naming it") {
  FakeSysfs sys;
  fs::remove(sys.roots.mountinfo());
  CHECK_THROWS_AS(read_mountinfo(sys.roots), Error);
  CHECK_THROWS_WITH(read_mountinfo(sys.roots), "reading " + sys.roots.mountinfo().string() + ": No such file or directory");
}

TEST_CASE("swaps: a partition by its number, a file by the device holding it") {
  FakeSysfs sys;
  auto sda = sys.disk("sda", 8, 0);
  sys.partition(sda, "sda3", 8, 3, 3);
  const fs::path file = sys.dir.path / "swap\tfile";
  std::ofstream(file) << "x";
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  sys.swap("/dev/sda3                               partition\t8388604\t\t0\t\t-2");
  sys.swap((sys.dir.path / "swap\\011file").string() + " file\t4\t0\t-3");
  // The file's filesystem, as if it were a btrfs on sda3's neighbour: its anonymous st_dev maps to the disk.
  const Mount holding{"/", "/dev/sda3", "btrfs", st.st_dev, {makedev(8, 3)}};
  const auto swaps = read_swaps(sys.roots, {holding});
  REQUIRE(swaps.size() == 2);
  CHECK(swaps[0].file == "/dev/sda3");
  CHECK_FALSE(swaps[0].is_file);
  CHECK(swaps[0].devices == std::vector<dev_t>{makedev(8, 3)});
  CHECK(swaps[1].file == file.string());
  CHECK(swaps[1].is_file);
  CHECK(swaps[1].devices == std::vector<dev_t>{st.st_dev, makedev(8, 3)});
  fs::remove(sys.roots.swaps());
  CHECK(read_swaps(sys.roots, {}).empty());
}
