// /proc/self/mountinfo (common/mountinfo.h; built only when that header exists).
#include "error.h"
#include "fuzz_input.h"
#include "mountinfo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)iscsi_target::parse_mountinfo(fuzz::text(data, size), iscsi_target::SystemRoots{}).size();
  } catch (const iscsi_target::Error&) {
  }
  return 0;
}
