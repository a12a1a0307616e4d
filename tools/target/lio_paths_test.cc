#include "lio_paths.h"

#include <catch2/catch.hpp>

using namespace iscsi_target;

TEST_CASE("lio_paths: the configfs layout") {
  CHECK(lio_paths::hba("iblock", 2) == "target/core/iblock_2");
  const auto so = lio_paths::storage_object(lio_paths::hba("iblock", 0), "vda");
  CHECK(so.dir == "target/core/iblock_0/vda");
  CHECK(so.udev_path() == "target/core/iblock_0/vda/udev_path");
  CHECK(so.vpd_unit_serial() == "target/core/iblock_0/vda/wwn/vpd_unit_serial");
  CHECK(so.attrib("emulate_tpu") == "target/core/iblock_0/vda/attrib/emulate_tpu");

  const std::string t = "target/iscsi/iqn.2024-01.org.example:t";
  const auto tpg = lio_paths::tpg("iqn.2024-01.org.example:t", 1);
  CHECK(tpg.dir == t + "/tpgt_1");
  CHECK(tpg.enable() == t + "/tpgt_1/enable");
  CHECK(tpg.param("InitialR2T") == t + "/tpgt_1/param/InitialR2T");
  CHECK(tpg.np("[::1]:3260") == t + "/tpgt_1/np/[::1]:3260");
  CHECK(tpg.lun(3).link("vda") == t + "/tpgt_1/lun/lun_3/vda");
  CHECK(tpg.lun(3).in_cmds() == t + "/tpgt_1/lun/lun_3/statistics/scsi_tgt_port/in_cmds");
  const auto acl = tpg.acl("iqn.2024-01.org.example:i");
  CHECK(acl.auth_password_mutual() == t + "/tpgt_1/acls/iqn.2024-01.org.example:i/auth/password_mutual");
  CHECK(acl.mapped_lun(0).write_protect() == t + "/tpgt_1/acls/iqn.2024-01.org.example:i/lun_0/write_protect");
}

TEST_CASE("lio_paths: HBA directory names, every LIO backstore kind") {
  auto hba = lio_paths::parse_hba_dir_name("iblock_12");
  REQUIRE(hba);
  CHECK(hba->plugin == "block");
  CHECK(hba->prefix == "iblock");
  CHECK(hba->index == 12);
  CHECK(lio_paths::parse_hba_dir_name("fileio_0")->plugin == "fileio");
  CHECK(lio_paths::parse_hba_dir_name("pscsi_1")->plugin == "pscsi");
  CHECK(lio_paths::parse_hba_dir_name("rd_mcp_3")->plugin == "ramdisk");  // the one prefix with '_' in it
  CHECK(lio_paths::parse_hba_dir_name("rd_mcp_3")->index == 3);
  CHECK(lio_paths::parse_hba_dir_name("user_0")->prefix == "user");
  for (const char* other : {"alua", "lio_version", "iblock", "iblock_", "iblock_x", "iblock_01", "iblock_-1", "block_0", "rd_0"})
    CHECK_FALSE(lio_paths::parse_hba_dir_name(other));
  CHECK(lio_paths::hba_prefix_for_plugin("block") == "iblock");
  CHECK(lio_paths::hba_prefix_for_plugin("ramdisk") == "rd_mcp");
  CHECK_FALSE(lio_paths::hba_prefix_for_plugin("iblock"));
}

TEST_CASE("lio_paths: listed names back to numbers") {
  CHECK(lio_paths::parse_tpgt_name("tpgt_1") == 1u);
  CHECK(lio_paths::parse_lun_name("lun_0") == 0u);
  CHECK(lio_paths::parse_lun_name("lun_255") == 255u);
  for (const char* other : {"tpgt_", "tpgt_01", "tpgt_1x", "tpgt_+1", "lun_1", "discovery_auth"}) CHECK_FALSE(lio_paths::parse_tpgt_name(other));
  for (const char* other : {"lun0", "lun_", "lun_99999999999", "vda"}) CHECK_FALSE(lio_paths::parse_lun_name(other));
  CHECK(lio_paths::lun_index_of_link("/sys/kernel/config/target/iscsi/iqn.x:t/tpgt_1/lun/lun_4") == 4u);
  CHECK_FALSE(lio_paths::lun_index_of_link("/sys/kernel/config/target/core/iblock_0/vda"));
  CHECK(lio_paths::is_target_name("iqn.2024-01.org.example:t"));
  CHECK(lio_paths::is_target_name("naa.6001405abc"));
  CHECK_FALSE(lio_paths::is_target_name("discovery_auth"));
  CHECK_FALSE(lio_paths::is_target_name("lio_version"));
}
