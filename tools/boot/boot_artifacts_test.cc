#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "bls_entry.h"
#include "boot_artifacts.h"
#include "cmdline.h"
#include "error.h"
#include "file_io.h"
#include "scratch_dir.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// A machine with one disk, one wired NIC, a BLS /boot and a config naming the disk.
struct Machine {
  ScratchDir dir{"boot-artifacts"};
  BootPaths paths;
  std::vector<std::string> isos;
  ArtifactWriters writers;
  Machine() {
    const fs::path r = dir.path;
    paths = {r / "etc/iscsi-target/iscsi-target.conf", r / "etc/dracut.conf.d/iscsi-target.conf", r / "etc/iscsi-target/chap-secrets",
             r / "var/lib/dracut/iscsi-target", r / "boot", r / "etc/grub.d",
             {r / "etc", r / "usr/lib", r / "sys", r / "dev", r / "proc"}};
    fs::create_directories(r / "etc/iscsi-target");
    fs::create_directories(r / "proc/self");
    fs::create_directories(r / "sys/class/net/enp3s0/device");
    std::ofstream(r / "sys/class/net/enp3s0/type") << "1\n";
    std::ofstream(r / "sys/class/net/enp3s0/address") << "52:54:00:aa:bb:cc\n";
    std::ofstream(r / "etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
    std::ofstream(r / "etc/os-release") << "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    std::ofstream(paths.config) << "devices = /dev/disk/by-id/virtio-root\n";
    writers.build_iso = [this](const IsoImageSpec& spec) {
      std::ofstream(spec.output) << "ISO\n" << spec.cmdline << "\n";
      for (const auto& i : spec.initrds) std::ofstream(spec.output, std::ios::app) << read_file(i);
      for (const auto& f : spec.extra_initrd) std::ofstream(spec.output, std::ios::app) << f.path << "\n" << f.data;
      ::chmod(spec.output.c_str(), 0600);
      isos.push_back(spec.cmdline);
      IsoImageResult result;
      result.output = spec.output;
      return result;
    };
    writers.write_usb = [](const fs::path&, const std::string& device) { throw Error(device + ": not removable"); };
  }
  void bls_kernel(const std::string& kver) {
    const fs::path b = paths.boot;
    fs::create_directories(b / "loader/entries");
    fs::create_directories(b / "0123456789abcdef0123456789abcdef" / kver);
    std::ofstream(b / "0123456789abcdef0123456789abcdef" / kver / "linux") << "kernel";
    std::ofstream(b / "0123456789abcdef0123456789abcdef" / kver / "initrd") << "initramfs";
    std::ofstream(b / "loader/entries" / ("0123456789abcdef0123456789abcdef-" + kver + ".conf"))
        << "title Debian GNU/Linux 12 (bookworm)\nversion " << kver << "\nmachine-id 0123456789abcdef0123456789abcdef\nsort-key debian\n"
        // As 90-loaderentry writes them: relative to the file system holding BOOT_ROOT (here: "/").
        << "options root=UUID=1111 ro quiet console=ttyS0\nlinux " << loader_path(kver, "linux") << "\ninitrd "
        << loader_path(kver, "initrd") << "\n";
  }
  // A GRUB (non-BLS) system: /etc/grub.d, /boot/vmlinuz-KVER and initrd.img-KVER, this /proc/cmdline.
  void grub_kernel(const std::string& kver, const std::string& proc_cmdline) {
    fs::create_directories(paths.grub_d);
    fs::create_directories(paths.boot);
    std::ofstream(paths.boot / ("vmlinuz-" + kver)) << "k";
    std::ofstream(paths.boot / ("initrd.img-" + kver)) << "i";
    std::ofstream(paths.probe.proc / "cmdline") << proc_cmdline << "\n";
  }
  std::string loader_path(const std::string& kver, const std::string& file) const {
    return (paths.boot / "0123456789abcdef0123456789abcdef" / kver / file).string();
  }
  KernelInstallContext ctx(const std::string& kver) {
    KernelInstallContext c;
    c.kver = kver;
    c.machine_id = c.entry_token = "0123456789abcdef0123456789abcdef";
    c.boot_root = paths.boot;
    c.layout = "bls";
    return c;
  }
};

}  // namespace

