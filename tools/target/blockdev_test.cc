#include <catch2/catch.hpp>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "blockdev.h"
#include "error.h"
#include "fake_sysfs.h"
#include "scratch_dir.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

TEST_CASE("identity: WWID before serial, partitions add their number, path last") {
  FakeSysfs sys;
  auto disk = sys.disk("vda", 254, 0);
  std::ofstream(disk / "serial") << "QM00001  \n";
  sys.partition(disk, "vda2", 254, 2, 2);
  CHECK(device_identity(sys.roots, makedev(254, 0), "/nonexistent/vda") == "serial:QM00001");
  CHECK(device_identity(sys.roots, makedev(254, 2), "/nonexistent/vda2") == "serial:QM00001:part2");
  std::ofstream(disk / "wwid") << "naa.5000c500a1b2c3d4\n";
  CHECK(device_identity(sys.roots, makedev(254, 0), "/nonexistent/vda") == "wwid:naa.5000c500a1b2c3d4");
  auto bare = sys.disk("vdb", 254, 16);
  CHECK(device_identity(sys.roots, makedev(254, 16), "/nonexistent/vdb") == "path:/nonexistent/vdb");
}

TEST_CASE("a mounted disk or partition, or one held by dm/md, is detected") {
  FakeSysfs sys;
  auto sda = sys.disk("sda", 8, 0);
  sys.partition(sda, "sda1", 8, 1, 1);
  CHECK_FALSE(export_refusal(sys.roots, makedev(8, 0), "/dev/sda"));
  std::ofstream(sys.roots.mountinfo(), std::ios::app) << "30 1 8:1 / /boot rw,relatime - ext4 /dev/sda1 rw\n";
  CHECK(export_refusal(sys.roots, makedev(8, 0), "/dev/sda") ==
        "/dev/sda is mounted at /boot (sda1, ext4); refusing to export a mounted filesystem");
  CHECK(export_refusal(sys.roots, makedev(8, 1), "/dev/sda1") ==
        "/dev/sda1 is mounted at /boot (sda1, ext4); refusing to export a mounted filesystem");
  sys.disk("sdb", 8, 16);
  CHECK_FALSE(export_refusal(sys.roots, makedev(8, 16), "/dev/sdb"));
  fs::create_directories(sys.roots.sys / "devices/pci0000:00/virtio1/block/sdb/holders/dm-0");
  CHECK_THAT(*export_refusal(sys.roots, makedev(8, 16), "/dev/sdb"),
             Catch::StartsWith("/dev/sdb is in use by dm-0 (LVM, LUKS or md?"));
}

TEST_CASE("a whole disk whose partition holds the mounted btrfs root is refused") {
  FakeSysfs sys;
  auto vda = sys.disk("vda", 254, 0);
  sys.partition(vda, "vda1", 254, 1, 1);
  sys.partition(vda, "vda2", 254, 2, 2);
  sys.mount("25 1 0:34 / / rw,relatime shared:1 - btrfs /dev/vda2 rw,subvol=/@");
  // Without the btrfs sysfs entry the source alone already names vda2.
  CHECK(export_refusal(sys.roots, makedev(254, 0), "/dev/vda") ==
        "/dev/vda is mounted at / (vda2, btrfs); refusing to export a mounted filesystem");
  sys.btrfs("5f1a4b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c", {"vda2"});
  CHECK(export_refusal(sys.roots, makedev(254, 0), "/dev/vda") ==
        "/dev/vda is mounted at / (vda2, btrfs); refusing to export a mounted filesystem");
  CHECK_FALSE(export_refusal(sys.roots, makedev(254, 1), "/dev/vda1"));
}

TEST_CASE("every member disk of a mounted multi-device btrfs is refused, not only the one mountinfo names") {
  FakeSysfs sys;
  auto vdb = sys.disk("vdb", 254, 16);
  sys.partition(vdb, "vdb1", 254, 17, 1);
  sys.disk("vdc", 254, 32);
  sys.disk("vdd", 254, 48);
  sys.mount("41 1 0:35 /@data /data rw - btrfs /dev/vdb1 rw,space_cache=v2");
  sys.btrfs("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", {"vdb1", "vdc"});
  CHECK(export_refusal(sys.roots, makedev(254, 32), "/dev/vdc") ==
        "/dev/vdc is mounted at /data (vdc, btrfs); refusing to export a mounted filesystem");
  CHECK(export_refusal(sys.roots, makedev(254, 16), "/dev/vdb") ==
        "/dev/vdb is mounted at /data (vdb1, btrfs); refusing to export a mounted filesystem");
  CHECK_FALSE(export_refusal(sys.roots, makedev(254, 48), "/dev/vdd"));
}

TEST_CASE("a whole disk with a dm holder on one of its partitions is refused") {
  FakeSysfs sys;
  auto vda = sys.disk("vda", 254, 0);
  sys.partition(vda, "vda1", 254, 1, 1);
  auto vda2 = sys.partition(vda, "vda2", 254, 2, 2);
  CHECK_FALSE(export_refusal(sys.roots, makedev(254, 0), "/dev/vda"));
  fs::create_directories(vda2 / "holders/dm-0");
  CHECK(export_refusal(sys.roots, makedev(254, 0), "/dev/vda") ==
        "/dev/vda is in use by dm-0 on vda2 (LVM, LUKS or md? boot with rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0)");
  CHECK_FALSE(export_refusal(sys.roots, makedev(254, 1), "/dev/vda1"));
}

TEST_CASE("an unreadable mountinfo refuses rather than exports blindly") {
  FakeSysfs sys;
  sys.disk("vda", 254, 0);
  fs::remove(sys.roots.mountinfo());
  CHECK_THROWS_WITH(export_refusal(sys.roots, makedev(254, 0), "/dev/vda"),
                    "reading " + sys.roots.mountinfo().string() + ": No such file or directory");
}

TEST_CASE("resolving: missing devices and non-block files give one clear error") {
  using std::chrono::milliseconds;
  CHECK_THROWS_WITH(resolve_block_device("rd.iscsi_target.dev", "/dev/does-not-exist", milliseconds(0)),
                    "rd.iscsi_target.dev=/dev/does-not-exist: no such device: No such file or directory (waited 0 s)");
  CHECK_THROWS_WITH(resolve_block_device("rd.iscsi_target.dev", "UUID=00000000-dead-beef-0000-000000000000", milliseconds(0)),
                    "rd.iscsi_target.dev=UUID=00000000-dead-beef-0000-000000000000: no such device (waited 0 s)");
  CHECK_THROWS_WITH(resolve_block_device("rd.iscsi_target.dev", "/dev/null", milliseconds(0)),
                    "rd.iscsi_target.dev=/dev/null: /dev/null is not a block device");
  CHECK_THROWS_WITH(resolve_block_device("rd.iscsi_target.dev", "vda", milliseconds(0)), Catch::Contains("expected a device path"));
}

TEST_CASE("resolving waits for a device that appears later") {
  ScratchDir dir("late-device");
  const auto late = dir.path / "late";
  std::thread creator([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(late) << "x";
  });
  // It appears within the wait (and is then refused as not a block device, which proves it was found).
  CHECK_THROWS_WITH(resolve_block_device("k", late.string(), std::chrono::milliseconds(3000)), Catch::Contains("is not a block device"));
  creator.join();
}
