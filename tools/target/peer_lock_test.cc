#include "peer_lock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <map>

#include "acl_sessions.h"
#include "error.h"
#include "lio_paths.h"
#include "scratch_dir.h"

using namespace iscsi_target;

namespace {

// LIO 6.1's ACL info with a logged-in session (iscsi_target_configfs.c, lio_target_nacl_info_show).
const std::string logged_in_info =
    "LIO Session ID: 1   ISID: 0x00 02 3d 00 00 01  TSIH: 1  SessionType: Normal\n"
    "Session State: TARG_SESS_STATE_LOGGED_IN\n"
    "---------------------[iSCSI Session Values]-----------------------\n"
    "  CmdSN/WR  :  CmdSN/WC  :  ExpCmdSN  :  MaxCmdSN  :     ITT    :     TTT\n"
    " 0x00000013   0x00000013   0x00000013   0x00000092   0x00000001   0xffffffff\n"
    "----------------------[iSCSI Connections]-------------------------\n"
    "CID: 0  Connection State: TARG_CONN_STATE_LOGGED_IN\n"
    "   Address 10.77.0.2 TCP  StatSN: 0x00000013\n";
const std::string no_session_info = "No active iSCSI Session for Initiator Endpoint: iqn.2024-01.org.example:laptop\n";

struct Attributes {
  std::map<uint16_t, std::vector<uint8_t>> values;
};

// Splits a message into its header, the fixed body of BODY_SIZE bytes, and its attributes.
Attributes attributes_of(const std::vector<uint8_t>& message, size_t body_size) {
  Attributes out;
  size_t offset = NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(body_size);
  while (offset + sizeof(rtattr) <= message.size()) {
    rtattr attr{};
    std::memcpy(&attr, message.data() + offset, sizeof attr);
    REQUIRE(attr.rta_len >= sizeof attr);
    const uint8_t* data = message.data() + offset + RTA_LENGTH(0);
    out.values[attr.rta_type] = std::vector<uint8_t>(data, data + attr.rta_len - RTA_LENGTH(0));
    offset += RTA_ALIGN(attr.rta_len);
  }
  REQUIRE(offset == message.size());
  return out;
}

template <typename T>
T read_at(const std::vector<uint8_t>& message, size_t offset) {
  T value{};
  REQUIRE(offset + sizeof value <= message.size());
  std::memcpy(&value, message.data() + offset, sizeof value);
  return value;
}

}  // namespace

TEST_CASE("ACL info: the peer address of each connection, none without a session") {
  CHECK(parse_acl_info_addresses(logged_in_info) == std::vector<std::string>{"10.77.0.2"});
  CHECK(parse_acl_info_addresses(no_session_info).empty());
  CHECK(parse_acl_info_addresses("").empty());
  CHECK(parse_acl_info_addresses("   Address fe80::5054:ff:fe12:3456 TCP  StatSN: 0x1\n") ==
        std::vector<std::string>{"fe80::5054:ff:fe12:3456"});
}

TEST_CASE("ACL sessions are read from every target's ACL info files") {
  ScratchDir dir("fake-configfs");
  ConfigFs fs(dir.path, {.emulate = true});
  const auto tpg = lio_paths::tpg("iqn.2024-01.org.example:target", 1);
  fs.write(tpg.acl("iqn.2024-01.org.example:laptop").info(), logged_in_info);
  fs.write(tpg.acl("iqn.2024-01.org.example:desk").info(), no_session_info);
  const auto sessions = read_acl_sessions(fs);
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].target_iqn == "iqn.2024-01.org.example:target");
  CHECK(sessions[0].initiator_iqn == "iqn.2024-01.org.example:laptop");
  CHECK(sessions[0].peer_address == "10.77.0.2");
  fs.mkdir(tpg.np("0.0.0.0:3260"));
  CHECK(read_portal_names(fs) == std::vector<std::string>{"0.0.0.0:3260"});
}

TEST_CASE("the lock follows the first logged-in peer and goes when nobody is logged in") {
  using P = std::vector<std::string>;
  CHECK(next_locked_peer(std::nullopt, P{}) == std::nullopt);
  CHECK(next_locked_peer(std::nullopt, P{"10.77.0.2"}) == "10.77.0.2");
  // A second address showing up beside the locked one (it raced the lock) does not move the lock.
  CHECK(next_locked_peer(std::string("10.77.0.2"), P{"10.77.0.9", "10.77.0.2"}) == "10.77.0.2");
  CHECK(next_locked_peer(std::string("10.77.0.2"), P{}) == std::nullopt);
  CHECK(next_locked_peer(std::string("10.77.0.2"), P{"10.77.0.3"}) == "10.77.0.3");
}

TEST_CASE("the peer's MAC comes from a complete /proc/net/arp entry") {
  const std::string arp =
      "IP address       HW type     Flags       HW address            Mask     Device\n"
      "10.0.2.2         0x1         0x2         52:55:0a:00:02:02     *        eth0\n"
      "10.77.0.2        0x1         0x2         52:54:00:ab:cd:ef     *        eth1\n"
      "10.77.0.3        0x1         0x0         00:00:00:00:00:00     *        eth1\n";
  const auto entry = find_arp_entry(arp, "10.77.0.2");
  REQUIRE(entry);
  CHECK(entry->device == "eth1");
  CHECK(mac_text(entry->mac) == "52:54:00:ab:cd:ef");
  CHECK_FALSE(find_arp_entry(arp, "10.77.0.3"));  // incomplete: no MAC yet
  CHECK_FALSE(find_arp_entry(arp, "10.77.0.20"));
  CHECK_FALSE(find_arp_entry(arp, "10.77.0"));
}

