// The real cpio, ISO and USB writers behind ArtifactWriters.
#pragma once

#include "boot_artifacts.h"

namespace iscsi_target {
ArtifactWriters real_artifact_writers();
}
