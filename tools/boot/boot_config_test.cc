#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>

#include "boot_config.h"
#include "error.h"
#include "scratch_dir.h"

using namespace iscsi_target;

TEST_CASE("config file: every key, comments, quotes") {
  auto c = parse_boot_config(
      "# comment\n"
      "devices = /dev/disk/by-id/nvme-A UUID=1234\n"
      "nic = 52:54:00:12:34:56\n"
      "target_address = 192.168.77.1/24\n"
      "initiator_address = 192.168.77.2\n"
      "port = 3261\n"
      "target_iqn = iqn.2024-01.org.example:t\n"
      "initiator_iqn = \"iqn.2024-01.org.example:i\"\n"
      "initiator_cmdline = quiet splash\n"
      "usb_devices = /dev/disk/by-id/usb-A /dev/disk/by-id/usb-B\n"
      "mutual_chap = no\n"
      "read_only = yes\n"
      "iso = yes\n",
      "iscsi-target.conf");
  CHECK(c.devices == std::vector<std::string>{"/dev/disk/by-id/nvme-A", "UUID=1234"});
  CHECK(c.nic == "52:54:00:12:34:56");
  CHECK(c.target_address == "192.168.77.1");
  CHECK(c.prefix == 24u);
  CHECK(c.port == 3261);
  CHECK(c.initiator_iqn == "iqn.2024-01.org.example:i");
  CHECK(c.usb_devices.size() == 2);
  CHECK_FALSE(c.mutual_chap);
  CHECK(c.read_only);
  CHECK(parse_boot_config("", "x").devices.empty());
  CHECK_FALSE(parse_boot_config("", "x").read_only);
  CHECK_FALSE(parse_boot_config("read_only = no", "x").read_only);
}

