// targetcli's saveconfig.json: any JSON document → lio_from_saveconfig (and back to JSON when it was accepted).
#include <nlohmann/json.hpp>

#include "error.h"
#include "fuzz_input.h"
#include "saveconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(fuzz::text(data, size));
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    (void)saveconfig_from_lio(lio_from_saveconfig(doc));
  } catch (const Error&) {
  }
  return 0;
}
