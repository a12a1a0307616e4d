#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "error.h"
#include "scratch_dir.h"
#include "lio_apply.h"
#include "lio_read.h"
#include "saveconfig.h"
#include "settings.h"
#include "target_plan.h"
#include "unit_serial.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

TargetSettings two_disk_settings() {
  TargetSettings s;
  s.iqn = "iqn.2024-01.org.example:target";
  s.device_specs = {"/dev/vda", "/dev/vdb"};
  s.initiator_iqns = {"iqn.2024-01.org.example:laptop"};
  s.chap = {"user", "onewaysecret", "target", "mutualsecret"};
  return s;
}

std::vector<BlockDevice> two_disks() {
  return {{"/dev/vda", "/dev/vda", "vda", 1, "serial:A"}, {"/dev/vdb", "/dev/vdb", "vdb", 2, "serial:B"}};
}

size_t position(const std::vector<std::string>& log, const std::string& line) {
  auto it = std::find(log.begin(), log.end(), line);
  INFO("missing from log: " << line);
  REQUIRE(it != log.end());
  return static_cast<size_t>(it - log.begin());
}

const std::string tpg = "target/iscsi/iqn.2024-01.org.example:target/tpgt_1";

}  // namespace

TEST_CASE("apply writes objects in the order LIO needs") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  apply_lio_config(configfs, plan_lio_config(two_disk_settings(), two_disks()), [](const std::string&) {});
  const auto& log = configfs.log();

  const std::string so0 = "target/core/iblock_0/vda", so1 = "target/core/iblock_1/vdb";
  // Backstore: device, enable, then the serial (LIO answers VPD 0x80/0x83 only after it is set).
  CHECK(position(log, "write " + so0 + "/udev_path=/dev/vda") < position(log, "write " + so0 + "/enable=1"));
  CHECK(position(log, "write " + so0 + "/enable=1") < position(log, "write " + so0 + "/wwn/vpd_unit_serial=" +
                                                                 unit_serial_from_identity("serial:A")));
  // Backstores exist before the LUN links that point at them.
  CHECK(position(log, "mkdir " + so1) < position(log, "symlink " + tpg + "/lun/lun_1/vdb -> " + so1));
  // LUNs in the given order, LUN 0 first.
  CHECK(position(log, "mkdir " + tpg + "/lun/lun_0") < position(log, "mkdir " + tpg + "/lun/lun_1"));
  // Mapped LUNs link to TPG LUNs, which must exist first; write_protect cleared after the link.
  const std::string acl = tpg + "/acls/iqn.2024-01.org.example:laptop";
  CHECK(position(log, "symlink " + tpg + "/lun/lun_0/vda -> " + so0) <
        position(log, "symlink " + acl + "/lun_0/vda -> " + tpg + "/lun/lun_0"));
  CHECK(position(log, "symlink " + acl + "/lun_0/vda -> " + tpg + "/lun/lun_0") < position(log, "write " + acl + "/lun_0/write_protect=0"));
  // CHAP written as exact bytes, secrets masked in the log.
  CHECK(position(log, "write " + acl + "/auth/userid=user") < log.size());
  CHECK(position(log, "write " + acl + "/auth/password=<hidden>") < log.size());
  CHECK(position(log, "write " + acl + "/auth/password_mutual=<hidden>") < log.size());
  CHECK(std::none_of(log.begin(), log.end(), [](const std::string& l) { return l.find("onewaysecret") != std::string::npos; }));
  CHECK(configfs.read(acl + "/auth/password") == "onewaysecret");  // no trailing newline
  // Tuned parameters and enforced authentication before enable; enable is the very last write.
  CHECK(position(log, "write " + tpg + "/param/InitialR2T=No") < position(log, "write " + tpg + "/enable=1"));
  CHECK(position(log, "write " + tpg + "/attrib/authentication=1") < position(log, "write " + tpg + "/enable=1"));
  CHECK(position(log, "mkdir " + tpg + "/np/0.0.0.0:3260") < position(log, "write " + tpg + "/enable=1"));
  CHECK(log.back() == "write " + tpg + "/enable=1");
}

