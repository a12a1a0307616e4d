// Applying a LioConfig to configfs, tearing LIO down, and reading its state back.
#pragma once

#include <functional>
#include <string>

#include "configfs.h"
#include "lio_model.h"

namespace iscsi_target {

using Warn = std::function<void(const std::string&)>;

// Creates everything in the order LIO needs (backstores with their serial, target, TPG settings, LUNs,
// portals, ACLs with CHAP and mapped LUNs, TPG enable last). All or nothing: on error every object created
// here is removed again and the Error is rethrown.
void apply_lio_config(ConfigFs& fs, const LioConfig& config, const Warn& warn);

// Removes every iSCSI target and every backstore, innermost first. Missing objects are fine (idempotent);
// failures are reported through warn and teardown goes on. Returns false if anything could not be removed.
bool teardown_lio(ConfigFs& fs, const Warn& warn);

// Reads the current iSCSI targets and backstores. with_secrets=false leaves CHAP secrets out.
LioConfig read_lio_config(const ConfigFs& fs, bool with_secrets);

// The backstore's configfs directory, given its hba index.
std::string storage_object_path(const StorageObject& so, unsigned hba_index);

// "T10 VPD Unit Serial Number: abc\n" -> "abc".
std::string parse_vpd_unit_serial(const std::string& text);

}  // namespace iscsi_target
