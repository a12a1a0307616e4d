// A network portal: "ADDR", "ADDR:PORT", "[V6ADDR]" or "[V6ADDR]:PORT".
#pragma once

#include <cstdint>
#include <string>

namespace iscsi_target {

struct Portal {
  std::string address;  // as written, without brackets
  uint16_t port = 3260;
  bool ipv6 = false;

  // The configfs directory name: "IP:PORT", IPv6 in brackets.
  std::string configfs_name() const;
  bool operator==(const Portal&) const = default;
};

// Parses and validates; throws Error naming key and value.
Portal parse_portal(const std::string& key, const std::string& text);
// Inverse of configfs_name(), for reading LIO's state back.
Portal portal_from_configfs_name(const std::string& name);

}  // namespace iscsi_target
