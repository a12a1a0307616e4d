// Small string helpers shared by the parsers.
#pragma once

#include <string>
#include <string_view>

namespace iscsi_target {

// Without leading and trailing spaces, tabs, carriage returns and newlines.
inline std::string trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n";
  const auto begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return "";
  return std::string(s.substr(begin, s.find_last_not_of(space) - begin + 1));
}

}  // namespace iscsi_target
