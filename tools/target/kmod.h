// Loading kernel modules through libkmod (honours blacklists, resolves dependencies and aliases).
#pragma once

#include <string>
#include <vector>

namespace iscsi_target {

// The modules LIO needs for an iSCSI target over block devices.
inline const std::vector<std::string> lio_modules = {"configfs", "target_core_mod", "target_core_iblock",
                                                     "target_core_file", "iscsi_target_mod"};

// Loads each module (and its dependencies); already loaded or built-in is fine. Throws Error naming the module.
void load_kernel_modules(const std::vector<std::string>& names);

}  // namespace iscsi_target
