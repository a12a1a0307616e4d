// `iso build` and `iso write`: the initiator ISO and the USB writer, as a subcommand of iscsi-target-boot.
#pragma once

#include <string>
#include <vector>

namespace iscsi_target {

// args: what follows "iso" on the command line. Returns the exit code (0 ok, 1 failed, 2 usage).
int cmd_iso(const std::vector<std::string>& args);

extern const char* const iso_usage;

}  // namespace iscsi_target
