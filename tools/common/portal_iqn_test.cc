#include <catch2/catch.hpp>

#include <random>
#include <regex>

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

// iqn.cc matches by hand what these regular expressions said (<regex> is too big for the initramfs binary).
TEST_CASE("iSCSI names: the hand-written matcher agrees with the RFC 3720 regular expressions") {
  const std::regex iqn(R"(iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?)");
  const std::regex eui(R"(eui\.[0-9a-f]{16})");
  const std::regex naa(R"(naa\.([0-9a-f]{16}|[0-9a-f]{32}))");
  auto by_regex = [&](const std::string& n) {
    return n.size() <= 223 && (std::regex_match(n, iqn) || std::regex_match(n, eui) || std::regex_match(n, naa));
  };
  const std::vector<std::string> seeds = {
      "iqn.2003-01.org.linux-iscsi.host:sn.5edcfa9fc80a", "iqn.2024-12.a", "iqn.2024-10.a-b.c:x", "iqn.2024-01.a.b:",
      "iqn.2024-13.a", "iqn.2024-00.a", "iqn.2024-1.a", "iqn.2024-01.-a", "iqn.2024-01.a-", "iqn.2024-01.a..b",
      "iqn.2024-01.a.", "iqn.2024-01.", "iqn.2024-01.:x", "iqn.2024-01.a:b:c.d-e", "iqn.2024-01.a:B",
      "eui.02004567a425678d", "eui.02004567A425678d", "eui.02004567a425678", "naa.52004567ba64678d",
      "naa.52004567ba64678d52004567ba64678d", "naa.52004567ba64678d52004567ba64678", "iqn", "", "x"};
  const std::string alphabet = "iqneuaf0129-.:A ";
  std::mt19937 random(12);
  size_t checked = 0;
  for (const auto& seed : seeds) {
    CHECK(!iscsi_name_problem(seed) == by_regex(seed));
    for (int round = 0; round < 400; ++round) {
      std::string n = seed;
      for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
        const size_t at = n.empty() ? 0 : random() % (n.size() + 1);
        const char c = alphabet[random() % alphabet.size()];
        switch (random() % 3) {
          case 0: n.insert(n.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          case 1: if (at < n.size()) n[at] = c; break;
          default: if (at < n.size()) n.erase(at, 1); break;
        }
      }
      INFO(n);
      CHECK(!iscsi_name_problem(n) == by_regex(n));
      ++checked;
    }
  }
  CHECK(checked == seeds.size() * 400);
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
