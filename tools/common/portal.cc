#include "portal.h"

#include <arpa/inet.h>

#include <charconv>

#include "error.h"

namespace iscsi_target {

std::string Portal::configfs_name() const {
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

namespace {

uint16_t parse_port(const std::string& key, const std::string& text, const std::string& digits) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535)
    throw setting_error(key, text, "port must be a number from 1 to 65535");
  return static_cast<uint16_t>(value);
}

}  // namespace

Portal parse_portal(const std::string& key, const std::string& text) {
  Portal portal;
  std::string rest;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string::npos) throw setting_error(key, text, "missing ']' after IPv6 address");
    portal.address = text.substr(1, close - 1);
    portal.ipv6 = true;
    rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(":")) throw setting_error(key, text, "expected ':PORT' after ']'");
  } else {
    auto colon = text.find(':');
    if (colon != text.find_last_of(':'))
      throw setting_error(key, text, "IPv6 addresses must be written in brackets, e.g. [::]:3260");
    portal.address = text.substr(0, colon);
    if (colon != std::string::npos) rest = text.substr(colon);
  }
  if (!rest.empty()) portal.port = parse_port(key, text, rest.substr(1));
  unsigned char buf[16];
  if (inet_pton(portal.ipv6 ? AF_INET6 : AF_INET, portal.address.c_str(), buf) != 1)
    throw setting_error(key, text, portal.ipv6 ? "not an IPv6 address" : "not an IPv4 address");
  return portal;
}

Portal portal_from_configfs_name(const std::string& name) { return parse_portal("configfs portal", name); }

}  // namespace iscsi_target
