#!/bin/bash
# The main job (README, command 1), on a fresh Debian 12 machine as root: installs what is needed, builds the
# tools, and runs the two-VM demo on an embedded default: a small root disk for the "laptop"; the real
# `kernel-install add` makes its "iSCSI Target" boot entry and initiator ISO; the laptop VM boots that entry
# (exactly its kernel, initrds and options) and exports its disk; a diskless "desktop" VM boots the ISO four
# ways (SeaBIOS/OVMF, CD/USB/disk) and starts the laptop's system over iSCSI with mutual CHAP.
# DEMO=debian runs the full real-Debian flow instead (test-vms/e2e-debian.sh; work in progress, see README).
# Progress lines as it goes, a summary at the end; the full log is $DEMO_LOG (/var/tmp/iscsi-target-demo.log).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
log=${DEMO_LOG:-/var/tmp/iscsi-target-demo.log}
script=$repo/test-vms/iso-chain.sh
[[ ${DEMO:-} == debian ]] && script=$repo/test-vms/e2e-debian.sh
started=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }

step "Installing build and VM dependencies (Debian packages)"
"$repo/test-vms/install-deps.sh" | sed 's/^/    /'
step "Building the tools (cmake)"
cmake -S "$repo" -B "$build" -DISCSI_TARGET_VM_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -E 'error|Built target iscsi' | sed 's/^/    /'
step "Running the two-VM demo ($(basename "$script"))"
echo "    full log: $log"
set +e
VM_KEEP=${VM_KEEP:-0} "$script" "$build" 2>&1 | tee "$log" |
    grep --line-buffered -E '^(INFO: (entry|target|VM)|TIME: .*(ready|rootfs|kernel-install)|FAIL|PASS: (target|bios|uefi).*(ready|booted|wrote)|RESULT)' |
    sed -u 's/^/    /'
status=${PIPESTATUS[0]}
set -e

step "Summary"
options=$(grep -m1 -E '^INFO: target: options ' "$log" | sed 's/^INFO: target: options //')
word() { tr ' ' '\n' <<<"$options" | grep -m1 "^$1=" | cut -d= -f2- || true; }
cat <<SUMMARY
    exported by the target VM (its generated "iSCSI Target" boot entry):
        devices: $(tr ' ' '\n' <<<"$options" | grep '^rd.iscsi_target.dev=' | cut -d= -f2- | tr '\n' ' ')
        target:  $(word rd.iscsi_target.iqn)  portal $(word rd.iscsi_target.portal)  (mutual CHAP, secrets in a 0600 initrd)
    initiator booted from: $(grep -m1 -oE '/[^ ]*/iscsi-boot-[^ ]+\.iso' "$log" || echo "the generated ISO")
    time per step:
$(grep -E '^TIME: ' "$log" | awk '!seen[$2]++' | sed 's/^TIME: /        /')
    checks: $(grep -m1 -E '^RESULT:' "$log" | sed 's/^RESULT: //')
    total: $((SECONDS - started)) s
SUMMARY
if ((status == 0)); then
    echo "==> Demo finished: the initiator VM booted the target VM's system over iSCSI from the generated ISO."
else
    echo "==> Demo FAILED (exit $status); see $log"
fi
exit "$status"
