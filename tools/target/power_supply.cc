#include "power_supply.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "file_io.h"

namespace iscsi_target {

namespace fs = std::filesystem;

namespace {

std::string read_word(const fs::path& file) {
  const std::string text = read_text_or_empty(file);
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::optional<unsigned> read_percent(const fs::path& file) {
  const std::string text = read_word(file);
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || value > 100) return std::nullopt;
  return value;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string battery_text(const Battery& b, bool with_name) {
  std::string out = "battery";
  if (with_name) out += " " + b.name;
  if (b.capacity) out += " " + std::to_string(*b.capacity) + " %";
  if (!b.status.empty() && b.status != "Unknown") out += " " + lower(b.status);
  return out;
}

}  // namespace

bool PowerState::on_battery() const {
  if (external_online || batteries.empty()) return false;
  if (external_listed) return true;  // the mains adapter says offline
  return std::any_of(batteries.begin(), batteries.end(), [](const Battery& b) { return b.status == "Discharging"; });
}

bool PowerState::battery_low() const {
  if (!on_battery()) return false;
  bool any_known = false;
  for (const auto& b : batteries) {
    if (!b.capacity) continue;
    if (*b.capacity > low_battery_percent) return false;
    any_known = true;
  }
  return any_known;
}

PowerState read_power_state(const SystemRoots& roots) {
  PowerState power;
  std::error_code ec;
  std::vector<fs::path> supplies;
  for (fs::directory_iterator it(roots.sys / "class/power_supply", ec), end; !ec && it != end; it.increment(ec))
    supplies.push_back(it->path());
  std::sort(supplies.begin(), supplies.end());
  for (const auto& dir : supplies) {
    const std::string type = read_word(dir / "type");
    if (type == "Mains" || type == "USB" || type == "Wireless") {
      power.external_listed = true;
      if (read_word(dir / "online") == "1") power.external_online = true;
    } else if (type == "Battery" && read_word(dir / "scope") != "Device") {
      if (const std::string present = read_word(dir / "present"); present == "0") continue;  // an empty battery bay
      power.batteries.push_back({dir.filename().string(), read_percent(dir / "capacity"), read_word(dir / "status")});
    }
  }
  return power;
}

std::string power_text(const PowerState& power) {
  if (!power.known()) return "";
  std::vector<std::string> parts;
  if (power.external_listed) parts.push_back(power.external_online ? "AC online" : "AC offline");
  for (const auto& b : power.batteries) parts.push_back(battery_text(b, power.batteries.size() > 1));
  std::string out = "Power:";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
  return out;
}

std::optional<std::string> power_warning(const PowerState& power) {
  if (!power.battery_low()) return std::nullopt;
  unsigned highest = 0;
  for (const auto& b : power.batteries)
    if (b.capacity) highest = std::max(highest, *b.capacity);
  return "WARNING: on battery at " + std::to_string(highest) +
         " %: when it runs out, the computer booted from this target loses its root disk. Connect AC power.";
}

nlohmann::json power_to_json(const PowerState& power) {
  if (!power.known()) return nullptr;
  nlohmann::json batteries = nlohmann::json::array();
  for (const auto& b : power.batteries)
    batteries.push_back({{"name", b.name},
                         {"capacity", b.capacity ? nlohmann::json(*b.capacity) : nlohmann::json(nullptr)},
                         {"status", b.status}});
  return {{"ac_online", power.external_listed ? nlohmann::json(power.external_online) : nlohmann::json(nullptr)},
          {"on_battery", power.on_battery()},
          {"battery_low", power.battery_low()},
          {"batteries", batteries}};
}

}  // namespace iscsi_target
