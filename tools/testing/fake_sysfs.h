// A fake system tree (sys, dev, proc) laid out as the kernel does: /sys/dev/block/M:m and /sys/class/block/NAME
// link into /sys/devices/...; partitions sit inside their disk's directory; dm devices list what they sit on
// in slaves/ and their disks list them in holders/; btrfs lists a mounted filesystem's members; power supplies
// sit under sys/class/power_supply.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "scratch_dir.h"
#include "system_roots.h"

struct FakeSysfs {
  ScratchDir dir{"fake-sysfs"};
  iscsi_target::SystemRoots roots;

  FakeSysfs() {
    roots = {dir.path / "etc", dir.path / "usr/lib", dir.path / "sys", dir.path / "dev", dir.path / "proc"};
    for (const char* d : {"sys/dev/block", "sys/class/block", "dev", "proc/self"}) std::filesystem::create_directories(dir.path / d);
    std::ofstream(roots.mountinfo()) << "22 1 0:21 / /proc rw,nosuid - proc proc rw\n";
    std::ofstream(roots.swaps()) << "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  }
  std::filesystem::path add(const std::filesystem::path& parent_dir, const std::string& name, unsigned maj, unsigned min,
                            uint64_t sectors = 2048) {
    auto dev = parent_dir / name;
    std::filesystem::create_directories(dev / "holders");
    std::ofstream(dev / "dev") << maj << ":" << min << "\n";
    std::ofstream(dev / "size") << sectors << "\n";
    std::filesystem::create_directory_symlink(dev, roots.sys / "dev/block" / (std::to_string(maj) + ":" + std::to_string(min)));
    std::filesystem::create_directory_symlink(dev, roots.sys / "class/block" / name);
    return dev;
  }
  // A whole disk on a virtio controller, or under `host` (relative to sys, e.g. a USB or SATA host's .../block).
  std::filesystem::path disk(const std::string& name, unsigned maj, unsigned min, uint64_t sectors = 2048) {
    return disk_at("devices/pci0000:00/virtio1/block", name, maj, min, sectors);
  }
  std::filesystem::path disk_at(const std::string& host, const std::string& name, unsigned maj, unsigned min, uint64_t sectors = 2048) {
    return add(roots.sys / host, name, maj, min, sectors);
  }
  std::filesystem::path partition(const std::filesystem::path& disk_dir, const std::string& name, unsigned maj, unsigned min, int number,
                                  uint64_t sectors = 2048) {
    auto dev = add(disk_dir, name, maj, min, sectors);
    std::ofstream(dev / "partition") << number << "\n";
    return dev;
  }
  // A dm device on `slaves` (kernel names), listed in each slave's holders/.
  std::filesystem::path dm(const std::string& name, unsigned maj, unsigned min, const std::vector<std::string>& slaves) {
    auto dev = add(roots.sys / "devices/virtual/block", name, maj, min);
    std::filesystem::create_directories(dev / "slaves");
    for (const auto& slave : slaves) {
      std::filesystem::create_directory_symlink(roots.sys / "class/block" / slave, dev / "slaves" / slave);
      std::filesystem::create_directory_symlink(dev, roots.sys / "class/block" / slave / "holders" / name);
    }
    return dev;
  }
  void btrfs(const std::string& fsid, const std::vector<std::string>& members) {
    const auto devices = roots.sys / "fs/btrfs" / fsid / "devices";
    std::filesystem::create_directories(devices);
    for (const auto& m : members) std::filesystem::create_directory_symlink(roots.sys / "class/block" / m, devices / m);
  }
  // A power supply as the kernel lists it: sys/class/power_supply/NAME -> sys/devices/.../power_supply/NAME with
  // one file per attribute ({"type", "Battery"}, {"capacity", "23"}, …).
  std::filesystem::path power_supply(const std::string& name, const std::map<std::string, std::string>& attributes) {
    const auto dev = roots.sys / "devices/LNXSYSTM:00/power_supply" / name;
    std::filesystem::create_directories(dev);
    for (const auto& [key, value] : attributes) std::ofstream(dev / key) << value << "\n";
    std::filesystem::create_directories(roots.sys / "class/power_supply");
    std::filesystem::create_directory_symlink(dev, roots.sys / "class/power_supply" / name);
    return dev;
  }
  void mount(const std::string& line) { std::ofstream(roots.mountinfo(), std::ios::app) << line << "\n"; }
  void swap(const std::string& line) { std::ofstream(roots.swaps(), std::ios::app) << line << "\n"; }
};
