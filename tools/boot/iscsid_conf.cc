#include "iscsid_conf.h"

#include <sstream>

namespace iscsi_target {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::map<std::string, std::string> parse_iscsid_conf(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t i = 0;
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size() || line[i] == '#') continue;
    const size_t name_start = i;
    while (i < line.size() && !blank(line[i]) && line[i] != '=') ++i;
    const std::string name = line.substr(name_start, i - name_start);
    while (i < line.size() && (blank(line[i]) || line[i] == '=')) ++i;
    size_t end = line.size();
    while (end > i && blank(line[end - 1])) --end;
    if (end > i) values[name] = line.substr(i, end - i);
  }
  return values;
}

}  // namespace iscsi_target
