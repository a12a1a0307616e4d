#include "lio_model.h"

namespace iscsi_target {

std::string StorageObject::configfs_hba_prefix() const { return plugin == "block" ? "iblock" : plugin; }

}  // namespace iscsi_target
