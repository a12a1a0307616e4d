// The machine's own facts (its disks, its NICs, its kernel command line), saved whenever `add` runs on the
// machine itself and reused when the same OS runs booted over iSCSI on another computer: there the disks,
// NICs and /proc/cmdline seen are the initiator's, and deriving the iSCSI Target entry from them would
// describe the wrong machine (its NIC's MAC, an iSCSI disk, netroot=/ip= options).
#pragma once

#include <filesystem>
#include <string>

#include "system_probe.h"

namespace iscsi_target {

// True when the kernel command line boots the root file system over iSCSI (dracut's netroot=iscsi:…,
// root=iscsi:…, or iBFT firmware boot).
bool booted_over_iscsi(const std::string& proc_cmdline);

std::string machine_facts_json(const SystemFacts& facts);
// Throws Error naming the origin (file) when the text is not what machine_facts_json writes.
SystemFacts parse_machine_facts(const std::string& text, const std::string& origin);

// Options that only an initiator's command line has (ip=, netroot=, rd.iscsi.*, …), in order; empty when
// the command line is the machine's own.
std::string initiator_only_options(const std::string& cmdline);

struct FactsChoice {
  SystemFacts facts;
  bool over_iscsi = false;  // booted over iSCSI: facts came from the saved file
  bool save = false;        // the machine itself: save these facts
  std::string note;         // booted over iSCSI: where the facts came from, for the user
};

// probed: what probe_system saw here. saved_file: the facts an earlier `add` on the machine itself saved.
// Booted over iSCSI: the saved disks, NICs and command line replace the probed ones (machine-id and
// os-release are the OS's own either way). Without a saved file, throws Error unless the config names
// the devices and the NIC (config_names_hardware).
FactsChoice choose_machine_facts(const SystemFacts& probed, const std::string& proc_cmdline, const std::filesystem::path& saved_file,
                                 bool config_names_hardware);

}  // namespace iscsi_target
