// iscsi-target.conf (parse_boot_config) and, on the same bytes, the shell original's dracut.conf.d
// variables (apply_legacy_config) over what the first parse gave (or the defaults when it refused).
#include "boot_config.h"
#include "error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  const std::string text = fuzz::text(data, size);
  BootConfig config;
  try {
    config = parse_boot_config(text, "fuzz.conf");
  } catch (const Error&) {
  }
  try {
    apply_legacy_config(text, config, "fuzz-legacy.conf");
  } catch (const Error&) {
  }
  return 0;
}
