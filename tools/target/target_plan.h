// Settings + resolved devices -> the LIO configuration target mode applies.
#pragma once

#include <vector>

#include "blockdev.h"
#include "lio_model.h"
#include "settings.h"

namespace iscsi_target {

// iSCSI negotiation parameters target mode writes (see README "Tuning" for the measurements behind them).
AttributeMap tuned_parameters();

// One block backstore per device (named after the kernel device, serial derived from its identity), LUN i
// for device i, one ACL per allowed initiator with every LUN mapped read-write, CHAP when configured. With
// settings.read_only every backstore is opened read-only and every mapped LUN is write-protected.
// Throws Error when two specs name the same device.
LioConfig plan_lio_config(const TargetSettings& settings, const std::vector<BlockDevice>& devices);

}  // namespace iscsi_target
