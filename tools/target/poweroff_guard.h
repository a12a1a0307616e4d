// Before `iscsi-target poweroff`: which initiators would lose their disks (an OS booted from this target loses
// its root), and whether to go ahead.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "power_supply.h"
#include "status.h"

namespace iscsi_target {

// "IQN (from ADDRESS) on TARGET_IQN" for every initiator logged in right now.
std::vector<std::string> live_sessions(const std::vector<TargetStatus>& targets);

// The lines to show before powering off: a "WARNING:" line, one line per session, the power state (with its
// low-battery warning). "" when no initiator is logged in.
std::string poweroff_warning(const std::vector<TargetStatus>& targets, const PowerState& power);

enum class PoweroffAnswer { go, refused_no_terminal, cancelled };

// Go when nobody is logged in or with --force; without a terminal to ask on, refuse; otherwise ask() shows
// "Power off anyway? [y/N] " and returns the line typed (nullopt at end of input): only y or yes goes.
PoweroffAnswer confirm_poweroff(bool sessions, bool force, bool terminal, const std::function<std::optional<std::string>()>& ask);

}  // namespace iscsi_target