TEST_CASE("BLS: an entry right under its kernel, same kernel and initramfs, secrets only in a 0600 initrd") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  auto result = add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  REQUIRE(result.kind == EntryKind::bls);
  CHECK(result.entry.filename() == "0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf");
  const BlsEntry e = read_bls_entry(result.entry);
  CHECK(e.get("title") == "iSCSI Target (6.1.0-56-amd64) Debian GNU/Linux 12 (bookworm)");
  CHECK(e.get("version") == "6.1.0-56-amd64~iscsi");
  CHECK(e.get("sort-key") == "debian");
  CHECK(e.paths("linux") == std::vector<std::string>{m.loader_path("6.1.0-56-amd64", "linux")});
  CHECK(e.paths("initrd") == std::vector<std::string>{m.loader_path("6.1.0-56-amd64", "initrd"),
                                                       m.loader_path("6.1.0-56-amd64", "iscsi-target-6.1.0-56-amd64.img")});
  Cmdline options(parse_cmdline(e.options()));
  CHECK(options.get("rd.iscsi_target.dev") == "/dev/disk/by-id/virtio-root");
  CHECK(options.get("console") == "ttyS0");
  CHECK_FALSE(options.get("root"));
  CHECK(mode_of(result.entry) == 0644);
  const std::string secrets = read_file(m.paths.secrets);
  const std::string password = secrets.substr(secrets.find("\npassword=") + 10, 24);
  CHECK(read_file(result.entry).find(password) == std::string::npos);
  const fs::path secrets_img = m.paths.boot / "0123456789abcdef0123456789abcdef/6.1.0-56-amd64/iscsi-target-6.1.0-56-amd64.img";
  CHECK(mode_of(secrets_img) == 0600);
  CHECK(read_file(secrets_img).find("rd.iscsi.password=" + password) != std::string::npos);
  // The ISO: mode 0600 in a 0700 directory, secrets in the appended cpio, not on its command line.
  CHECK(mode_of(m.paths.state_dir) == 0700);
  CHECK(mode_of(result.iso) == 0600);
  REQUIRE(m.isos.size() == 1);
  CHECK(m.isos[0].find(password) == std::string::npos);
  CHECK(m.isos[0].find("netroot=iscsi:10.251.73.1::3260::") != std::string::npos);
  CHECK(read_file(result.iso).find("etc/iscsi/iscsid.conf\n") != std::string::npos);
  CHECK(read_file(result.iso).find("node.session.auth.password = " + password) != std::string::npos);

  // Run again (the next kernel-install): the secrets initrd is replaced by rename, never rewritten in place,
  // so a loader or a power cut never meets half an archive. The old inode, under a second name, stays whole.
  const std::string before = read_file(secrets_img);
  fs::create_hard_link(secrets_img, m.paths.state_dir / "old-secrets.img");
  add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  CHECK(fs::hard_link_count(secrets_img) == 1);
  CHECK(read_file(m.paths.state_dir / "old-secrets.img") == before);
  CHECK(mode_of(secrets_img) == 0600);
}

TEST_CASE("remove deletes exactly what add created") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  m.bls_kernel("6.1.0-57-amd64");
  add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  auto second = add_boot_artifacts(m.ctx("6.1.0-57-amd64"), m.paths, m.writers);
  auto removed = remove_boot_artifacts("6.1.0-57-amd64", m.paths);
  CHECK(removed.size() == 3);  // secrets initrd, entry, ISO
  for (const auto& f : second.created) CHECK_FALSE(fs::exists(f));
  CHECK(fs::exists(m.paths.boot / "loader/entries/0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf"));
  CHECK(fs::exists(m.paths.boot / "0123456789abcdef0123456789abcdef/6.1.0-57-amd64/linux"));
  CHECK(fs::exists(m.paths.secrets));
  CHECK(remove_boot_artifacts("6.1.0-57-amd64", m.paths).empty());
}

