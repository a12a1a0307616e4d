#include "power_supply.h"

#include <catch2/catch.hpp>

#include "fake_sysfs.h"

using namespace iscsi_target;

TEST_CASE("power: no power supply class (a VM, most desktops) says nothing") {
  FakeSysfs sys;
  const auto power = read_power_state(sys.roots);
  CHECK_FALSE(power.known());
  CHECK_FALSE(power.on_battery());
  CHECK(power_text(power).empty());
  CHECK_FALSE(power_warning(power));
  CHECK(power_to_json(power).is_null());
}

TEST_CASE("power: AC only") {
  FakeSysfs sys;
  sys.power_supply("AC", {{"type", "Mains"}, {"online", "1"}});
  const auto power = read_power_state(sys.roots);
  CHECK(power.known());
  CHECK_FALSE(power.on_battery());
  CHECK(power_text(power) == "Power: AC online");
  CHECK_FALSE(power_warning(power));
  CHECK(power_to_json(power) ==
        nlohmann::json{{"ac_online", true}, {"on_battery", false}, {"battery_low", false}, {"batteries", nlohmann::json::array()}});
}

TEST_CASE("power: on battery, low and discharging: a WARNING line") {
  FakeSysfs sys;
  sys.power_supply("ADP1", {{"type", "Mains"}, {"online", "0"}});
  sys.power_supply("BAT0", {{"type", "Battery"}, {"present", "1"}, {"capacity", "12"}, {"status", "Discharging"}});
  // A wireless mouse's battery is no system battery.
  sys.power_supply("hidpp_battery_0", {{"type", "Battery"}, {"scope", "Device"}, {"capacity", "90"}, {"status", "Discharging"}});
  const auto power = read_power_state(sys.roots);
  REQUIRE(power.batteries.size() == 1);
  CHECK(power.on_battery());
  CHECK(power.battery_low());
  CHECK(power_text(power) == "Power: AC offline, battery 12 % discharging");
  const auto warning = power_warning(power);
  REQUIRE(warning);
  CHECK_THAT(*warning, Catch::StartsWith("WARNING: on battery at 12 %"));
  CHECK_THAT(*warning, Catch::Contains("root disk"));
  const auto json = power_to_json(power);
  CHECK(json.at("on_battery") == true);
  CHECK(json.at("battery_low") == true);
  CHECK(json.at("batteries") == nlohmann::json::array({{{"name", "BAT0"}, {"capacity", 12}, {"status", "Discharging"}}}));
}

TEST_CASE("power: battery at 15 % is low, at 16 % not; without a mains entry, discharging means on battery") {
  FakeSysfs sys;
  auto bat = sys.power_supply("BAT1", {{"type", "Battery"}, {"capacity", "15"}, {"status", "Discharging"}});
  CHECK(read_power_state(sys.roots).battery_low());
  CHECK(power_text(read_power_state(sys.roots)) == "Power: battery 15 % discharging");
  std::ofstream(bat / "capacity") << "16\n";
  const auto power = read_power_state(sys.roots);
  CHECK(power.on_battery());
  CHECK_FALSE(power.battery_low());
  CHECK_FALSE(power_warning(power));
}

TEST_CASE("power: battery charging on AC, and two batteries named") {
  FakeSysfs sys;
  sys.power_supply("AC", {{"type", "Mains"}, {"online", "1"}});
  sys.power_supply("BAT0", {{"type", "Battery"}, {"capacity", "8"}, {"status", "Charging"}});
  auto power = read_power_state(sys.roots);
  CHECK_FALSE(power.on_battery());
  CHECK_FALSE(power.battery_low());  // low, but charging
  CHECK(power_text(power) == "Power: AC online, battery 8 % charging");
  CHECK_FALSE(power_warning(power));

  sys.power_supply("BAT1", {{"type", "Battery"}, {"capacity", "bogus"}, {"status", "Unknown"}});
  power = read_power_state(sys.roots);
  CHECK(power_text(power) == "Power: AC online, battery BAT0 8 % charging, battery BAT1");
  CHECK(power_to_json(power).at("batteries").at(1).at("capacity").is_null());
}

TEST_CASE("power: a USB-C charger online counts as AC; an empty battery bay is skipped") {
  FakeSysfs sys;
  sys.power_supply("ucsi-source-psy-USBC000:001", {{"type", "USB"}, {"online", "1"}});
  sys.power_supply("BAT0", {{"type", "Battery"}, {"present", "1"}, {"capacity", "50"}, {"status", "Charging"}});
  sys.power_supply("BAT1", {{"type", "Battery"}, {"present", "0"}});
  const auto power = read_power_state(sys.roots);
  CHECK(power.external_online);
  REQUIRE(power.batteries.size() == 1);
  CHECK(power_text(power) == "Power: AC online, battery 50 % charging");
}
