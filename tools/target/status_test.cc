#include "status.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "lio_apply.h"
#include "lio_paths.h"
#include "scratch_dir.h"
#include "target_plan.h"
#include "unit_serial.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

const std::string iqn = "iqn.2024-01.org.example:target";
const std::string laptop = "iqn.2024-01.org.example:laptop";
const std::string desk = "iqn.2024-01.org.example:desk";

// A fake configfs with a target applied by apply_lio_config, as `iscsi-target start` leaves it.
struct AppliedTarget {
  ScratchDir dir{"fake-configfs"};
  ConfigFs configfs{dir.path, {.emulate = true}};
  // Device paths inside the scratch dir: not block devices, so status reports size 0 whatever the machine has.
  std::string vda = (dir.path / "vda").string(), vdb = (dir.path / "vdb").string();

  explicit AppliedTarget(const ChapCredentials& chap, bool enable = true, bool read_only = false) {
    TargetSettings s;
    s.read_only = read_only;
    s.iqn = iqn;
    s.device_specs = {vda, vdb};
    s.initiator_iqns = {laptop, desk};
    s.chap = chap;
    auto config = plan_lio_config(s, {{vda, vda, "vda", 1, "serial:A"}, {vdb, vdb, "vdb", 2, "serial:B"}});
    config.targets[0].tpgs[0].enable = enable;
    apply_lio_config(configfs, config, [](const std::string& w) { FAIL(w); });
  }

  // A file the kernel provides rather than apply: written directly, as the kernel fills it in.
  void kernel_file(const std::string& rel, const std::string& text) const {
    fs::create_directories(configfs.path(rel).parent_path());
    std::ofstream(configfs.path(rel)) << text;
  }
};

const ChapCredentials mutual_chap{"user", "onewaysecret", "target", "mutualsecret"};

}  // namespace

