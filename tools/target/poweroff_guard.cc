#include "poweroff_guard.h"

#include <algorithm>
#include <cctype>

namespace iscsi_target {

std::vector<std::string> live_sessions(const std::vector<TargetStatus>& targets) {
  std::vector<std::string> out;
  for (const auto& target : targets)
    for (const auto& initiator : target.initiators)
      if (initiator.logged_in)
        out.push_back(initiator.iqn + (initiator.address.empty() ? "" : " (from " + initiator.address + ")") + " on " + target.iqn);
  return out;
}

std::string poweroff_warning(const std::vector<TargetStatus>& targets, const PowerState& power) {
  const auto sessions = live_sessions(targets);
  if (sessions.empty()) return "";
  std::string out = "WARNING: " + std::to_string(sessions.size()) +
                    " initiator(s) logged in: powering off takes their disks away (an OS booted from them loses its root disk):\n";
  for (const auto& session : sessions) out += "  " + session + "\n";
  if (const auto warning = power_warning(power)) out += "  " + *warning + "\n";
  else if (const std::string text = power_text(power); !text.empty()) out += "  " + text + "\n";
  return out;
}

PoweroffAnswer confirm_poweroff(bool sessions, bool force, bool terminal, const std::function<std::optional<std::string>()>& ask) {
  if (!sessions || force) return PoweroffAnswer::go;
  if (!terminal) return PoweroffAnswer::refused_no_terminal;
  std::string answer = ask().value_or("");
  answer.erase(std::remove_if(answer.begin(), answer.end(), [](unsigned char c) { return std::isspace(c); }), answer.end());
  std::transform(answer.begin(), answer.end(), answer.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return answer == "y" || answer == "yes" ? PoweroffAnswer::go : PoweroffAnswer::cancelled;
}

}  // namespace iscsi_target
