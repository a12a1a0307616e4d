// Boot Loader Specification entries and their getters. Property: text() parses back to the same lines.
#include "bls_entry.h"
#include "error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  try {
    const BlsEntry entry = parse_bls_entry(fuzz::text(data, size));
    (void)entry.get("title");
    (void)entry.paths("linux");
    (void)entry.paths("initrd");
    (void)entry.options();
    fuzz::require(parse_bls_entry(entry.text()).lines == entry.lines, "parse_bls_entry(e.text()).lines == e.lines");
  } catch (const Error&) {
  }
  return 0;
}
