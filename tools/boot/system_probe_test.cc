#include <catch2/catch.hpp>

#include <fstream>

#include "scratch_dir.h"
#include "system_probe.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {
struct FakeSystem {
  ScratchDir dir{"fake-system"};
  SystemRoots roots;
  FakeSystem() {
    roots = {dir.path / "etc", dir.path / "usr/lib", dir.path / "sys", dir.path / "dev", dir.path / "proc"};
    for (const auto& p : {roots.etc, roots.usr_lib, roots.sys / "dev/block", roots.sys / "class/block", roots.sys / "class/net", roots.dev / "disk/by-id", roots.proc / "self"})
      fs::create_directories(p);
  }
  fs::path block(const std::string& name, const std::string& mm, const std::string& parent = "") {
    fs::path d = roots.sys / "devices/pci/block" / parent / name;
    fs::create_directories(d);
    std::ofstream(d / "dev") << mm << "\n";
    fs::create_directory_symlink(d, roots.sys / "dev/block" / mm);
    fs::create_directory_symlink(d, roots.sys / "class/block" / name);
    return d;
  }
  void nic(const std::string& name, const std::string& mac, bool physical = true, bool wireless = false) {
    fs::path d = roots.sys / "class/net" / name;
    fs::create_directories(d);
    std::ofstream(d / "type") << "1\n";
    std::ofstream(d / "address") << mac << "\n";
    if (physical) fs::create_directories(d / "device");
    if (wireless) fs::create_directories(d / "wireless");
  }
};
}  // namespace

TEST_CASE("root disks: partitions map to their disk, LVM/LUKS to the disks beneath, by-id names preferred") {
  FakeSystem sys;
  sys.block("nvme0n1", "259:0");
  auto p2 = sys.block("nvme0n1p2", "259:2", "nvme0n1");
  std::ofstream(p2 / "partition") << "2\n";
  auto p1 = sys.block("nvme0n1p1", "259:1", "nvme0n1");
  std::ofstream(p1 / "partition") << "1\n";
  sys.block("sda", "8:0");
  auto sda1 = sys.block("sda1", "8:1", "sda");
  std::ofstream(sda1 / "partition") << "1\n";
  auto dm = sys.block("dm-0", "253:0");
  fs::create_directories(dm / "slaves/nvme0n1p2");
  fs::create_symlink("../../nvme0n1", sys.roots.dev / "disk/by-id/nvme-Samsung_SSD_980_S1");
  fs::create_symlink("../../nvme0n1", sys.roots.dev / "disk/by-id/nvme-eui.0025385");
  std::ofstream(sys.roots.proc / "self/mountinfo") << "21 1 253:0 / / rw - ext4 /dev/mapper/root rw\n"
                                                      "22 21 259:1 / /boot rw - ext4 /dev/nvme0n1p1 rw\n"
                                                      "23 22 8:1 / /boot/efi rw - vfat /dev/sda1 rw\n"
                                                      "24 21 0:5 / /proc rw - proc proc rw\n";
  CHECK(disks_holding(sys.roots, {"/", "/boot", "/boot/efi", "/efi"}) ==
        std::vector<std::string>{"/dev/disk/by-id/nvme-Samsung_SSD_980_S1", "/dev/sda"});
}

TEST_CASE("root disks: a btrfs root (anonymous 0:N device) maps to every disk of the filesystem") {
  FakeSystem sys;
  sys.block("vda", "254:0");
  auto vda2 = sys.block("vda2", "254:2", "vda");
  std::ofstream(vda2 / "partition") << "2\n";
  sys.block("vdb", "254:16");
  fs::create_directories(sys.roots.sys / "fs/btrfs/5f1a4b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c/devices");
  for (const char* member : {"vda2", "vdb"})
    fs::create_directory_symlink(sys.roots.sys / "class/block" / member, sys.roots.sys / "fs/btrfs/5f1a4b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c/devices" / member);
  std::ofstream(sys.roots.mountinfo()) << "21 1 0:34 /@ / rw,relatime - btrfs /dev/vda2 rw,subvol=/@\n"
                                          "24 21 0:5 / /proc rw - proc proc rw\n";
  CHECK(disks_holding(sys.roots, {"/", "/boot"}) == std::vector<std::string>{"/dev/vda", "/dev/vdb"});
}

TEST_CASE("wired NICs: physical Ethernet only, sorted by name") {
  FakeSystem sys;
  sys.nic("wlp2s0", "02:00:00:00:00:01", true, true);
  sys.nic("virbr0", "02:00:00:00:00:02", false);
  sys.nic("enp5s0", "02:00:00:00:00:05");
  sys.nic("enp3s0", "02:00:00:00:00:03");
  auto nics = wired_nics(sys.roots);
  REQUIRE(nics.size() == 2);
  CHECK(nics[0].name == "enp3s0");
  CHECK(nics[0].mac == "02:00:00:00:00:03");
}

TEST_CASE("system command line: /etc/kernel/cmdline, else the entry, else /proc/cmdline, minus loader args") {
  FakeSystem sys;
  std::ofstream(sys.roots.proc / "cmdline") << "BOOT_IMAGE=/vmlinuz-6.1 root=UUID=abc ro initrd=/initrd.img quiet\n";
  CHECK(system_cmdline(sys.roots, std::nullopt).first == "root=UUID=abc ro quiet");
  CHECK(system_cmdline(sys.roots, std::string("root=UUID=def rw")).first == "root=UUID=def rw");
  fs::create_directories(sys.roots.etc / "kernel");
  std::ofstream(sys.roots.etc / "kernel/cmdline") << "root=UUID=xyz ro\n";
  auto [cmdline, source] = system_cmdline(sys.roots, std::string("root=UUID=def"));
  CHECK(cmdline == "root=UUID=xyz ro");
  CHECK(source.ends_with("etc/kernel/cmdline"));
  std::ofstream(sys.roots.etc / "os-release") << "NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
  CHECK(read_pretty_name(sys.roots) == "Debian GNU/Linux 12 (bookworm)");
}