TEST_CASE("read-only: backstores opened read-only, every mapped LUN write-protected after its link, demo mode off") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  TargetSettings settings = two_disk_settings();
  settings.read_only = true;
  settings.initiator_iqns.push_back("iqn.2024-01.org.example:desk");
  apply_lio_config(configfs, plan_lio_config(settings, two_disks()), [](const std::string&) {});
  const auto& log = configfs.log();
  const std::string so0 = "target/core/iblock_0/vda";
  CHECK(position(log, "write " + so0 + "/control=readonly=1") < position(log, "write " + so0 + "/enable=1"));
  for (const std::string initiator : {"iqn.2024-01.org.example:laptop", "iqn.2024-01.org.example:desk"}) {
    const std::string acl = tpg + "/acls/" + initiator;
    for (const std::string lun : {"lun_0/vda", "lun_1/vdb"}) {
      const std::string mapped = acl + "/" + lun.substr(0, 5);
      CHECK(position(log, "symlink " + acl + "/" + lun + " -> " + tpg + "/lun/" + lun.substr(0, 5)) <
            position(log, "write " + mapped + "/write_protect=1"));
      CHECK(position(log, "write " + mapped + "/write_protect=1") < position(log, "write " + tpg + "/enable=1"));
      CHECK(configfs.read(mapped + "/write_protect") == "1");
    }
  }
  CHECK(std::none_of(log.begin(), log.end(), [](const std::string& l) { return l.ends_with("/write_protect=0"); }));
  CHECK(configfs.read(tpg + "/attrib/generate_node_acls") == "0");
  CHECK(configfs.read(tpg + "/attrib/demo_mode_write_protect") == "1");
  CHECK(log.back() == "write " + tpg + "/enable=1");

  // Read back: the mappings and the backstores say read-only, so save/restore keeps it.
  const auto read = read_lio_config(configfs, false);
  for (const auto& acl : read.targets.at(0).tpgs.at(0).node_acls)
    for (const auto& mapped : acl.mapped_luns) CHECK(mapped.write_protect);
}

TEST_CASE("read-only: save and restore keep the write-protected mappings and the read-only backstores") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  TargetSettings settings = two_disk_settings();
  settings.read_only = true;
  const LioConfig planned = plan_lio_config(settings, two_disks());
  const auto saved = saveconfig_from_lio(planned);
  CHECK(saved["storage_objects"][0]["readonly"] == true);
  CHECK(saved["targets"][0]["tpgs"][0]["node_acls"][0]["mapped_luns"][1]["write_protect"] == true);
  const LioConfig restored = lio_from_saveconfig(saved);
  CHECK(restored.storage_objects.at(1).readonly);
  ConfigFs configfs(dir.path, {.emulate = true});
  apply_lio_config(configfs, restored, [](const std::string& w) { FAIL(w); });
  const std::string acl = tpg + "/acls/iqn.2024-01.org.example:laptop";
  CHECK(configfs.read(acl + "/lun_0/write_protect") == "1");
  CHECK(configfs.read(acl + "/lun_1/write_protect") == "1");
  // What a save of the running target writes: the mappings read back write-protected.
  const auto resaved = saveconfig_from_lio(read_lio_config(configfs, true));
  CHECK(resaved["targets"][0]["tpgs"][0]["node_acls"][0]["mapped_luns"][0]["write_protect"] == true);
}

TEST_CASE("read-only: a failure after the write-protected mappings removes everything again") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  TargetSettings settings = two_disk_settings();
  settings.read_only = true;
  auto config = plan_lio_config(settings, two_disks());
  config.targets[0].tpgs[0].node_acls[0].mapped_luns.push_back({7, 9, true});
  CHECK_THROWS_WITH(apply_lio_config(configfs, config, [](const std::string& w) { FAIL(w); }), Catch::Contains("missing TPG LUN 9"));
  const auto& log = configfs.log();
  const std::string mapped = tpg + "/acls/iqn.2024-01.org.example:laptop/lun_1";
  CHECK(position(log, "write " + mapped + "/write_protect=1") < position(log, "rmdir " + mapped));
  CHECK(configfs.list("target/core").empty());
  CHECK(configfs.list("target/iscsi").empty());
  CHECK(std::none_of(log.begin(), log.end(), [](const std::string& l) { return l == "write " + tpg + "/enable=1"; }));
}

TEST_CASE("a failure half-way removes everything created so far, and only that") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  fs::create_directories(dir.path / "target/iscsi/iqn.2024-01.org.example:someone-else");
  ConfigFs configfs(dir.path, {.emulate = true});
  auto config = plan_lio_config(two_disk_settings(), two_disks());
  // Fails at the very end, after backstores, LUNs, portals and the first mapped LUNs exist.
  config.targets[0].tpgs[0].node_acls[0].mapped_luns.push_back({7, 9, false});
  std::vector<std::string> warnings;
  CHECK_THROWS_WITH(apply_lio_config(configfs, config, [&](const std::string& w) { warnings.push_back(w); }),
                    Catch::Contains("missing TPG LUN 9"));
  CHECK(warnings.empty());
  CHECK(configfs.list("target/core").empty());
  CHECK(configfs.list("target/iscsi") == std::vector<std::string>{"iqn.2024-01.org.example:someone-else"});
  const auto& log = configfs.log();
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.starts_with("rmdir target/core/iblock_"); }) == 4);
}

