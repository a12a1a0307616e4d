// /etc/iscsi-target/chap-secrets. Property: what parsed is written (chap_secrets_text) and parses back equal.
#include "chap_secrets.h"
#include "error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iscsi_target;
  ChapCredentials chap;
  try {
    chap = parse_chap_secrets(fuzz::text(data, size), "chap-secrets");
  } catch (const Error&) {
    return 0;
  }
  const ChapCredentials again = parse_chap_secrets(chap_secrets_text(chap), "chap-secrets (written)");
  fuzz::require(again.userid == chap.userid && again.password == chap.password && again.mutual_userid == chap.mutual_userid &&
                    again.mutual_password == chap.mutual_password,
                "parse_chap_secrets(chap_secrets_text(x)) == x");
  return 0;
}
