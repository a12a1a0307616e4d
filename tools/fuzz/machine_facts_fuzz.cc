// machine-facts.json. Property: facts that parsed are written (machine_facts_json) and parse back equal
// (cmdline_source is not compared: parsing wraps it in "the machine's own … (saved in FILE)").
#include "error.h"
#include "fuzz_input.h"
#include "machine_facts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  SystemFacts facts;
  try {
    facts = parse_machine_facts(fuzz::text(data, size), "machine-facts.json");
  } catch (const Error&) {
    return 0;
  }
  const SystemFacts again = parse_machine_facts(machine_facts_json(facts), "machine-facts.json (written)");
  bool same = again.root_disks == facts.root_disks && again.cmdline == facts.cmdline && again.wired_nics.size() == facts.wired_nics.size();
  for (size_t i = 0; same && i < facts.wired_nics.size(); ++i)
    same = again.wired_nics[i].name == facts.wired_nics[i].name && again.wired_nics[i].mac == facts.wired_nics[i].mac;
  fuzz::require(same, "parse_machine_facts(machine_facts_json(x)) == x");
  return 0;
}