TEST_CASE("every TPG is enabled after every object of every target exists") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  auto config = plan_lio_config(two_disk_settings(), two_disks());
  Target second = config.targets[0];
  second.wwn = "iqn.2024-01.org.example:second";
  config.targets.push_back(second);
  apply_lio_config(configfs, config, [](const std::string&) {});
  const auto& log = configfs.log();
  // A SIGKILL at any point before the first enable leaves nothing that accepts a login.
  const auto first_enable = std::find_if(log.begin(), log.end(), [](const std::string& l) {
    return l.starts_with("write target/iscsi/") && l.ends_with("/enable=1");
  });
  REQUIRE(first_enable != log.end());
  CHECK(std::all_of(first_enable, log.end(), [](const std::string& l) { return l.ends_with("/enable=1"); }));
  CHECK(log.end() - first_enable == 2);
  CHECK(position(log, "write target/iscsi/iqn.2024-01.org.example:second/tpgt_1/acls/iqn.2024-01.org.example:laptop/lun_1/write_protect=0") <
        position(log, "write " + tpg + "/enable=1"));
}

TEST_CASE("a backstore whose device cannot be used names the device, and nothing is left") {
  ScratchDir dir("plain-dir");
  fs::create_directories(dir.path / "target/core");
  // Not emulated: directories are made but no attribute files appear, so the first backstore write fails.
  ConfigFs configfs(dir.path);
  std::vector<std::string> warnings;
  CHECK_THROWS_WITH(apply_lio_config(configfs, plan_lio_config(two_disk_settings(), two_disks()),
                                     [&](const std::string& w) { warnings.push_back(w); }),
                    Catch::Matches("storage object /backstores/block/vda: cannot use /dev/vda \\(.*target/core/iblock_0/vda/udev_path: "
                                   "No such file or directory\\)"));
  CHECK(warnings.empty());
  CHECK(configfs.list("target/core").empty());
}

TEST_CASE("lio_is_empty sees targets and HBAs, even an HBA without backstore") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core/alua");
  fs::create_directories(dir.path / "target/iscsi/discovery_auth");
  ConfigFs configfs(dir.path, {.emulate = true});
  CHECK(lio_is_empty(configfs));
  configfs.mkdir("target/core/iblock_0");  // a start killed between the HBA's mkdir and the backstore's
  CHECK_FALSE(lio_is_empty(configfs));
  REQUIRE(teardown_lio(configfs, [](const std::string& w) { FAIL(w); }));
  CHECK(lio_is_empty(configfs));
  configfs.mkdir("target/iscsi/iqn.2024-01.org.example:target");
  CHECK_FALSE(lio_is_empty(configfs));
}

TEST_CASE("mkdir_in_child creates the directory, reports errors with the path, and is undone") {
  ScratchDir dir("fake-configfs");
  ConfigFs configfs(dir.path, {.emulate = true});
  {
    ConfigFsTransaction tx(configfs, [](const std::string& w) { FAIL(w); });
    tx.mkdir_in_child("target/iscsi/iqn.2024-01.org.example:t/tpgt_1/np/0.0.0.0:3260");
    CHECK(configfs.exists("target/iscsi/iqn.2024-01.org.example:t/tpgt_1/np/0.0.0.0:3260"));
    CHECK_THROWS_WITH(tx.mkdir_in_child("target/iscsi/iqn.2024-01.org.example:t/tpgt_1/np/0.0.0.0:3260"),
                      Catch::Contains("np/0.0.0.0:3260: File exists"));
  }  // not committed: rolled back
  CHECK_FALSE(configfs.exists("target/iscsi/iqn.2024-01.org.example:t/tpgt_1/np/0.0.0.0:3260"));
}

TEST_CASE("teardown removes innermost first and is idempotent") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  apply_lio_config(configfs, plan_lio_config(two_disk_settings(), two_disks()), [](const std::string&) {});
  ConfigFs fresh(dir.path, {.emulate = true});
  REQUIRE(teardown_lio(fresh, [](const std::string& w) { FAIL(w); }));
  const auto& log = fresh.log();
  CHECK(log.front() == "write " + tpg + "/enable=0");
  const std::string acl = tpg + "/acls/iqn.2024-01.org.example:laptop";
  CHECK(position(log, "unlink " + acl + "/lun_0/vda") < position(log, "rmdir " + acl + "/lun_0"));
  CHECK(position(log, "rmdir " + acl) < position(log, "unlink " + tpg + "/lun/lun_0/vda"));
  CHECK(position(log, "rmdir " + tpg + "/np/0.0.0.0:3260") < position(log, "rmdir " + tpg));
  CHECK(position(log, "rmdir target/iscsi/iqn.2024-01.org.example:target") < position(log, "rmdir target/core/iblock_0/vda"));
  CHECK(fresh.list("target/iscsi").empty());
  CHECK(fresh.list("target/core").empty());
  ConfigFs again(dir.path, {.emulate = true});
  CHECK(teardown_lio(again, [](const std::string& w) { FAIL(w); }));
  CHECK(again.log().empty());
}

