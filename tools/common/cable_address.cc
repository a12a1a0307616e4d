#include "cable_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>

#include "error.h"

namespace iscsi_target {

CableAddress parse_cable_address(const std::string& key, const std::string& text, const std::string& interface_key,
                                 const std::string& interface) {
  CableAddress cable;
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw setting_error(key, text, "expected ADDRESS/PREFIX, e.g. 10.77.0.1/24");
  cable.address = text.substr(0, slash);
  unsigned char buffer[16];
  if (inet_pton(AF_INET, cable.address.c_str(), buffer) == 1) cable.ipv6 = false;
  else if (inet_pton(AF_INET6, cable.address.c_str(), buffer) == 1) cable.ipv6 = true;
  else throw setting_error(key, text, "'" + cable.address + "' is neither an IPv4 nor an IPv6 address");
  const std::string digits = text.substr(slash + 1);
  const int max_prefix = cable.ipv6 ? 128 : 32;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cable.prefix_length);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || cable.prefix_length < 1 ||
      cable.prefix_length > max_prefix)
    throw setting_error(key, text, "prefix length must be a number from 1 to " + std::to_string(max_prefix));
  if (interface.empty()) throw setting_error(interface_key, "", std::string("not set: ") + key + " needs the interface it is for");
  if (interface.size() >= IFNAMSIZ || interface.find_first_of("/: ") != std::string::npos || interface == "." || interface == "..")
    throw setting_error(interface_key, interface, "not an interface name");
  cable.interface = interface;
  return cable;
}

}  // namespace iscsi_target