TEST_CASE("GRUB without BLS: a record the grub.d script turns into a menu entry") {
  Machine m;
  m.grub_kernel("6.1.0-56-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64 root=UUID=1111 ro quiet");
  auto ctx = m.ctx("6.1.0-56-amd64");
  ctx.layout = "other";
  auto result = add_boot_artifacts(ctx, m.paths, m.writers);
  CHECK(result.kind == EntryKind::grub);
  const std::string records = grub_entry_records(m.paths);
  CHECK(records.starts_with("6.1.0-56-amd64\tiSCSI Target (6.1.0-56-amd64) Debian GNU/Linux 12 (bookworm)\t" +
                            (m.paths.boot / "vmlinuz-6.1.0-56-amd64").string() + "\t"));
  CHECK(records.find("iscsi-target-6.1.0-56-amd64.img\t'rd.systemd.unit=iscsi-target.target'") != std::string::npos);
  CHECK(m.isos.at(0).find("root=UUID=1111") != std::string::npos);
  fs::remove(m.paths.boot / "vmlinuz-6.1.0-56-amd64");
  CHECK(grub_entry_records(m.paths).empty());  // kernel gone: no menu entry
}

TEST_CASE("GRUB: options are GRUB words, so $ ; # { and quotes in a setting never become GRUB syntax") {
  Machine m;
  m.grub_kernel("6.1.0-56-amd64", "root=UUID=1111 ro");
  std::ofstream(m.paths.config, std::ios::app) << "target_cmdline = acpi_osi=\"!Windows 2012\" x=$y;reboot #c } {\n";
  auto ctx = m.ctx("6.1.0-56-amd64");
  ctx.layout = "other";
  add_boot_artifacts(ctx, m.paths, m.writers);
  const std::string records = grub_entry_records(m.paths);
  CHECK(records.find(" 'acpi_osi=!Windows 2012' 'x=$y;reboot' '#c' '}' '{'\n") != std::string::npos);
  CHECK(std::count(records.begin(), records.end(), '\n') == 1);
}

TEST_CASE("options that cannot pass through GRUB unchanged are refused at install time, in one line") {
  for (const char* bad : {"a='b c'", "a=\\x", "acpi_osi=\"!Windows 2012"}) {
    Machine m;
    m.bls_kernel("6.1.0-56-amd64");
    std::ofstream(m.paths.config, std::ios::app) << "target_cmdline = " << bad << "\n";
    CHECK_THROWS_WITH(add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers),
                      Catch::Contains("the iSCSI Target entry's options") && !Catch::Contains("\n"));
    CHECK_FALSE(fs::exists(m.paths.boot / "loader/entries/0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf"));
  }
}

TEST_CASE("bad settings throw one line and create nothing") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  std::ofstream(m.paths.config) << "devices = /dev/sda\nport = 0\n";
  CHECK_THROWS_WITH(add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers), Catch::Contains("iscsi-target.conf:2: port=0"));
  CHECK_FALSE(fs::exists(m.paths.state_dir));
  CHECK(m.isos.empty());
  CHECK_FALSE(fs::exists(m.paths.boot / "0123456789abcdef0123456789abcdef/6.1.0-56-amd64/iscsi-target-6.1.0-56-amd64.img"));
}