TEST_CASE("read back what was applied") {
  ScratchDir dir("fake-configfs");
  fs::create_directories(dir.path / "target/core");
  ConfigFs configfs(dir.path, {.emulate = true});
  const auto planned = plan_lio_config(two_disk_settings(), two_disks());
  apply_lio_config(configfs, planned, [](const std::string&) {});
  const auto read = read_lio_config(configfs, true);
  REQUIRE(read.storage_objects.size() == 2);
  CHECK(read.storage_objects[1].dev == "/dev/vdb");
  CHECK(read.storage_objects[1].wwn == planned.storage_objects[1].wwn);
  REQUIRE(read.targets.size() == 1);
  const auto& t = read.targets[0].tpgs.at(0);
  CHECK(t.enable);
  REQUIRE(t.luns.size() == 2);
  CHECK(t.luns[1].storage_object == "/backstores/block/vdb");
  CHECK(t.portals.at(0).configfs_name() == "0.0.0.0:3260");
  REQUIRE(t.node_acls.size() == 1);
  CHECK(t.node_acls[0].chap_mutual_password == "mutualsecret");
  CHECK(t.node_acls[0].mapped_luns.size() == 2);
  CHECK(t.node_acls[0].mapped_luns[1].tpg_lun == 1);
  CHECK(t.parameters.at("MaxBurstLength") == "1048576");
  const auto without = read_lio_config(configfs, false);
  CHECK(without.targets[0].tpgs[0].node_acls[0].chap_password.empty());
  CHECK(without.targets[0].tpgs[0].node_acls[0].chap_userid == "user");
}

TEST_CASE("read keeps block and fileio backstores; teardown removes every kind") {
  ScratchDir dir("fake-configfs");
  // Made as the kernel shows them, not through apply: a fileio object with its info text and a ramdisk.
  auto kernel_file = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((dir.path / rel).parent_path());
    std::ofstream(dir.path / rel) << text;
  };
  kernel_file("target/core/fileio_0/hba_info", "HBA Index: 1 plugin: fileio version: v5.0\n");
  kernel_file("target/core/fileio_0/img/udev_path", "/srv/img\n");
  kernel_file("target/core/fileio_0/img/enable", "1\n");
  kernel_file("target/core/fileio_0/img/wwn/vpd_unit_serial", "T10 VPD Unit Serial Number: abc\n");
  kernel_file("target/core/fileio_0/img/info",
              "Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384\n"
              "        TCM FILEIO ID: 0        File: /srv/img  Size: 1073741824  Mode: Buffered-WCE Async: 0\n");
  kernel_file("target/core/rd_mcp_0/ram/udev_path", "\n");
  kernel_file("target/core/rd_mcp_0/ram/enable", "1\n");
  kernel_file("target/core/alua/lio_version", "x\n");

  ConfigFs configfs(dir.path, {.emulate = true});
  const auto read = read_lio_config(configfs, false);
  REQUIRE(read.storage_objects.size() == 1);
  const auto& so = read.storage_objects[0];
  CHECK(so.saveconfig_path() == "/backstores/fileio/img");
  CHECK(so.dev == "/srv/img");
  CHECK(so.wwn == "abc");
  CHECK(so.size == 1073741824);  // the file's size, not SectorSize
  CHECK(so.write_back);

  REQUIRE(teardown_lio(configfs, [](const std::string& w) { FAIL(w); }));
  CHECK(configfs.log() == std::vector<std::string>{"rmdir target/core/fileio_0/img", "rmdir target/core/fileio_0",
                                                   "rmdir target/core/rd_mcp_0/ram", "rmdir target/core/rd_mcp_0"});
  CHECK(configfs.list("target/core") == std::vector<std::string>{"alua"});
}

TEST_CASE("two specs naming one device are refused") {
  auto disks = two_disks();
  disks[1].devno = disks[0].devno;
  disks[1].spec = "UUID=1234";
  CHECK_THROWS_WITH(plan_lio_config(two_disk_settings(), disks), Catch::Contains("rd.iscsi_target.dev=UUID=1234: is the same device as /dev/vda"));
}
