#include "poweroff_guard.h"

#include <catch2/catch.hpp>

using namespace iscsi_target;

namespace {

std::vector<TargetStatus> targets_with(bool laptop_logged_in) {
  TargetStatus t;
  t.iqn = "iqn.2024-01.org.example:target";
  t.initiators = {{"iqn.2024-01.org.example:desk", false, ""},
                  {"iqn.2024-01.org.example:laptop", laptop_logged_in, laptop_logged_in ? "10.251.73.2" : ""}};
  return {t};
}

PowerState low_battery() {
  PowerState p;
  p.external_listed = true;
  p.batteries = {{"BAT0", 9, "Discharging"}};
  return p;
}

}  // namespace

TEST_CASE("poweroff warning: names each logged-in initiator and its address, and the power state") {
  CHECK(poweroff_warning(targets_with(false), PowerState{}).empty());
  CHECK(live_sessions(targets_with(false)).empty());

  const std::string warning = poweroff_warning(targets_with(true), PowerState{});
  CHECK_THAT(warning, Catch::StartsWith("WARNING: 1 initiator(s) logged in"));
  CHECK_THAT(warning, Catch::Contains("root disk"));
  CHECK_THAT(warning, Catch::Contains("\n  iqn.2024-01.org.example:laptop (from 10.251.73.2) on iqn.2024-01.org.example:target\n"));
  CHECK(warning.find("desk") == std::string::npos);
  CHECK(warning.find("Power:") == std::string::npos);  // nothing known about power: nothing said

  auto targets = targets_with(true);
  targets[0].initiators[0] = {"iqn.2024-01.org.example:desk", true, ""};  // address unknown
  const std::string on_battery = poweroff_warning(targets, low_battery());
  CHECK_THAT(on_battery, Catch::StartsWith("WARNING: 2 initiator(s) logged in"));
  CHECK_THAT(on_battery, Catch::Contains("\n  iqn.2024-01.org.example:desk on iqn.2024-01.org.example:target\n"));
  CHECK_THAT(on_battery, Catch::Contains("\n  WARNING: on battery at 9 %"));
}

TEST_CASE("poweroff confirmation: only y/yes on a terminal goes; no terminal refuses; --force and no sessions go") {
  int asked = 0;
  auto answer = [&](std::optional<std::string> line) {
    return [&asked, line] {
      ++asked;
      return line;
    };
  };
  CHECK(confirm_poweroff(false, false, false, answer("n")) == PoweroffAnswer::go);
  CHECK(confirm_poweroff(true, true, false, answer("n")) == PoweroffAnswer::go);
  CHECK(asked == 0);
  CHECK(confirm_poweroff(true, false, false, answer("y")) == PoweroffAnswer::refused_no_terminal);
  CHECK(asked == 0);  // never reads stdin without a terminal
  CHECK(confirm_poweroff(true, false, true, answer("y")) == PoweroffAnswer::go);
  CHECK(confirm_poweroff(true, false, true, answer("YES\r")) == PoweroffAnswer::go);
  CHECK(confirm_poweroff(true, false, true, answer(" yes ")) == PoweroffAnswer::go);
  CHECK(confirm_poweroff(true, false, true, answer("n")) == PoweroffAnswer::cancelled);
  CHECK(confirm_poweroff(true, false, true, answer("")) == PoweroffAnswer::cancelled);
  CHECK(confirm_poweroff(true, false, true, answer("yep")) == PoweroffAnswer::cancelled);
  CHECK(confirm_poweroff(true, false, true, answer(std::nullopt)) == PoweroffAnswer::cancelled);  // end of input
  CHECK(asked == 7);
}
