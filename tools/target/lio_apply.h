// Applying a LioConfig to configfs, and tearing LIO down again.
#pragma once

#include <functional>
#include <string>

#include "configfs.h"
#include "lio_model.h"

namespace iscsi_target {

using Warn = std::function<void(const std::string&)>;

// Creates everything in the order LIO needs (backstores with their serial, targets, TPG settings, LUNs,
// portals, ACLs with CHAP and mapped LUNs; then every TPG's enable, after all the rest). All or nothing: on
// error every object created here is removed again and the Error is rethrown.
void apply_lio_config(ConfigFs& fs, const LioConfig& config, const Warn& warn);

// True when configfs holds no iSCSI target and no HBA of any backstore kind (an empty HBA directory is what
// a start killed between its first two mkdirs leaves).
bool lio_is_empty(const ConfigFs& fs);

// Removes every iSCSI target and every backstore, innermost first. Missing objects are fine (idempotent);
// failures are reported through warn and teardown goes on. Returns false if anything could not be removed.
bool teardown_lio(ConfigFs& fs, const Warn& warn);

}  // namespace iscsi_target