TEST_CASE("a failed ISO build leaves nothing of this kernel behind, and nothing remove would not know") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  const fs::path entries = m.paths.boot / "loader/entries";
  m.writers.build_iso = [](const IsoImageSpec& spec) -> IsoImageResult {
    std::ofstream(spec.output) << "half an image";
    throw Error("building " + spec.output.string() + ": xorriso: not found in PATH");
  };
  CHECK_THROWS_WITH(add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers), Catch::Contains("xorriso: not found"));
  CHECK_FALSE(fs::exists(entries / "0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf"));
  CHECK_FALSE(fs::exists(m.paths.boot / "0123456789abcdef0123456789abcdef/6.1.0-56-amd64/iscsi-target-6.1.0-56-amd64.img"));
  CHECK_FALSE(fs::exists(m.paths.state_dir / "iscsi-boot-6.1.0-56-amd64.iso"));
  CHECK_FALSE(fs::exists(m.paths.state_dir / "6.1.0-56-amd64.files"));
  CHECK(fs::exists(entries / "0123456789abcdef0123456789abcdef-6.1.0-56-amd64.conf"));  // the kernel's own entry stays
}

TEST_CASE("an unreadable settings file is an error, not silently ignored") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  fs::remove(m.paths.config);
  fs::create_directories(m.paths.config);  // a directory where the file should be
  CHECK_THROWS_WITH(add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers),
                    Catch::Contains("cannot read " + m.paths.config.string()) && Catch::Contains("Is a directory"));
  CHECK(m.isos.empty());
}

namespace {
// The same OS, now booted over iSCSI on the other computer: its disk, NIC and /proc/cmdline are the initiator's.
void become_initiator(Machine& m) {
  const fs::path r = m.dir.path;
  fs::remove_all(r / "sys/class/net/enp3s0");
  fs::create_directories(r / "sys/class/net/eno1/device");
  std::ofstream(r / "sys/class/net/eno1/type") << "1\n";
  std::ofstream(r / "sys/class/net/eno1/address") << "a4:bb:6d:00:11:22\n";
  std::ofstream(m.paths.probe.proc / "cmdline")
      << "BOOT_IMAGE=/vmlinuz root=UUID=1111 ro console=ttyS0 ip=10.251.73.2:::255.255.255.252:::off rd.neednet=1 "
         "netroot=iscsi:10.251.73.1::3260::iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target "
         "rd.iscsi.initiator=iqn.2024-01.org.dracut-iscsi-target:0123456789ab.initiator\n";
}
}  // namespace

