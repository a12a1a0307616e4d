// Applying a LioConfig to configfs, and tearing LIO down again.
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

}  // namespace iscsi_target
