#!/bin/bash
# The main job (README, command 1), on a fresh Debian 12 machine as root: installs what is needed, builds the
# package, builds a real Debian 12 "laptop" disk image, installs the package into it, lets that system make its
# "iSCSI Target" boot entry and initiator ISO itself, boots it into target mode, then boots a diskless
# "desktop" VM from the ISO into the laptop's Debian over iSCSI. Shows progress as it goes and a summary.
# The full log is kept in $DEMO_LOG (default /var/tmp/iscsi-target-demo.log).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
log=${DEMO_LOG:-/var/tmp/iscsi-target-demo.log}
started=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }

step "Installing build and VM dependencies (Debian packages)"
"$repo/test-vms/install-deps.sh" | sed 's/^/    /'
step "Building the tools (cmake)"
cmake -S "$repo" -B "$build" -DISCSI_TARGET_VM_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -E 'error|Built target iscsi' | sed 's/^/    /'
step "Running the two-VM demo (a real Debian 12: package, kernel-install, boot entry, ISO, target, initiator)"
echo "    full log: $log"
set +e
"$repo/test-vms/e2e-debian.sh" "$build" 2>&1 | tee "$log" | grep --line-buffered -E '^(INFO|TIME|FAIL|PASS: e2e|RESULT)' |
    sed -u 's/^/    /'
status=${PIPESTATUS[0]}
set -e

value() { grep -m1 -oE "$1" "$log" | sed -E "s/$1/\\1/" || true; }
step "Summary"
cat <<SUMMARY
    exported by the target (its "iSCSI Target" boot entry):
        $(grep -m1 -oE 'rd\.iscsi_target\.dev=[^ ]+' "$log" | tr '\n' ' ')
        portal $(value 'rd\.iscsi_target\.portal=([^ ]+)')  target $(value 'rd\.iscsi_target\.iqn=([^ ]+)')
    initiator booted from: $(grep -m1 -oE '/var/lib/dracut/iscsi-target/iscsi-boot-[^ ]+\.iso' "$log") (SeaBIOS as CD, OVMF as USB stick)
    $(grep -m1 -E '^INFO: boot-to-login' "$log" | sed 's/^INFO: //')
    time per step:
$(grep -E '^TIME: ' "$log" | sort -u -t' ' -k2,2 | sed 's/^TIME: /        /')
    checks: $(grep -m1 -E '^RESULT:' "$log" | sed 's/^RESULT: //')
    total: $((SECONDS - started)) s
SUMMARY
if ((status == 0)); then
    echo "==> Demo finished: the laptop's Debian booted on the desktop over iSCSI."
else
    echo "==> Demo FAILED (exit $status); see $log"
fi
exit "$status"
