// The real ISO builder and USB writer behind ArtifactWriters.
#pragma once

#include "boot_artifacts.h"

namespace iscsi_target {
ArtifactWriters real_artifact_writers();
}
