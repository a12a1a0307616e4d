// Before anything is written: the generated files, read back by the readers that will read them, say what
// the boot side meant. Catches values one side would read differently from the other (a space, a quote, a
// carriage return in a secret) and user options that would override ours.
#pragma once

#include "boot_settings.h"

namespace iscsi_target {

// Reads target_options + target_secrets_file back with the target's own reader (parse_cmdline in the
// target's order: command line, then target.conf; settings_from_cmdline) and compares with
// target_settings_of. The user's target_cmdline comes after our keys: it may add what we do not write
// (rd.iscsi_target.wait, rd.iscsi_target.tuning, further initiators as rd.iscsi_target.initiator, console=…)
// but not change what we do (IQN, initiator, devices, portal, CHAP, read-only), and no CHAP password may stand on the
// command line (dracut logs it). A parse error or a difference throws Error: one line naming the setting,
// never a secret.
void verify_target_files(const BootSettings& s);

// Reads initiator_iscsid_conf back the way iscsid does (iscsid_conf.h): CHAP on, exactly the names and
// secrets meant, each one chap_value_problem accepts.
void verify_initiator_files(const BootSettings& s);

}  // namespace iscsi_target
