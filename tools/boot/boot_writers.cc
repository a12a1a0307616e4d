#include "boot_writers.h"

#include "error.h"
#include "usb_write.h"

namespace iscsi_target {

ArtifactWriters real_artifact_writers() {
  ArtifactWriters writers;
  writers.build_iso = [](const IsoImageSpec& spec) { return build_iso(spec); };
  // The same checks as `iso write` without --force, and no question: usb_devices names the stick already.
  writers.write_usb = [](const std::filesystem::path& iso, const std::string& device) {
    const WriteTarget target = inspect_write_target(device);
    const auto refusals = write_refusals(target, std::filesystem::file_size(iso), /*force=*/false);
    if (!refusals.empty()) throw Error(device + ": " + refusals.front());
    write_image(iso, device, WriteOptions{});
  };
  return writers;
}

}  // namespace iscsi_target
