// Small string helpers shared by the parsers and the printers (no iostreams: tools/README.md, size).
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace iscsi_target {

// Without leading and trailing spaces, tabs, carriage returns and newlines.
inline std::string trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n";
  const auto begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return "";
  return std::string(s.substr(begin, s.find_last_not_of(space) - begin + 1));
}

// What isspace() calls space in the C locale, as `stream >> word` splits.
inline constexpr std::string_view whitespace = " \t\n\v\f\r";

// The fields of a line separated by runs of the given characters (default: spaces and tabs).
inline std::vector<std::string_view> split_fields(std::string_view line, std::string_view separators = " \t") {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < line.size()) {
    const size_t start = line.find_first_not_of(separators, pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find_first_of(separators, start), line.size());
    fields.push_back(line.substr(start, end - start));
    pos = end;
  }
  return fields;
}

// The lines of a text without their newlines; a last line without newline counts, a final newline adds none.
inline std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    lines.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

// value with `decimals` digits after the point, as printf "%.*f" (and an ostream with std::fixed) rounds it.
inline std::string fixed_point(double value, int decimals) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return n < 0 ? std::string() : std::string(buffer, std::min(static_cast<size_t>(n), sizeof buffer - 1));
}

}  // namespace iscsi_target
