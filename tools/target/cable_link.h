// Bringing up the cable's address from the tool itself (rd.iscsi_target.address/.interface), so the target
// is reachable as soon as its NIC exists instead of after dracut's initqueue has run its network scripts.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cable_address.h"

namespace iscsi_target {

// An ARP packet's fields that the duplicate address check reads (RFC 5227).
struct ArpPacket {
  uint16_t operation = 0;  // 1 request, 2 reply
  std::array<uint8_t, 6> sender_mac{};
  std::array<uint8_t, 4> sender_ip{}, target_ip{};
};

// The ARP probe for ADDRESS from MAC: "who has ADDRESS? tell 0.0.0.0" (RFC 5227 2.1.1), 28 bytes.
std::vector<uint8_t> arp_probe(const std::array<uint8_t, 6>& mac, const std::array<uint8_t, 4>& address);
// Parses an IPv4-over-Ethernet ARP packet; nullopt for anything else.
std::optional<ArpPacket> parse_arp(const uint8_t* data, size_t length);
// Whether PACKET shows another host using ADDRESS: it claims it as sender, or probes for it too.
bool arp_conflict(const ArpPacket& packet, const std::array<uint8_t, 4>& address, const std::array<uint8_t, 6>& own_mac);

// Waits up to `wait` for the interface to exist, sets it up, checks that no other host on the link uses an
// IPv4 address (two ARP probes, when the link has carrier within a second; without carrier the address is set
// anyway, so the cable may be plugged in later), then adds the address. An address already there (a second
// start in the same boot) is fine. Throws Error naming the key, the interface and the errno or the other
// host's MAC. Returns what it did, for the console.
std::string bring_up_cable(const std::string& key, const CableAddress& cable, std::chrono::milliseconds wait);

}  // namespace iscsi_target
