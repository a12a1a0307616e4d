// Small string and file-text helpers shared by the parsers.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
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

// A file's whole text; empty when it is missing or unreadable (callers that must tell check first).
inline std::string read_text_or_empty(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A file's first line, trimmed; empty when it is missing or unreadable (sysfs attributes, machine-id).
inline std::string read_first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  if (in) std::getline(in, line);
  return trim(line);
}

}  // namespace iscsi_target
