// The target's settings as the initramfs reads them: the command line, then settings_from_cmdline.
#include "cmdline.h"
#include "error.h"
#include "fuzz_input.h"
#include "settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  try {
    const Cmdline cmdline(parse_cmdline(fuzz::text(data, size)));
    (void)target_mode_requested(cmdline);
    (void)settings_from_cmdline(cmdline, "iqn.2024-01.org.example:fuzz");
  } catch (const Error&) {
  }
  return 0;
}
