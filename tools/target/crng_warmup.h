// Getting the kernel's random number generator ready before the first login needs it.
#pragma once

namespace iscsi_target {

// LIO takes each connection's StatSN from get_random_bytes_wait() (iscsi_login_set_conn_values), so the
// first login blocks until the kernel's CRNG is initialised. Where no CPU RNG seeds it at boot (older CPUs,
// qemu's default CPU model) that happens seconds into the boot, when something first waits for it. When the
// CRNG is not ready yet, this starts a child process that waits for one random byte: the kernel then
// generates the entropy (jitter) at once, while the network is still coming up, instead of during the
// initiator's login. Returns the child's pid, 0 when the CRNG is ready already, -1 when fork failed (harmless:
// the first login then waits as it would have).
int start_crng_warmup();

}  // namespace iscsi_target