TEST_CASE("GRUB: add run again while booted over iSCSI elsewhere rebuilds the machine's own record and ISO") {
  Machine m;
  std::ofstream(m.paths.config) << "# defaults only: disk and NIC are derived, so they must come from the saved facts\n";
  const fs::path r = m.dir.path;
  fs::create_directories(r / "sys/devices/virtio/block/vda/vda3");
  std::ofstream(r / "sys/devices/virtio/block/vda/vda3/partition") << "3\n";
  fs::create_directories(r / "sys/dev/block");
  fs::create_directories(r / "sys/class/block");
  fs::create_directories(r / "dev/disk/by-id");
  std::ofstream(r / "sys/devices/virtio/block/vda/dev") << "254:0\n";
  fs::create_directory_symlink(r / "sys/devices/virtio/block/vda", r / "sys/dev/block/254:0");
  fs::create_directory_symlink(r / "sys/devices/virtio/block/vda/vda3", r / "sys/dev/block/254:3");
  fs::create_symlink("../../vda", r / "dev/disk/by-id/virtio-itgt-disk0");
  std::ofstream(m.paths.probe.proc / "self/mountinfo") << "21 1 254:3 / / rw - ext4 /dev/vda3 rw\n";
  m.grub_kernel("6.1.0-56-amd64", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64 root=UUID=1111 ro console=ttyS0");
  auto ctx = m.ctx("6.1.0-56-amd64");
  ctx.layout = "other";
  auto first = add_boot_artifacts(ctx, m.paths, m.writers);
  const std::string record = read_file(first.entry);
  REQUIRE(m.isos.size() == 1);
  const fs::path saved = m.paths.state_dir / "machine-facts.json";
  REQUIRE(fs::exists(saved));
  CHECK(mode_of(saved) == 0600);

  become_initiator(m);
  std::ofstream(m.paths.probe.proc / "self/mountinfo") << "21 1 8:3 / / rw - ext4 /dev/sda3 rw\n";  // the iSCSI disk
  auto again = add_boot_artifacts(ctx, m.paths, m.writers);
  CHECK(read_file(again.entry) == record);
  REQUIRE(m.isos.size() == 2);
  CHECK(m.isos[1] == m.isos[0]);
  CHECK(record.find("ifname=iscsi0:52:54:00:aa:bb:cc") != std::string::npos);
  CHECK(record.find("rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-disk0") != std::string::npos);
  CHECK(record.find("netroot") == std::string::npos);
  CHECK(std::any_of(again.messages.begin(), again.messages.end(), [](const std::string& s) { return s.starts_with("booted over iSCSI"); }));
}

TEST_CASE("GRUB: booted over iSCSI with no saved facts and a default config creates nothing") {
  Machine m;
  std::ofstream(m.paths.config) << "# defaults only\n";
  m.grub_kernel("6.1.0-56-amd64", "");
  become_initiator(m);
  auto ctx = m.ctx("6.1.0-56-amd64");
  ctx.layout = "other";
  CHECK_THROWS_WITH(add_boot_artifacts(ctx, m.paths, m.writers), Catch::Contains("booted over iSCSI (ip=10.251.73.2"));
  CHECK_FALSE(fs::exists(m.paths.state_dir));
  CHECK(m.isos.empty());
}

TEST_CASE("BLS: a new kernel's entry that kernel-install filled from the initiator's /proc/cmdline gets the machine's options back") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  const std::string target_entry = read_file(m.paths.boot / "loader/entries/0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf");

  become_initiator(m);
  m.bls_kernel("6.1.0-57-amd64");
  const fs::path normal = m.paths.boot / "loader/entries/0123456789abcdef0123456789abcdef-6.1.0-57-amd64.conf";
  std::string text = read_file(normal);
  const std::string leaked = "options root=UUID=1111 ro console=ttyS0 ip=10.251.73.2:::255.255.255.252:::off rd.neednet=1 "
                             "netroot=iscsi:10.251.73.1::3260::iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target";
  text.replace(text.find("options "), text.find('\n', text.find("options ")) - text.find("options "), leaked);
  std::ofstream(normal) << text;
  auto result = add_boot_artifacts(m.ctx("6.1.0-57-amd64"), m.paths, m.writers);
  const BlsEntry restored = read_bls_entry(normal);
  CHECK(restored.options() == "root=UUID=1111 ro quiet console=ttyS0");
  CHECK(restored.get("linux") == m.loader_path("6.1.0-57-amd64", "linux"));
  const BlsEntry ours = read_bls_entry(result.entry);
  CHECK(ours.options() == read_bls_entry(m.paths.boot / "loader/entries/0123456789abcdef0123456789abcdef-6.1.0-56-amd64-iscsi-target.conf").options());
  CHECK(ours.options().find("52:54:00:aa:bb:cc") != std::string::npos);
  CHECK(std::any_of(result.messages.begin(), result.messages.end(), [](const std::string& s) { return s.starts_with("restored the machine's own options"); }));
  CHECK_FALSE(target_entry.empty());
}

TEST_CASE("mutual_chap = yes with a secrets file made without mutual credentials: a warning, not silence") {
  Machine m;
  m.bls_kernel("6.1.0-56-amd64");
  std::ofstream(m.paths.config, std::ios::app) << "mutual_chap = no\n";
  add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  std::ofstream(m.paths.config) << "devices = /dev/disk/by-id/virtio-root\nmutual_chap = yes\n";
  const AddResult again = add_boot_artifacts(m.ctx("6.1.0-56-amd64"), m.paths, m.writers);
  CHECK(std::any_of(again.messages.begin(), again.messages.end(), [&](const std::string& s) {
    return s.starts_with("warning: mutual_chap = yes, but " + m.paths.secrets.string() + " has no mutual credentials");
  }));
}