TEST_CASE("status: applied target with mutual CHAP, LUN counters and one initiator logged in") {
  AppliedTarget t(mutual_chap);
  const auto tpg = lio_paths::tpg(iqn, 1);
  t.kernel_file(tpg.lun(0).in_cmds(), "1234\n");
  t.kernel_file(tpg.lun(0).read_mbytes(), "56\n");
  t.kernel_file(tpg.lun(0).write_mbytes(), "7\n");
  // LUN 1 has no statistics files: its counters read as 0.
  const std::string serial_a = unit_serial_from_identity("serial:A");
  t.kernel_file(lio_paths::storage_object(lio_paths::hba("iblock", 0), "vda").vpd_unit_serial(),
                "T10 VPD Unit Serial Number: " + serial_a + "\n");
  t.kernel_file(tpg.acl(laptop).info(),
                "InitiatorName: " + laptop + "\nInitiatorAlias: laptop\n"
                "LIO Session ID: 1   ISID: 0x00023d000001  TSIH: 1  SessionType: Normal\n"
                "Session State: TARG_SESS_STATE_LOGGED_IN\n"
                "---------------------[iSCSI Session Values]-----------------------\n"
                "CID: 0  Connection State: TARG_CONN_STATE_LOGGED_IN\n"
                "   Address 10.251.73.2 TCP  StatSN: 0x00000005\n");
  t.kernel_file(tpg.acl(desk).info(), "No active iSCSI Session for Initiator Endpoint: " + desk + "\n");

  const auto targets = read_status(t.configfs);
  REQUIRE(targets.size() == 1);
  const auto& s = targets[0];
  CHECK(s.iqn == iqn);
  CHECK(s.enabled);
  CHECK(s.authentication == "mutual-chap");
  CHECK(s.portals == std::vector<std::string>{"0.0.0.0:3260"});
  REQUIRE(s.luns.size() == 2);
  CHECK(s.luns[0].index == 0);
  CHECK(s.luns[0].backstore == "/backstores/block/vda");
  CHECK(s.luns[0].device == t.vda);
  CHECK(s.luns[0].serial == serial_a);
  CHECK(s.luns[0].size_bytes == 0);
  CHECK(s.luns[0].commands == 1234);
  CHECK(s.luns[0].read_mbytes == 56);
  CHECK(s.luns[0].write_mbytes == 7);
  CHECK(s.luns[1].index == 1);
  CHECK(s.luns[1].device == t.vdb);
  CHECK(s.luns[1].serial == unit_serial_from_identity("serial:B"));
  CHECK(s.luns[1].commands == 0);
  CHECK(s.luns[1].read_mbytes == 0);
  CHECK(s.luns[1].write_mbytes == 0);
  REQUIRE(s.initiators.size() == 2);  // in configfs's (sorted) order
  CHECK(s.initiators[0].iqn == desk);
  CHECK_FALSE(s.initiators[0].logged_in);
  CHECK(s.initiators[1].iqn == laptop);
  CHECK(s.initiators[1].logged_in);
  CHECK(s.initiators[1].address == "10.251.73.2");
  CHECK_FALSE(s.read_only);
  CHECK_FALSE(s.luns[0].read_only);

  const auto json = status_to_json(targets);
  REQUIRE(json.at("targets").size() == 1);
  const auto& j = json.at("targets")[0];
  CHECK(j.at("iqn") == iqn);
  CHECK(j.at("enabled") == true);
  CHECK(j.at("authentication") == "mutual-chap");
  CHECK(j.at("portals") == nlohmann::json::array({"0.0.0.0:3260"}));
  const auto& lun0 = j.at("luns").at(0);
  CHECK(lun0.at("lun") == 0);
  CHECK(lun0.at("backstore") == "/backstores/block/vda");
  CHECK(lun0.at("device") == t.vda);
  CHECK(lun0.at("serial") == serial_a);
  CHECK(lun0.at("size_bytes") == 0);
  CHECK(lun0.at("commands") == 1234);
  CHECK(lun0.at("read_mbytes") == 56);
  CHECK(lun0.at("write_mbytes") == 7);
  CHECK(j.at("initiators") == nlohmann::json::array({{{"iqn", desk}, {"logged_in", false}, {"address", nullptr}},
                                                     {{"iqn", laptop}, {"logged_in", true}, {"address", "10.251.73.2"}}}));
  CHECK(j.at("read_only") == false);
  CHECK(lun0.at("read_only") == false);

  const std::string text = status_to_text(targets);
  CHECK_THAT(text, Catch::StartsWith("Target " + iqn + "\n"));
  CHECK_THAT(text, Catch::Contains("  portal  0.0.0.0:3260\n"));
  CHECK_THAT(text, Catch::Contains("  auth    mutual-chap\n"));
  CHECK_THAT(text, Catch::Contains("  LUN 0   " + t.vda + "  0 B  serial " + serial_a + "  (1234 cmds, 56 MiB read, 7 MiB written)\n"));
  CHECK_THAT(text, Catch::Contains("  LUN 1   " + t.vdb + "  0 B  serial "));
  CHECK_THAT(text, Catch::Contains("  initiator " + laptop + "  [logged in from 10.251.73.2]\n"));
  CHECK(text.find("read-only") == std::string::npos);
  CHECK_THAT(text, Catch::Contains("  initiator " + desk + "  [not logged in]\n"));

  // Status never shows CHAP secrets, though configfs holds them (LIO's auth/ files are readable by root).
  REQUIRE(t.configfs.read(tpg.acl(laptop).auth_password()) == "onewaysecret");
  for (const std::string secret : {"onewaysecret", "mutualsecret"}) {
    CHECK(json.dump().find(secret) == std::string::npos);
    CHECK(text.find(secret) == std::string::npos);
  }
}

