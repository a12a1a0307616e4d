#include <catch2/catch.hpp>

#include "boot_settings.h"
#include "cmdline.h"
#include "error.h"
#include "iscsid_conf.h"
#include "read_back.h"
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
  // The storage-stack safety keys on the entry's real command line: systemd's ConditionKernelCommandLine (dracut's
  // multipathd.service) reads /proc/cmdline, not the initramfs' cmdline.d.
  for (const char* key : {"rd.lvm", "rd.luks", "rd.md", "rd.dm", "rd.multipath"})
    CHECK(c.get_all(key) == std::vector<std::string>{"0"});
  CHECK(c.get("ifname") == "iscsi0:aa:bb:cc:dd:ee:ff");
  CHECK_FALSE(c.get("ip"));  // not dracut's network scripts: the target sets its address itself
  CHECK_FALSE(c.get("rd.neednet"));
  CHECK(c.get("rd.iscsi_target.address") == "10.251.73.1/30");
  CHECK(c.get("rd.iscsi_target.interface") == "iscsi0");
  CHECK(c.get_all("rd.iscsi_target.dev") == sample_laptop().root_disks);
  CHECK(options.find(chap.password) == std::string::npos);
  CHECK(options.find("rd.iscsi.password") == std::string::npos);
  auto target = settings_from_cmdline(Cmdline(parse_cmdline(options + " " + target_secrets_file(s))), "unused");
  CHECK(target.iqn == s.target_iqn);
  CHECK(target.portal.configfs_name() == "10.251.73.1:3260");
  REQUIRE(target.cable);
  CHECK(*target.cable == CableAddress{"iscsi0", "10.251.73.1", 30, false});
  CHECK(target.chap.mutual_password == chap.mutual_password);
}

