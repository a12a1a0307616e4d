#include "iqn.h"

#include <algorithm>

namespace iscsi_target {

namespace {

// Hand-written matchers instead of <regex>, which costs the initramfs binary ≈ 40 KB plus the locale facets
// (tools/README.md, size). Each says what the RFC 3720 form it matches is; portal_iqn_test.cc checks them
// against the regular expressions they replace.
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

// [a-z0-9]([a-z0-9-]*[a-z0-9])?
bool is_domain_label(std::string_view label) {
  return !label.empty() && is_lower_alnum(label.front()) && is_lower_alnum(label.back()) &&
         std::all_of(label.begin(), label.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// iqn.YYYY-MM.label(.label)*(:[a-z0-9.:-]+)?  with MM 01..12
bool is_iqn_name(std::string_view name) {
  if (name.size() < 12 || !name.starts_with("iqn.")) return false;
  const std::string_view date = name.substr(4, 8);  // "YYYY-MM."
  if (!std::all_of(date.begin(), date.begin() + 4, is_digit) || date[4] != '-' || date[7] != '.') return false;
  if (!(date[5] == '0' && date[6] >= '1' && date[6] <= '9') && !(date[5] == '1' && date[6] >= '0' && date[6] <= '2'))
    return false;
  std::string_view rest = name.substr(12);
  const size_t colon = rest.find(':');
  std::string_view domain = rest.substr(0, colon);
  for (;;) {
    const size_t dot = domain.find('.');
    if (!is_domain_label(domain.substr(0, dot))) return false;
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
  }
  if (colon == std::string_view::npos) return true;
  const std::string_view id = rest.substr(colon + 1);
  return !id.empty() &&
         std::all_of(id.begin(), id.end(), [](char c) { return is_lower_alnum(c) || c == '.' || c == ':' || c == '-'; });
}

bool is_prefixed_hex(std::string_view name, std::string_view prefix, size_t digits) {
  return name.size() == prefix.size() + digits && name.starts_with(prefix) &&
         std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(), is_lower_hex);
}

// eui.<16 hex>
bool is_eui_name(std::string_view name) { return is_prefixed_hex(name, "eui.", 16); }
// naa.<16 or 32 hex>
bool is_naa_name(std::string_view name) { return is_prefixed_hex(name, "naa.", 16) || is_prefixed_hex(name, "naa.", 32); }

}  // namespace

std::optional<std::string> iscsi_name_problem(const std::string& name) {
  // RFC 3720 §3.2.6.1: at most 223 bytes; after stringprep only lowercase ASCII letters, digits, '-', '.', ':'.
  if (name.empty()) return "empty iSCSI name";
  if (name.size() > 223) return "iSCSI name longer than 223 bytes";
  if (is_iqn_name(name) || is_eui_name(name) || is_naa_name(name)) return std::nullopt;
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
