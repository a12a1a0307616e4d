#include <catch2/catch.hpp>

#include "boot_settings.h"
#include "cmdline.h"
#include "error.h"
#include "sample_system.h"

using namespace iscsi_target;

namespace {
const ChapCredentials chap{"iscsi-initiator", "AAAAAAAAAAAAAAAAAAAAAAAA", "iscsi-target", "BBBBBBBBBBBBBBBBBBBBBBBB"};
}  // namespace

TEST_CASE("zero config: defaults derived from the system") {
  auto s = derive_boot_settings(BootConfig{}, sample_laptop(), chap);
  CHECK(s.devices == sample_laptop().root_disks);
  CHECK(s.nic.mac == "aa:bb:cc:dd:ee:ff");
  CHECK(s.target_iqn == "iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target");
  CHECK(s.initiator_iqn == "iqn.2024-01.org.dracut-iscsi-target:0123456789ab.initiator");
  CHECK(s.target_address == "10.251.73.1");
  CHECK(netmask_of(s.prefix) == "255.255.255.252");
}

TEST_CASE("target options: no root, no secrets, the target keys; parsable by the target tool") {
  auto s = derive_boot_settings(BootConfig{}, sample_laptop(), chap);
  const std::string options = target_options(s);
  Cmdline c(parse_cmdline(options));
  CHECK_FALSE(c.get("root"));
  CHECK_FALSE(c.get("quiet"));
  CHECK_FALSE(c.get("resume"));
  CHECK_FALSE(c.get("rd.luks.uuid"));
  CHECK(c.get("console") == "ttyS0,115200");
  CHECK(c.get("rd.systemd.unit") == "iscsi-target.target");
  CHECK(c.get("rd.luks") == "0");
  CHECK(c.get("ifname") == "iscsi0:aa:bb:cc:dd:ee:ff");
  CHECK(c.get("ip") == "10.251.73.1:::255.255.255.252::iscsi0:off");
  CHECK(c.get_all("rd.iscsi_target.dev") == sample_laptop().root_disks);
  CHECK(options.find(chap.password) == std::string::npos);
  CHECK(options.find("rd.iscsi.password") == std::string::npos);
  auto target = settings_from_cmdline(Cmdline(parse_cmdline(options + " " + target_secrets_file(s))), "unused");
  CHECK(target.iqn == s.target_iqn);
  CHECK(target.portal.configfs_name() == "10.251.73.1:3260");
  CHECK(target.chap.mutual_password == chap.mutual_password);
}

TEST_CASE("initiator options: the system's root options, dracut's iSCSI root, no resume, no secrets") {
  auto s = derive_boot_settings(BootConfig{}, sample_laptop(), chap);
  const std::string options = initiator_options(s);
  Cmdline c(parse_cmdline(options));
  CHECK(c.get("root") == "UUID=1111-2222");
  CHECK(c.get("rd.luks.uuid") == "4444");
  CHECK_FALSE(c.get("resume"));
  CHECK(c.get("netroot") == "iscsi:10.251.73.1::3260::iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target");
  CHECK(c.get("rd.iscsi.initiator") == s.initiator_iqn);
  CHECK(c.get("ip") == "10.251.73.2:::255.255.255.252:::off");
  CHECK(options.find(chap.password) == std::string::npos);
  const std::string iscsid = initiator_iscsid_conf(s);
  CHECK(iscsid.find("node.session.auth.password = " + chap.password + "\n") != std::string::npos);
  CHECK(iscsid.find("node.session.auth.password_in = " + chap.mutual_password + "\n") != std::string::npos);
  CHECK(iscsid.find("node.session.timeo.replacement_timeout = 86400") != std::string::npos);
}

TEST_CASE("settings errors name the setting") {
  auto facts = sample_laptop();
  facts.wired_nics.clear();
  CHECK_THROWS_WITH(derive_boot_settings(BootConfig{}, facts, chap), Catch::StartsWith("nic=: no wired network interface found"));
  BootConfig c;
  c.nic = "wlan0";
  CHECK_THROWS_WITH(derive_boot_settings(c, sample_laptop(), chap), "nic=wlan0: no such wired network interface");
  c.nic = "enp4s0";
  CHECK(derive_boot_settings(c, sample_laptop(), chap).nic.mac == "11:22:33:44:55:66");
  facts = sample_laptop();
  facts.root_disks.clear();
  CHECK_THROWS_WITH(derive_boot_settings(BootConfig{}, facts, chap), Catch::StartsWith("devices=: none set"));
  facts = sample_laptop();
  facts.cmdline = "quiet";
  CHECK_THROWS_WITH(derive_boot_settings(BootConfig{}, facts, chap), Catch::StartsWith("initiator_root=: the system command line (/proc/cmdline) has no root="));
}
