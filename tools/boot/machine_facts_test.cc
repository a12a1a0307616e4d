#include <catch2/catch.hpp>

#include <fstream>

#include "error.h"
#include "scratch_dir.h"
#include "machine_facts.h"
#include "sample_system.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {
SystemFacts desktop_running_the_laptop_os() {
  SystemFacts f = sample_laptop();
  f.root_disks = {"/dev/disk/by-id/scsi-36001405a1b2c3d4e5f60718293a4b5c6"};
  f.wired_nics = {{"eno1", "a4:bb:6d:00:11:22"}, {"eno2", "a4:bb:6d:00:11:23"}};
  f.cmdline = "root=UUID=1111-2222 ro quiet console=ttyS0,115200 ip=10.251.73.2:::255.255.255.252:::off rd.neednet=1 "
              "netroot=iscsi:10.251.73.1::3260::iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target";
  return f;
}
}  // namespace

TEST_CASE("booted over iSCSI: netroot=iscsi:, root=iscsi:, iBFT; not a local root") {
  CHECK(booted_over_iscsi("BOOT_IMAGE=/vmlinuz root=UUID=1 netroot=iscsi:10.0.0.1::3260::iqn.x ip=dhcp"));
  CHECK(booted_over_iscsi("root=iscsi:10.0.0.1::::iqn.x"));
  CHECK(booted_over_iscsi("rd.iscsi.firmware=1 root=UUID=1"));
  CHECK(booted_over_iscsi("rd.iscsi.ibft"));
  CHECK_FALSE(booted_over_iscsi("BOOT_IMAGE=/vmlinuz root=UUID=1 ro quiet"));
  CHECK_FALSE(booted_over_iscsi("root=UUID=1 netroot=nbd:10.0.0.1:disk rd.iscsi.firmware=0"));
  CHECK_FALSE(booted_over_iscsi("root=UUID=1 rd.iscsi_target.dev=/dev/sda rd.systemd.unit=iscsi-target.target"));
}

TEST_CASE("initiator-only options are found in order; a machine's own command line has none") {
  CHECK(initiator_only_options(desktop_running_the_laptop_os().cmdline) ==
        "ip=10.251.73.2:::255.255.255.252:::off rd.neednet=1 netroot=iscsi:10.251.73.1::3260::iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target");
  CHECK(initiator_only_options("root=UUID=1 ro rd.iscsi.initiator=iqn.x bootdev=eth0") == "rd.iscsi.initiator=iqn.x bootdev=eth0");
  CHECK(initiator_only_options(sample_laptop().cmdline).empty());
}

TEST_CASE("saved machine facts round-trip; a damaged file is an error naming it") {
  const SystemFacts back = parse_machine_facts(machine_facts_json(sample_laptop()), "/var/lib/dracut/iscsi-target/machine-facts.json");
  CHECK(back.root_disks == sample_laptop().root_disks);
  REQUIRE(back.wired_nics.size() == 2);
  CHECK(back.wired_nics[1].name == "enp4s0");
  CHECK(back.wired_nics[1].mac == "11:22:33:44:55:66");
  CHECK(back.cmdline == sample_laptop().cmdline);
  CHECK(back.cmdline_source == "the machine's own /proc/cmdline (saved in /var/lib/dracut/iscsi-target/machine-facts.json)");
  CHECK_THROWS_WITH(parse_machine_facts("{\"root_disks\": []}", "/x/machine-facts.json"),
                    Catch::StartsWith("/x/machine-facts.json: not a saved machine facts file:"));
  CHECK_THROWS_WITH(parse_machine_facts("not json", "/x/machine-facts.json"), Catch::StartsWith("/x/machine-facts.json: not a saved"));
}

TEST_CASE("on the machine itself the probed facts are used and saved") {
  ScratchDir dir("facts-local");
  const FactsChoice c = choose_machine_facts(sample_laptop(), "BOOT_IMAGE=/vmlinuz root=UUID=1111 ro", dir.path / "machine-facts.json", false);
  CHECK(c.save);
  CHECK_FALSE(c.over_iscsi);
  CHECK(c.facts.wired_nics.at(0).mac == "aa:bb:cc:dd:ee:ff");
  CHECK(c.facts.cmdline == sample_laptop().cmdline);
}

TEST_CASE("booted over iSCSI on another computer: the saved disks, NIC and command line replace what is seen there") {
  ScratchDir dir("facts-initiator");
  const fs::path saved = dir.path / "machine-facts.json";
  std::ofstream(saved) << machine_facts_json(sample_laptop());
  const SystemFacts seen = desktop_running_the_laptop_os();
  const FactsChoice c = choose_machine_facts(seen, seen.cmdline, saved, false);
  CHECK(c.over_iscsi);
  CHECK_FALSE(c.save);
  CHECK(c.facts.root_disks == sample_laptop().root_disks);
  REQUIRE(c.facts.wired_nics.size() == 2);
  CHECK(c.facts.wired_nics[0].mac == "aa:bb:cc:dd:ee:ff");
  CHECK(c.facts.cmdline == "root=UUID=1111-2222 ro quiet console=ttyS0,115200 resume=UUID=3333 rd.luks.uuid=4444");
  CHECK(c.facts.machine_id == seen.machine_id);
  CHECK(c.note.find(saved.string()) != std::string::npos);
}

TEST_CASE("booted over iSCSI without saved facts: an error unless the config names disk and NIC") {
  ScratchDir dir("facts-missing");
  const fs::path saved = dir.path / "machine-facts.json";
  const SystemFacts seen = desktop_running_the_laptop_os();
  CHECK_THROWS_WITH(choose_machine_facts(seen, seen.cmdline, saved, false),
                    Catch::Contains("booted over iSCSI (ip=10.251.73.2") && Catch::Contains(saved.string() + " is missing") &&
                        Catch::Contains("set devices = and nic ="));
  const FactsChoice c = choose_machine_facts(seen, seen.cmdline, saved, true);
  CHECK(c.facts.root_disks.empty());  // the config's devices are used, never the iSCSI disk seen here
  CHECK(c.facts.wired_nics.empty());
  CHECK_FALSE(c.save);
}

TEST_CASE("a command line that is not UTF-8 is saved (invalid bytes replaced), not a crash") {
  SystemFacts facts;
  facts.root_disks = {"/dev/vda"};
  facts.cmdline = std::string("root=/dev/vda1 quiet label=\xff\xfe caf\xc3\xa9");
  facts.cmdline_source = "/proc/cmdline";
  const std::string text = machine_facts_json(facts);
  const SystemFacts back = parse_machine_facts(text, "facts.json");
  CHECK(back.cmdline == "root=/dev/vda1 quiet label=\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9");
  CHECK(back.root_disks == facts.root_disks);
}