TEST_CASE("target options: the system's own storage-stack keys give way to ours") {
  SystemFacts facts = sample_laptop();
  facts.cmdline += " rd.multipath=default rd.md=1 rd.lvm.vg=vg0";
  const std::string options = target_options(derive_boot_settings(BootConfig{}, facts, chap));
  Cmdline c(parse_cmdline(options));
  CHECK(c.get_all("rd.multipath") == std::vector<std::string>{"0"});
  CHECK(c.get_all("rd.md") == std::vector<std::string>{"0"});
  CHECK_FALSE(c.get("rd.lvm.vg"));
  CHECK(options.find("rd.systemd.unit=iscsi-target.target rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0 ") != std::string::npos);
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

namespace {
std::string derive_error(const BootConfig& config, const ChapCredentials& credentials) {
  try {
    derive_boot_settings(config, sample_laptop(), credentials);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("the entry's options and target.conf read back with the target's parser as meant") {
  BootConfig config;
  config.devices = {"/dev/disk/by-id/nvme-A", "UUID=1234", "PARTLABEL=data"};
  config.port = 3261;
  config.target_iqn = "iqn.2024-01.org.example:t";
  auto s = derive_boot_settings(config, sample_laptop(), chap);
  const TargetSettings meant = target_settings_of(s);
  CHECK(meant.device_specs == config.devices);
  CHECK(meant.portal.configfs_name() == "10.251.73.1:3261");
  auto args = parse_cmdline(target_options(s));
  const auto conf = parse_cmdline(target_secrets_file(s));
  args.insert(args.end(), conf.begin(), conf.end());
  CHECK(settings_from_cmdline(Cmdline(args), "") == meant);
  CHECK(target_secrets_file(s) == target_conf_text(chap));

  const ChapCredentials one_way{"iscsi-initiator", "AAAAAAAAAAAAAAAAAAAAAAAA", "", ""};
  s = derive_boot_settings(BootConfig{}, sample_laptop(), one_way);
  args = parse_cmdline(target_options(s) + " " + target_secrets_file(s));
  CHECK(settings_from_cmdline(Cmdline(args), "") == target_settings_of(s));
}

TEST_CASE("a value the target would refuse or read differently is refused before anything is written") {
  ChapCredentials bad = chap;
  bad.password = "a b";
  auto error = derive_error(BootConfig{}, bad);
  CHECK(error == "iSCSI Target entry: rd.iscsi.password=<hidden 3 characters>: must not contain spaces or control characters");
  bad.password = "pa\"ss";
  CHECK(derive_error(BootConfig{}, bad).find("<hidden 5 characters>") != std::string::npos);
  bad = chap;
  bad.mutual_password = chap.password;
  error = derive_error(BootConfig{}, bad);
  CHECK(error.find("rd.iscsi.in.password=<hidden>: must differ") != std::string::npos);
  CHECK(error.find(chap.password) == std::string::npos);

  BootConfig config;
  config.devices = {"/dev/disk/by-label/my disk"};
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.dev=/dev/disk/by-label/my disk: must not contain spaces"));
  config.devices = {"sda"};
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.dev=sda: expected a device path"));
  config.devices = {"/dev/sda", "/dev/sda"};
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.dev=/dev/sda: given twice"));

  // The ISO's iscsid.conf is checked on its own when there are no boot entries.
  config = BootConfig{};
  config.boot_entries = false;
  bad = chap;
  bad.password = "a b";
  CHECK(derive_error(config, bad) == "ISO etc/iscsi/iscsid.conf: node.session.auth.password=<hidden 3 characters>: must not contain spaces or control characters");
  config.iso = false;
  CHECK(derive_error(config, bad) == "no error");  // nothing is written that would carry it
}

TEST_CASE("target_cmdline may add to the target's settings, not change ours") {
  BootConfig config;
  config.target_cmdline = "rd.iscsi_target.wait=60 rd.iscsi_target.tuning=lio-defaults rd.iscsi_target.initiator=iqn.2024-01.org.example:two";
  auto s = derive_boot_settings(config, sample_laptop(), chap);
  auto got = settings_from_cmdline(Cmdline(parse_cmdline(target_options(s) + " " + target_secrets_file(s))), "");
  CHECK(got.device_wait_seconds == 60);
  CHECK(got.tuning == Tuning::lio_defaults);
  CHECK(got.initiator_iqns == std::vector<std::string>{s.initiator_iqn, "iqn.2024-01.org.example:two"});

  config.target_cmdline = "rd.iscsi_target.dev=/dev/sdz";
  CHECK(derive_error(config, chap) ==
        "iSCSI Target entry: rd.iscsi_target.dev reads back as '/dev/disk/by-id/nvme-Samsung_SSD_980_S1 /dev/sdz', "
        "not '/dev/disk/by-id/nvme-Samsung_SSD_980_S1' (set it in iscsi-target.conf, not in target_cmdline)");
  config.target_cmdline = "rd.iscsi_target.iqn=iqn.2024-01.org.example:other";
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.iqn reads back as 'iqn.2024-01.org.example:other'"));
  config.target_cmdline = "rd.iscsi_target.portal=0.0.0.0";
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.portal reads back as '0.0.0.0:3260', not '10.251.73.1:3260'"));
  config.target_cmdline = "rd.iscsi_target.wait=soon";
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.wait=soon: must be a number"));
  config.target_cmdline = "rd.iscsi.password=leaked12345";
  const std::string error = derive_error(config, chap);
  CHECK(error == "iSCSI Target entry: rd.iscsi.password must not be on the command line, dracut logs it (CHAP comes from chap-secrets)");
  config.boot_entries = false;  // only the ISO: the target's options are not written
  CHECK(derive_error(config, chap) == "no error");
}

TEST_CASE("read_only = yes reaches the target as rd.iscsi_target.read_only=1 and reads back; target_cmdline cannot change it") {
  BootConfig config;
  config.read_only = true;
  auto s = derive_boot_settings(config, sample_laptop(), chap);
  CHECK(target_settings_of(s).read_only);
  CHECK(Cmdline(parse_cmdline(target_options(s))).get("rd.iscsi_target.read_only") == "1");
  CHECK(settings_from_cmdline(Cmdline(parse_cmdline(target_options(s) + " " + target_secrets_file(s))), "").read_only);
  CHECK(target_options(derive_boot_settings(BootConfig{}, sample_laptop(), chap)).find("read_only") == std::string::npos);

  config.target_cmdline = "rd.iscsi_target.read_only=0";
  CHECK(derive_error(config, chap) ==
        "iSCSI Target entry: rd.iscsi_target.read_only reads back as '0', not '1' (set read_only in iscsi-target.conf, not in target_cmdline)");
  config.read_only = false;
  config.target_cmdline = "rd.iscsi_target.read_only=1";
  CHECK(derive_error(config, chap).starts_with("iSCSI Target entry: rd.iscsi_target.read_only reads back as '1', not '0'"));
  config.target_cmdline = "rd.iscsi_target.read_only=perhaps";
  CHECK(derive_error(config, chap) == "iSCSI Target entry: rd.iscsi_target.read_only=perhaps: expected 1 (read-only export) or 0");
}

TEST_CASE("the initiator's iscsid.conf reads back with the CHAP values meant") {
  auto s = derive_boot_settings(BootConfig{}, sample_laptop(), chap);
  auto conf = parse_iscsid_conf(initiator_iscsid_conf(s));
  CHECK(conf["node.session.auth.authmethod"] == "CHAP");
  CHECK(conf["node.session.auth.username"] == chap.userid);
  CHECK(conf["node.session.auth.password"] == chap.password);
  CHECK(conf["node.session.auth.username_in"] == chap.mutual_userid);
  CHECK(conf["node.session.auth.password_in"] == chap.mutual_password);
  CHECK_NOTHROW(verify_initiator_files(s));
  s.chap.mutual_password = "";
  CHECK_THROWS_WITH(verify_initiator_files(s), "ISO etc/iscsi/iscsid.conf: node.session.auth.password_in=<hidden 0 characters>: must not be empty");
}
