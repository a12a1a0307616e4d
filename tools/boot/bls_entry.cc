#include "bls_entry.h"

#include <fstream>
#include <sstream>

#include "error.h"
#include "file_io.h"
#include "text.h"

namespace iscsi_target {

BlsEntry parse_bls_entry(const std::string& text) {
  BlsEntry entry;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find_first_of(" \t");
    if (space == std::string::npos) entry.lines.emplace_back(line, "");
    else entry.lines.emplace_back(line.substr(0, space), trim(line.substr(space)));
  }
  return entry;
}

BlsEntry read_bls_entry(const std::filesystem::path& file) {
  return parse_bls_entry(read_file(file));
}

std::optional<std::string> BlsEntry::get(const std::string& key) const {
  for (const auto& [k, v] : lines)
    if (k == key) return v;
  return std::nullopt;
}

std::vector<std::string> BlsEntry::get_all(const std::string& key) const {
  std::vector<std::string> values;
  for (const auto& [k, v] : lines)
    if (k == key) values.push_back(v);
  return values;
}

std::vector<std::string> BlsEntry::paths(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& value : get_all(key)) {
    std::istringstream fields(value);
    std::string first;
    if (fields >> first && !first.starts_with("$")) out.push_back(first);
  }
  return out;
}

std::string BlsEntry::options() const {
  std::string joined;
  for (const auto& value : get_all("options")) joined += (joined.empty() ? "" : " ") + value;
  return joined;
}

std::string BlsEntry::text() const {
  std::string out;
  for (const auto& [k, v] : lines) out += k + (v.empty() ? "" : " " + v) + "\n";
  return out;
}

}  // namespace iscsi_target
