#include "cable_link.h"

#include <catch2/catch.hpp>

#include "error.h"

using namespace iscsi_target;

namespace {
const std::array<uint8_t, 6> own{0x52, 0x54, 0, 0x12, 0x34, 0x56};
const std::array<uint8_t, 6> other{0x52, 0x54, 0, 0xab, 0xcd, 0xef};
const std::array<uint8_t, 4> address{10, 77, 0, 1};
ArpPacket packet(uint16_t operation, const std::array<uint8_t, 6>& mac, std::array<uint8_t, 4> sender, std::array<uint8_t, 4> target) {
  ArpPacket p;
  p.operation = operation;
  p.sender_mac = mac;
  p.sender_ip = sender;
  p.target_ip = target;
  return p;
}
}  // namespace

TEST_CASE("cable: the ARP probe is RFC 5227's, and parses back") {
  const auto probe = arp_probe(own, address);
  REQUIRE(probe.size() == 28);
  CHECK(std::vector<uint8_t>(probe.begin(), probe.begin() + 8) == std::vector<uint8_t>{0, 1, 8, 0, 6, 4, 0, 1});
  const auto parsed = parse_arp(probe.data(), probe.size());
  REQUIRE(parsed);
  CHECK(parsed->operation == 1);
  CHECK(parsed->sender_mac == own);
  CHECK(parsed->sender_ip == std::array<uint8_t, 4>{});
  CHECK(parsed->target_ip == address);
  CHECK_FALSE(parse_arp(probe.data(), 27));
  auto ipv6_over_something = probe;
  ipv6_over_something[2] = 0x86;
  CHECK_FALSE(parse_arp(ipv6_over_something.data(), ipv6_over_something.size()));
}

TEST_CASE("cable: who counts as using the address") {
  CHECK(arp_conflict(packet(2, other, address, {10, 77, 0, 9}), address, own));      // answers for it
  CHECK(arp_conflict(packet(1, other, address, {10, 77, 0, 9}), address, own));      // asks from it
  CHECK(arp_conflict(packet(1, other, {0, 0, 0, 0}, address), address, own));        // probes for it too
  CHECK_FALSE(arp_conflict(packet(1, own, {0, 0, 0, 0}, address), address, own));    // our own probe
  CHECK_FALSE(arp_conflict(packet(1, other, {10, 77, 0, 2}, address), address, own)); // asks for us: not a claim
  CHECK_FALSE(arp_conflict(packet(2, other, {10, 77, 0, 2}, {10, 77, 0, 9}), address, own));
}

TEST_CASE("cable: a missing interface is one error naming key, value and interface") {
  const CableAddress cable{"itgt-none0", "10.77.0.1", 24, false};
  CHECK_THROWS_WITH(bring_up_cable("rd.iscsi_target.address", cable, std::chrono::milliseconds(60)),
                    "rd.iscsi_target.address=10.77.0.1/24: no interface itgt-none0 after 0 s (is the cable's NIC named so, "
                    "e.g. with ifname=itgt-none0:MAC?)");
}
