#include "iqn.h"

#include <regex>

namespace iscsi_target {

std::optional<std::string> iscsi_name_problem(const std::string& name) {
  // RFC 3720 §3.2.6.1: at most 223 bytes; after stringprep only lowercase ASCII letters, digits, '-', '.', ':'.
  if (name.empty()) return "empty iSCSI name";
  if (name.size() > 223) return "iSCSI name longer than 223 bytes";
  static const std::regex iqn(R"(iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?)");
  static const std::regex eui(R"(eui\.[0-9a-f]{16})");
  static const std::regex naa(R"(naa\.([0-9a-f]{16}|[0-9a-f]{32}))");
  if (std::regex_match(name, iqn) || std::regex_match(name, eui) || std::regex_match(name, naa)) return std::nullopt;
  if (name.starts_with("iqn.") || name.starts_with("eui.") || name.starts_with("naa."))
    return "malformed iSCSI name (expected iqn.YYYY-MM.reversed.domain[:id] in lowercase, eui.<16 hex> or naa.<16|32 hex>)";
  return "not an iSCSI name (must start with iqn., eui. or naa.)";
}

namespace {

std::string default_iqn(std::string_view machine_id, std::string_view role) {
  std::string name = "iqn.2024-01.org.dracut-iscsi-target:";
  if (machine_id.size() >= 12) name += std::string(machine_id.substr(0, 12)) + ".";
  return name + std::string(role);
}

}  // namespace

std::string default_target_iqn(std::string_view machine_id) { return default_iqn(machine_id, "target"); }
std::string default_initiator_iqn(std::string_view machine_id) { return default_iqn(machine_id, "initiator"); }

}  // namespace iscsi_target
