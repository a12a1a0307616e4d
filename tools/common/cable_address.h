// The target's own address on the cable, set by the target itself (rd.iscsi_target.address= and
// rd.iscsi_target.interface=) instead of dracut's ip=: the address is up as soon as the NIC exists, not after
// dracut's initqueue and network scripts have run.
#pragma once

#include <string>

namespace iscsi_target {

struct CableAddress {
  std::string interface;  // the interface's name (the boot entry names the cable NIC by its MAC with ifname=)
  std::string address;    // without the prefix length
  int prefix_length = 0;
  bool ipv6 = false;

  std::string text() const { return address + "/" + std::to_string(prefix_length); }  // "10.0.2.15/24"
  bool operator==(const CableAddress&) const = default;
};

// Parses "ADDR/PREFIX" (IPv4 or IPv6) for interface NAME; throws Error naming the key and the value.
CableAddress parse_cable_address(const std::string& key, const std::string& text, const std::string& interface_key,
                                 const std::string& interface);

}  // namespace iscsi_target
