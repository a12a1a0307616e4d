#include "boot_writers.h"

#include "error.h"
#include "usb_write.h"

namespace iscsi_target {

ArtifactWriters real_artifact_writers() {
  ArtifactWriters writers;
  writers.build_iso = [](const IsoImageSpec& spec) { return build_iso(spec); };
  // The same checks as `iso write` without --force, and no question: usb_devices names the stick already.
  writers.write_usb = [](const std::filesystem::path& iso, const std::string& device) {
    const OpenWriteTarget opened = open_write_target(device);  // checked and written through one descriptor
    const auto refusals = write_refusals(opened.target, std::filesystem::file_size(iso), /*force=*/false);
    if (!refusals.empty()) throw Error(device + ": " + refusals.front());
    write_image(iso, opened, WriteOptions{});
  };
  return writers;
}

}  // namespace iscsi_target
