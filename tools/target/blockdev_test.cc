#include <catch2/catch.hpp>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "blockdev.h"
#include "error.h"
#include "scratch_dir.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

// sysfs as the kernel lays it out: /sys/dev/block/M:m links into /sys/devices/.../block/NAME[/PART].
struct FakeSysfs {
  ScratchDir dir{"fake-sysfs"};
  SystemPaths paths;
  FakeSysfs() {
    paths.sys = dir.path / "sys";
    paths.mountinfo = dir.path / "mountinfo";
    fs::create_directories(paths.sys / "dev/block");
    std::ofstream(paths.mountinfo) << "22 1 0:21 / /proc rw - proc proc rw\n";
  }
  fs::path add_disk(const std::string& name, int maj, int min, const std::string& rel_parent = "") {
    fs::path dev = paths.sys / "devices/pci0000:00/virtio1/block" / rel_parent / name;
    fs::create_directories(dev / "holders");
    std::ofstream(dev / "dev") << maj << ":" << min << "\n";
    std::ofstream(dev / "size") << 2048 << "\n";
    fs::create_directory_symlink(dev, paths.sys / "dev/block" / (std::to_string(maj) + ":" + std::to_string(min)));
    return dev;
  }
};

}  // namespace

TEST_CASE("identity: WWID before serial, partitions add their number, path last") {
  FakeSysfs sys;
  auto disk = sys.add_disk("vda", 254, 0);
  std::ofstream(disk / "serial") << "QM00001  \n";
  auto part = sys.add_disk("vda2", 254, 2, "vda");
  std::ofstream(part / "partition") << "2\n";
  CHECK(device_identity(sys.paths, makedev(254, 0), "/nonexistent/vda") == "serial:QM00001");
  CHECK(device_identity(sys.paths, makedev(254, 2), "/nonexistent/vda2") == "serial:QM00001:part2");
  std::ofstream(disk / "wwid") << "naa.5000c500a1b2c3d4\n";
  CHECK(device_identity(sys.paths, makedev(254, 0), "/nonexistent/vda") == "wwid:naa.5000c500a1b2c3d4");
  auto bare = sys.add_disk("vdb", 254, 16);
  CHECK(device_identity(sys.paths, makedev(254, 16), "/nonexistent/vdb") == "path:/nonexistent/vdb");
}

TEST_CASE("a mounted disk or partition, or one held by dm/md, is detected") {
  FakeSysfs sys;
  sys.add_disk("sda", 8, 0);
  auto part = sys.add_disk("sda1", 8, 1, "sda");
  std::ofstream(part / "partition") << "1\n";
  CHECK_FALSE(mount_point_of(sys.paths, makedev(8, 0)));
  std::ofstream(sys.paths.mountinfo, std::ios::app) << "30 1 8:1 / /boot rw,relatime - ext4 /dev/sda1 rw\n";
  CHECK(mount_point_of(sys.paths, makedev(8, 0)) == "/boot");
  CHECK(mount_point_of(sys.paths, makedev(8, 1)) == "/boot");
  CHECK_FALSE(holder_of(sys.paths, makedev(8, 0)));
  fs::create_directories(sys.paths.sys / "devices/pci0000:00/virtio1/block/sda/holders/dm-0");
  CHECK(holder_of(sys.paths, makedev(8, 0)) == "dm-0");
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
