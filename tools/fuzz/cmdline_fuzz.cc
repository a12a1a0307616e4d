// parse_cmdline and the Cmdline getters. Property: each word written back quoted parses to the same words.
#include "cmdline.h"
#include "error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  try {
    const Cmdline cmdline(parse_cmdline(fuzz::text(data, size)));
    std::string again;
    for (size_t i = 0; i < cmdline.args().size(); ++i) {
      const auto& arg = cmdline.args()[i];
      if (i < 16) {  // the getters scan every word: a few keys keep an input linear
        (void)cmdline.get(arg.key);
        (void)cmdline.get_all(arg.key);
      }
      again += (again.empty() ? "\"" : " \"") + arg.key + (arg.value ? "=" + *arg.value : "") + "\"";
    }
    (void)cmdline.get("rd.iscsi_target.dev");
    (void)cmdline.get_all("rd.iscsi_target.dev");
    const auto reparsed = parse_cmdline(again);
    bool same = reparsed.size() == cmdline.args().size();
    for (size_t i = 0; same && i < reparsed.size(); ++i)
      same = reparsed[i].key == cmdline.args()[i].key && reparsed[i].value == cmdline.args()[i].value;
    fuzz::require(same, "parse_cmdline(each word quoted) == parse_cmdline(text)");
  } catch (const Error&) {
  }
  return 0;
}
