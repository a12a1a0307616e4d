#include "boot_writers.h"

#include <sstream>

#include "cpio_newc.h"
#include "error.h"
#include "iso_image.h"
#include "usb_write.h"

namespace iscsi_target {

namespace {

std::vector<CpioEntry> cpio_entries(const std::vector<CpioFile>& files) {
  std::vector<CpioEntry> entries;
  for (const auto& f : files) {
    // Parent directories first, as the kernel's unpacker needs them.
    std::string dir;
    std::istringstream parts(f.path.substr(0, f.path.rfind('/')));
    for (std::string part; std::getline(parts, part, '/');)
      if (!part.empty()) dir += "/" + part, entries.push_back(CpioEntry::directory(dir, 0755));
    entries.push_back(CpioEntry::file("/" + f.path, f.content, f.mode));
  }
  return entries;
}

}  // namespace

ArtifactWriters real_artifact_writers() {
  ArtifactWriters writers;
  writers.write_cpio = [](const std::filesystem::path& out, const std::vector<CpioFile>& files) {
    write_cpio_newc(out, cpio_entries(files), 0);  // fixed mtime: same secrets -> same bytes
  };
  writers.build_iso = [](const IsoSpec& spec) {
    IsoImageSpec iso;
    iso.kernel = spec.kernel;
    iso.initrds = spec.initrds;
    iso.extra_initrd = cpio_entries(spec.extra_initrd);
    iso.cmdline = spec.cmdline;
    iso.output = spec.output;
    iso.title = spec.title;
    const IsoImageResult r = build_iso(iso);
    std::ostringstream line;
    line.precision(2);
    line << std::fixed << "ISO " << r.output.string() << ": " << static_cast<double>(r.bytes) / 1048576.0 << " MiB ("
         << static_cast<double>(r.overhead_bytes) / 1048576.0 << " MiB over kernel+initrds), built in " << r.build_seconds << " s; " << r.secure_boot_note;
    return line.str();
  };
  writers.write_usb = [](const std::filesystem::path& iso, const std::string& device) {
    const WriteTarget target = inspect_write_target(device);
    const auto refusals = write_refusals(target, std::filesystem::file_size(iso), /*force=*/false);
    if (!refusals.empty()) throw Error(device + ": " + refusals.front());
    write_image(iso, device, WriteOptions{});
  };
  return writers;
}

}  // namespace iscsi_target
