// What powers this machine, from the kernel's power supply class (sys/class/power_supply/NAME/{type,online,
// capacity,status,scope}): while it exports another computer's root disk, a flat battery takes that OS down too.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "system_roots.h"

namespace iscsi_target {

struct Battery {
  std::string name;                  // "BAT0"
  std::optional<unsigned> capacity;  // percent
  std::string status;                // as the kernel says it: "Charging", "Discharging", "Full", "Not charging", "Unknown"
};

struct PowerState {
  bool external_listed = false;  // a Mains, USB or Wireless supply exists
  bool external_online = false;  // one of them is online
  std::vector<Battery> batteries;  // system batteries only (scope "Device", e.g. a wireless mouse, is left out)

  bool known() const { return external_listed || !batteries.empty(); }
  // No external supply online, and a battery that is discharging (or the external supplies say offline).
  bool on_battery() const;
  // On battery, and no battery above low_battery_percent.
  bool battery_low() const;
};

inline constexpr unsigned low_battery_percent = 15;

// Reads roots.sys/class/power_supply; an unreadable or missing tree gives an unknown state (known() false).
PowerState read_power_state(const SystemRoots& roots);

// "Power: AC online", "Power: AC online, battery 80 % charging", "Power: battery 23 % discharging"; "" when
// nothing is known (no power supply class, as in most VMs and desktops).
std::string power_text(const PowerState& power);
// "WARNING: …" when battery_low(), nullopt otherwise.
std::optional<std::string> power_warning(const PowerState& power);
// {"ac_online", "on_battery", "battery_low", "batteries": [{"name", "capacity", "status"}]}; null when unknown.
nlohmann::json power_to_json(const PowerState& power);

}  // namespace iscsi_target
