// Loading kernel modules through libkmod (honours blacklists, resolves dependencies and aliases).
#pragma once

#include <string>
#include <vector>

namespace iscsi_target {

// The modules LIO needs for an iSCSI target over block devices: what `start` exports, and all the initramfs
// holds (modules.d/95iscsi-target/module-setup.sh).
inline const std::vector<std::string> lio_modules = {"configfs", "target_core_mod", "target_core_iblock",
                                                     "iscsi_target_mod"};
// For fileio backstores, which only a restored saveconfig.json can have. Not in the initramfs: its backing
// file lives on a file system, and target mode mounts none (a device is exported through iblock instead);
// a restore of such a file there fails naming this module.
inline const char* const lio_fileio_module = "target_core_file";

// Loads each module (and its dependencies); already loaded or built-in is fine. Throws Error naming the module.
void load_kernel_modules(const std::vector<std::string>& names);

}  // namespace iscsi_target
