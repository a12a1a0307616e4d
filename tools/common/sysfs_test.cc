#include <catch2/catch.hpp>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

#include "fake_sysfs.h"
#include "file_io.h"
#include "sysfs.h"
#include "text.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

TEST_CASE("sysfs: device numbers as text and back") {
  CHECK(sysfs::devno_text(makedev(259, 3)) == "259:3");
  CHECK(sysfs::parse_devno("8:17") == makedev(8, 17));
  CHECK_FALSE(sysfs::parse_devno("8:17x"));
  CHECK_FALSE(sysfs::parse_devno("8"));
  CHECK_FALSE(sysfs::parse_devno(":1"));
  CHECK_FALSE(sysfs::parse_devno(""));
}

TEST_CASE("sysfs: read_first_line trims, and is empty for a missing file") {
  ScratchDir dir("first-line");
  std::ofstream(dir.path / "model") << "  Cruzer Blade    \nsecond\n";
  CHECK(read_first_line(dir.path / "model") == "Cruzer Blade");
  CHECK(read_first_line(dir.path / "missing").empty());
}

TEST_CASE("sysfs: devices by name, by /dev path, by number; sizes in bytes") {
  FakeSysfs sys;
  auto sda = sys.disk("sda", 8, 0, 1000);
  sys.partition(sda, "sda1", 8, 1, 1);
  sys.dm("dm-0", 253, 0, {"sda1"});
  CHECK(sysfs::by_name(sys.roots, "sda1") == makedev(8, 1));
  CHECK_FALSE(sysfs::by_name(sys.roots, "sdz"));
  CHECK(sysfs::name_of(sys.roots, makedev(8, 1)) == "sda1");
  CHECK(sysfs::name_of(sys.roots, makedev(8, 240)) == "8:240");
  CHECK(sysfs::size_bytes(sys.roots, makedev(8, 0)) == uint64_t{1000} * 512);
  CHECK(sysfs::size_bytes(sys.roots, makedev(8, 240)) == 0);
  // Without the node in the tree the file name is taken as the kernel name.
  CHECK(sysfs::by_device_path(sys.roots, "/dev/sda1") == makedev(8, 1));
  CHECK_FALSE(sysfs::by_device_path(sys.roots, "/dev/mapper/root"));
  CHECK_FALSE(sysfs::by_device_path(sys.roots, "sda1"));
  // With it, links are followed inside the tree as udev lays them out.
  fs::create_directories(sys.roots.dev / "mapper");
  fs::create_symlink("../dm-0", sys.roots.dev / "mapper/root");
  std::ofstream node(sys.roots.dev / "dm-0");
  CHECK(sysfs::by_device_path(sys.roots, "/dev/mapper/root") == makedev(253, 0));
}

TEST_CASE("sysfs: a partition's disk") {
  FakeSysfs sys;
  auto vda = sys.disk("vda", 254, 0);
  sys.partition(vda, "vda2", 254, 2, 2);
  sys.partition(vda, "vda1", 254, 1, 1);
  CHECK(sysfs::parent_disk(sys.roots, makedev(254, 2)) == makedev(254, 0));
  CHECK_FALSE(sysfs::parent_disk(sys.roots, makedev(254, 0)));
  CHECK_FALSE(sysfs::parent_disk(sys.roots, makedev(254, 240)));
}

TEST_CASE("sysfs: whole disks under partitions and stacked dm/md slaves") {
  FakeSysfs sys;
  auto nvme = sys.disk("nvme0n1", 259, 0);
  sys.partition(nvme, "nvme0n1p2", 259, 2, 2);
  auto sda = sys.disk("sda", 8, 0);
  sys.partition(sda, "sda1", 8, 1, 1);
  sys.dm("md0", 9, 0, {"nvme0n1p2", "sda1"});    // RAID1 over two partitions
  sys.dm("dm-0", 253, 0, {"md0"});               // LUKS on it
  sys.dm("dm-1", 253, 1, {"dm-0"});              // an LVM volume in that
  CHECK(sysfs::whole_disks(sys.roots, makedev(253, 1)) == std::vector<dev_t>{makedev(8, 0), makedev(259, 0)});
  CHECK(sysfs::whole_disks(sys.roots, makedev(259, 2)) == std::vector<dev_t>{makedev(259, 0)});
  CHECK(sysfs::whole_disks(sys.roots, makedev(8, 0)) == std::vector<dev_t>{makedev(8, 0)});
  CHECK(sysfs::whole_disks(sys.roots, makedev(8, 240)).empty());
}

TEST_CASE("sysfs: holders of a disk include those of its partitions") {
  FakeSysfs sys;
  auto sdc = sys.disk("sdc", 8, 32);
  sys.partition(sdc, "sdc1", 8, 33, 1);
  sys.partition(sdc, "sdc2", 8, 34, 2);
  CHECK(sysfs::holders(sys.roots, makedev(8, 32)).empty());
  sys.dm("dm-3", 253, 3, {"sdc2"});
  sys.dm("md127", 9, 127, {"sdc"});
  const auto held = sysfs::holders(sys.roots, makedev(8, 32));
  REQUIRE(held.size() == 2);
  CHECK((held[0].name == "md127" && held[0].on == "sdc"));
  CHECK((held[1].name == "dm-3" && held[1].on == "sdc2"));
  REQUIRE(sysfs::holders(sys.roots, makedev(8, 34)).size() == 1);
  CHECK(sysfs::holders(sys.roots, makedev(8, 33)).empty());
}