TEST_CASE("config file: one line naming file, line, key and value") {
  auto error = [](const std::string& text) {
    try {
      parse_boot_config(text, "iscsi-target.conf");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error("\ndevcies = /dev/sda\n") == "iscsi-target.conf:2: devcies=/dev/sda: unknown setting (see the comments in iscsi-target.conf)");
  CHECK(error("port = 99999") == "iscsi-target.conf:1: port=99999: expected a number from 1 to 65535");
  CHECK(error("target_address = 10.0.0.300") == "iscsi-target.conf:1: target_address=10.0.0.300: not an IPv4 address");
  CHECK(error("target_iqn = IQN.X").find("iscsi-target.conf:1: target_iqn=IQN.X: not an iSCSI name") == 0);
  CHECK(error("nic = eth 0").find("nic=eth 0: expected a MAC address") != std::string::npos);
  CHECK(error("iso = maybe") == "iscsi-target.conf:1: iso=maybe: expected yes or no");
  CHECK(error("read_only = ro") == "iscsi-target.conf:1: read_only=ro: expected yes or no");
  CHECK(error("just words") == "iscsi-target.conf:1: expected 'key = value', got 'just words'");
}

TEST_CASE("the shell original's variables are mapped") {
  BootConfig c;
  apply_legacy_config(
      "dracut_iscsi_target_bootentries=\"yes\"\n"
      "dracut_iscsi_target_iqn=\"iqn.2009-02.com.example:for.all\"\n"
      "dracut_iscsi_target_username=\"testuser\"\n"
      "dracut_iscsi_target_password=\"testpass1\"\n"
      "dracut_iscsi_target_kernelargs=\\\n"
      "\"ifname=bootnet0:52:54:00:46:41:46 \"\\\n"
      "\"ip=192.168.200.1:192.168.200.2::255.255.255.0:target-host:bootnet0:off \"\\\n"
      "\"rd.shell \"\\\n"
      "\"console=ttyS0 \"\\\n"
      "\"rd.iscsi_target.iqn=$dracut_iscsi_target_iqn \"\\\n"
      "\"rd.iscsi_target.dev=/dev/disk/by-id/virtio-abcd1234 \"\\\n"
      "\"rd.iscsi_target.dev=/dev/disk/by-id/virtio-eabc5678 \"\n"
      "dracut_iscsi_target_client_kernelargs=\"ip=192.168.200.2:192.168.200.1::255.255.255.0:client:bootnet0:off "
      "rd.retry=5 netroot=iscsi:192.168.200.1:::1:$dracut_iscsi_target_iqn root=/dev/disk/by-uuid/5b66\"\n",
      c, "iscsi-target.conf");
  CHECK(c.boot_entries);
  CHECK(c.target_iqn == "iqn.2009-02.com.example:for.all");
  CHECK(c.legacy_chap_username == "testuser");
  CHECK(c.devices == std::vector<std::string>{"/dev/disk/by-id/virtio-abcd1234", "/dev/disk/by-id/virtio-eabc5678"});
  CHECK(c.nic == "52:54:00:46:41:46");
  CHECK(c.target_address == "192.168.200.1");
  CHECK(c.initiator_address == "192.168.200.2");
  CHECK(c.target_cmdline == "console=ttyS0");
  CHECK(c.initiator_cmdline == "rd.retry=5");
  CHECK(c.initiator_root == "root=/dev/disk/by-uuid/5b66");
}

TEST_CASE("the shell original's CHAP values get the target's check, named by file, never echoed") {
  auto error = [](const std::string& text) {
    BootConfig c;
    try {
      apply_legacy_config(text, c, "/etc/dracut.conf.d/iscsi-target.conf");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error("dracut_iscsi_target_username=\"u\"\ndracut_iscsi_target_password=\"pass word\"\n") ==
        "/etc/dracut.conf.d/iscsi-target.conf: dracut_iscsi_target_password=<hidden 9 characters>: must not contain spaces or control characters");
  CHECK(error("dracut_iscsi_target_password=\"pass\\word\"\n").find("<hidden 9 characters>: must not contain '\"' or '\\'") != std::string::npos);
  CHECK(error("dracut_iscsi_target_password=\"sec\tret\"\n") ==
        "/etc/dracut.conf.d/iscsi-target.conf: dracut_iscsi_target_password=<hidden 7 characters>: must not contain spaces or control characters");
  CHECK(error("dracut_iscsi_target_username=\"my user\"\n") ==
        "/etc/dracut.conf.d/iscsi-target.conf: dracut_iscsi_target_username=my user: must not contain spaces or control characters");
  CHECK(error("dracut_iscsi_target_username=u\ndracut_iscsi_target_password=testpass1\n") == "no error");
}

TEST_CASE("a world-readable shell original's file with a password: one warning line without the password") {
  ScratchDir dir("legacy");
  const auto file = dir.path / "iscsi-target.conf";
  std::ofstream(file) << "dracut_iscsi_target_password=testpass1\n";
  BootConfig c;
  CHECK_FALSE(legacy_secret_warning(file, c));
  c.legacy_chap_password = "testpass1";
  ::chmod(file.c_str(), 0644);
  auto warning = legacy_secret_warning(file, c);
  REQUIRE(warning);
  CHECK(*warning == "warning: " + file.string() + " holds dracut_iscsi_target_password and is readable by every user (chmod 600 it)");
  ::chmod(file.c_str(), 0600);
  CHECK_FALSE(legacy_secret_warning(file, c));
}

TEST_CASE("legacy config: a 40 KB continued line and self-doubling values end in one error or a result, never a crash") {
  std::string text = "dracut_iscsi_target_kernelargs=\\\n";
  for (int i = 0; i < 700; ++i) text += "\"rd.iscsi_target.dev=/dev/disk/by-id/virtio-" + std::to_string(i) + "-xxxxxxxxxxxx \"\\\n";
  text += "\"rd.iscsi.initiator=iqn.2024-01.org.example:i\"\n";
  REQUIRE(text.size() > 40000);
  BootConfig config;
  apply_legacy_config(text, config, "legacy.conf");
  CHECK(config.devices.size() == 700);

  std::string doubling = "a=xxxxxxxx\n";
  for (int i = 0; i < 40; ++i) doubling += "a=$a$a\n";
  BootConfig other;
  CHECK_THROWS_WITH(apply_legacy_config(doubling, other, "legacy.conf"), Catch::Contains("legacy.conf: a: value longer than"));
}

TEST_CASE("nic: a MAC address or an interface name, nothing else") {
  CHECK(parse_boot_config("nic = AA:bb:cc:dd:ee:ff\n", "f").nic == "AA:bb:cc:dd:ee:ff");
  CHECK(parse_boot_config("nic = enp3s0\n", "f").nic == "enp3s0");
  CHECK_THROWS_WITH(parse_boot_config("nic = aa:bb:cc:dd:ee:fg\n", "f"), Catch::Contains("f:1: nic=aa:bb:cc:dd:ee:fg"));
  CHECK_THROWS_WITH(parse_boot_config("nic = abcdefghijklmnop\n", "f"), Catch::Contains("expected a MAC address"));
  CHECK_THROWS(parse_boot_config("nic = en/p3\n", "f"));
}
