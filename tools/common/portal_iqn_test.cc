#include <catch2/catch.hpp>

#include "error.h"
#include "iqn.h"
#include "portal.h"

using namespace iscsi_target;

TEST_CASE("iSCSI names") {
  CHECK_FALSE(iscsi_name_problem("iqn.2003-01.org.linux-iscsi.host:sn.5edcfa9fc80a"));
  CHECK_FALSE(iscsi_name_problem("iqn.2024-01.org.example"));
  CHECK_FALSE(iscsi_name_problem("eui.02004567a425678d"));
  CHECK_FALSE(iscsi_name_problem("naa.52004567ba64678d"));
  CHECK(iscsi_name_problem(""));
  CHECK(iscsi_name_problem("iqn.2024-01.Org.Example"));  // uppercase
  CHECK(iscsi_name_problem("iqn.24-01.org.example"));
  CHECK(iscsi_name_problem("iqn.2024-01.org.example:has space"));
  CHECK(iscsi_name_problem("eui.123"));
  CHECK(iscsi_name_problem("target1"));
  CHECK(iscsi_name_problem("iqn.2024-01.org.example:" + std::string(220, 'a')));
}

TEST_CASE("portals") {
  CHECK(parse_portal("k", "192.168.7.1").configfs_name() == "192.168.7.1:3260");
  CHECK(parse_portal("k", "192.168.7.1:3261").port == 3261);
  auto v6 = parse_portal("k", "[fd00::1]:3262");
  CHECK(v6.ipv6);
  CHECK(v6.address == "fd00::1");
  CHECK(v6.configfs_name() == "[fd00::1]:3262");
  CHECK(portal_from_configfs_name("[::0]:3260").address == "::0");
  CHECK_THROWS_AS(parse_portal("k", "[fd00::1"), Error);
  CHECK_THROWS_AS(parse_portal("k", "1.2.3.4:65536"), Error);
  CHECK_THROWS_AS(parse_portal("k", "1.2.3.4:"), Error);
  CHECK_THROWS_AS(parse_portal("k", "host.example"), Error);
}

TEST_CASE("default IQNs: one spelling for both sides, from the first 12 characters of the machine-id") {
  CHECK(default_target_iqn("0123456789abcdef0123456789abcdef") == "iqn.2024-01.org.dracut-iscsi-target:0123456789ab.target");
  CHECK(default_initiator_iqn("0123456789abcdef0123456789abcdef") == "iqn.2024-01.org.dracut-iscsi-target:0123456789ab.initiator");
  CHECK(default_target_iqn("") == "iqn.2024-01.org.dracut-iscsi-target:target");
  CHECK_FALSE(iscsi_name_problem(default_target_iqn("0123456789abcdef0123456789abcdef")));
  CHECK_FALSE(iscsi_name_problem(default_initiator_iqn("")));
}