TEST_CASE("status: one-way CHAP, disabled target, no initiator info yet") {
  AppliedTarget t({"user", "onewaysecret", "", ""}, /*enable=*/false);
  const auto targets = read_status(t.configfs);
  REQUIRE(targets.size() == 1);
  CHECK_FALSE(targets[0].enabled);
  CHECK(targets[0].authentication == "chap");
  // An ACL without an info file (no kernel behind it) counts as not logged in.
  REQUIRE(targets[0].initiators.size() == 2);
  CHECK_FALSE(targets[0].initiators[0].logged_in);
  CHECK_FALSE(targets[0].initiators[1].logged_in);
  CHECK(status_to_json(targets).at("targets")[0].at("enabled") == false);
  const std::string text = status_to_text(targets);
  CHECK_THAT(text, Catch::StartsWith("Target " + iqn + " (disabled)\n"));
  CHECK_THAT(text, Catch::Contains("  auth    chap\n"));
  CHECK(text.find("onewaysecret") == std::string::npos);
}

TEST_CASE("status: no CHAP") {
  AppliedTarget t({});
  const auto targets = read_status(t.configfs);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].authentication == "none");
  CHECK(status_to_json(targets).at("targets")[0].at("authentication") == "none");
  CHECK_THAT(status_to_text(targets), Catch::Contains("  auth    none\n"));
}

TEST_CASE("status: nothing configured") {
  ScratchDir dir("fake-configfs");
  SECTION("empty configfs") {}
  SECTION("LIO loaded, no target") {
    fs::create_directories(dir.path / "target/core");
    fs::create_directories(dir.path / "target/iscsi/discovery_auth");
  }
  const ConfigFs configfs(dir.path, {.emulate = true});
  const auto targets = read_status(configfs);
  CHECK(targets.empty());
  CHECK(status_to_text(targets) == "No iSCSI target is configured.\n");
  CHECK(status_to_json(targets) == nlohmann::json{{"targets", nlohmann::json::array()}});
}

TEST_CASE("status: a read-only export says so per target and per LUN, in text and JSON") {
  AppliedTarget t({"user", "onewaysecret", "", ""}, /*enable=*/true, /*read_only=*/true);
  auto targets = read_status(t.configfs);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].read_only);
  CHECK(targets[0].luns.at(0).read_only);
  CHECK(targets[0].luns.at(1).read_only);
  const auto json = status_to_json(targets);
  CHECK(json.at("targets")[0].at("read_only") == true);
  CHECK(json.at("targets")[0].at("luns")[1].at("read_only") == true);
  const std::string text = status_to_text(targets);
  CHECK_THAT(text, Catch::Contains("\n  read-only export: LIO refuses every write (DATA PROTECT)"));
  CHECK_THAT(text, Catch::Contains(" MiB written)  read-only\n"));
}

TEST_CASE("status: a LUN is read-only only when every mapping is write-protected (or its backstore is read-only)") {
  AppliedTarget t({});
  const auto tpg = lio_paths::tpg(iqn, 1);
  // The desk's mapping of LUN 1 is write-protected, the laptop's is not: LUN 1 is still writable.
  t.configfs.write(tpg.acl(desk).mapped_lun(1).write_protect(), "1");
  auto targets = read_status(t.configfs);
  CHECK_FALSE(targets[0].luns.at(1).read_only);
  t.configfs.write(tpg.acl(laptop).mapped_lun(1).write_protect(), "1");
  targets = read_status(t.configfs);
  CHECK(targets[0].luns.at(1).read_only);
  CHECK_FALSE(targets[0].luns.at(0).read_only);
  CHECK_FALSE(targets[0].read_only);  // not every LUN
}

TEST_CASE("status: the initiator's address comes from its first connection in the ACL's info") {
  CHECK(initiator_address_from_info("CID: 0  Connection State: TARG_CONN_STATE_LOGGED_IN\n   Address 10.0.2.2 TCP  StatSN: 0x1\n"
                                    "CID: 1  Connection State: TARG_CONN_STATE_LOGGED_IN\n   Address 10.0.2.9 TCP  StatSN: 0x1\n") ==
        "10.0.2.2");
  CHECK(initiator_address_from_info("   Address fe80::1 TCP  StatSN: 0x1\n") == "fe80::1");
  CHECK(initiator_address_from_info("No active iSCSI Session for Initiator Endpoint: x\n").empty());
  CHECK(initiator_address_from_info("").empty());
}