TEST_CASE("allow rule: `to PEER/32 lookup main` before the block rule") {
  const auto m = netlink_messages::allow_rule(true, AF_INET, "10.77.0.2", 7);
  const auto header = read_at<nlmsghdr>(m, 0);
  CHECK(header.nlmsg_len == m.size());
  CHECK(header.nlmsg_type == RTM_NEWRULE);
  CHECK(header.nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE));
  CHECK(header.nlmsg_seq == 7);
  const auto rule = read_at<fib_rule_hdr>(m, NLMSG_ALIGN(sizeof(nlmsghdr)));
  CHECK(rule.family == AF_INET);
  CHECK(rule.action == FR_ACT_TO_TBL);
  CHECK(rule.table == RT_TABLE_MAIN);
  CHECK(rule.flags == 0);
  CHECK(rule.dst_len == 32);
  const auto attrs = attributes_of(m, sizeof(fib_rule_hdr));
  uint32_t priority = 0;
  std::memcpy(&priority, attrs.values.at(FRA_PRIORITY).data(), sizeof priority);
  CHECK(priority == netlink_messages::allow_priority);
  CHECK(netlink_messages::allow_priority < netlink_messages::block_priority);
  CHECK(netlink_messages::block_priority < 32766);  // the main table's rule
  CHECK(attrs.values.at(FRA_DST) == std::vector<uint8_t>{10, 77, 0, 2});

  const auto v6 = netlink_messages::allow_rule(true, AF_INET6, "fe80::1", 3);
  CHECK(read_at<fib_rule_hdr>(v6, NLMSG_ALIGN(sizeof(nlmsghdr))).dst_len == 128);
  CHECK_THROWS_AS(netlink_messages::allow_rule(true, AF_INET, "fe80::1", 4), Error);
  CHECK_THROWS_AS(netlink_messages::allow_rule(true, AF_INET, "not-an-address", 5), Error);
}

TEST_CASE("block rule: `ipproto tcp sport PORT prohibit`, and deletion by priority alone") {
  auto m = netlink_messages::block_rule(true, AF_INET6, 3260, 1);
  auto rule = read_at<fib_rule_hdr>(m, NLMSG_ALIGN(sizeof(nlmsghdr)));
  CHECK(rule.family == AF_INET6);
  CHECK(rule.action == FR_ACT_PROHIBIT);
  CHECK(rule.dst_len == 0);
  auto attrs = attributes_of(m, sizeof(fib_rule_hdr));
  CHECK(attrs.values.at(FRA_IP_PROTO) == std::vector<uint8_t>{IPPROTO_TCP});
  fib_rule_port_range range{};
  REQUIRE(attrs.values.at(FRA_SPORT_RANGE).size() == sizeof range);
  std::memcpy(&range, attrs.values.at(FRA_SPORT_RANGE).data(), sizeof range);
  CHECK(range.start == 3260);
  CHECK(range.end == 3260);
  CHECK_FALSE(attrs.values.count(FRA_DST));

  m = netlink_messages::block_rule(false, AF_INET, 0, 2);
  CHECK(read_at<nlmsghdr>(m, 0).nlmsg_type == RTM_DELRULE);
  CHECK(read_at<nlmsghdr>(m, 0).nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
  attrs = attributes_of(m, sizeof(fib_rule_hdr));
  CHECK(attrs.values.count(FRA_PRIORITY));
  CHECK_FALSE(attrs.values.count(FRA_SPORT_RANGE));
  CHECK(read_at<nlmsghdr>(netlink_messages::allow_rule(false, AF_INET, "", 3), 0).nlmsg_type == RTM_DELRULE);
}

TEST_CASE("portal ports: each once, from IPv4 and IPv6 portal names") {
  CHECK(portal_ports({"0.0.0.0:3260", "[::]:3260", "10.77.0.1:3261"}) == std::vector<uint16_t>{3260, 3261});
  CHECK(portal_ports({"0.0.0.0", "x:", "x:70000", "x:0", "x:32a"}).empty());
}

TEST_CASE("neighbour message: the peer pinned to its MAC on its interface") {
  const std::array<uint8_t, 6> mac{0x52, 0x54, 0, 0xab, 0xcd, 0xef};
  const auto m = netlink_messages::neighbour(true, 3, "10.77.0.2", mac, 9);
  CHECK(read_at<nlmsghdr>(m, 0).nlmsg_type == RTM_NEWNEIGH);
  CHECK(read_at<nlmsghdr>(m, 0).nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE));
  const auto nd = read_at<ndmsg>(m, NLMSG_ALIGN(sizeof(nlmsghdr)));
  CHECK(nd.ndm_family == AF_INET);
  CHECK(nd.ndm_ifindex == 3);
  CHECK(nd.ndm_state == NUD_PERMANENT);
  const auto attrs = attributes_of(m, sizeof(ndmsg));
  CHECK(attrs.values.at(NDA_DST) == std::vector<uint8_t>{10, 77, 0, 2});
  CHECK(attrs.values.at(NDA_LLADDR) == std::vector<uint8_t>(mac.begin(), mac.end()));

  const auto del = netlink_messages::neighbour(false, 3, "10.77.0.2", {}, 10);
  CHECK(read_at<nlmsghdr>(del, 0).nlmsg_type == RTM_DELNEIGH);
  CHECK_FALSE(attributes_of(del, sizeof(ndmsg)).values.count(NDA_LLADDR));
}
