#!/bin/bash
# The main job (README, command 1), on a fresh Debian 12 machine as root: installs what is needed, builds the
# tools and the .deb, and runs the two-VM demo on an embedded default (test-vms/e2e-debian.sh): a Debian 12
# "laptop" disk built by debootstrap gets the package; on its first own boot the user's commands make the
# "iSCSI Target" GRUB entry and the initiator ISO; the laptop boots that entry through its real GRUB and
# exports its disk; a diskless "desktop" VM boots the ISO (SeaBIOS as CD, then OVMF as USB stick) into the
# laptop's Debian over iSCSI, logs in, writes a file, powers off; the host checks the file and e2fsck.
# DEMO=quick runs the shorter demo on a small generated root disk (test-vms/iso-chain.sh, ~5 min).
# Progress lines as it goes, a summary at the end; the full log is $DEMO_LOG (/var/tmp/iscsi-target-demo.log).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
log=${DEMO_LOG:-/var/tmp/iscsi-target-demo.log}
script=$repo/test-vms/e2e-debian.sh
[[ ${DEMO:-} == quick ]] && script=$repo/test-vms/iso-chain.sh
started=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }

step "Installing build and VM dependencies (Debian packages)"
"$repo/test-vms/install-deps.sh" | sed 's/^/    /'
step "Building the tools (cmake)"
cmake -S "$repo" -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -E 'error|Built target iscsi' | sed 's/^/    /'
step "Running the two-VM demo ($(basename "$script"))"
echo "    full log: $log"
set +e
VM_KEEP=${VM_KEEP:-0} "$script" "$build" 2>&1 | tee "$log" |
    grep --line-buffered -E '^(INFO: (entry|target|VM|package|image|iSCSI Target|ISO|boot-to-login)|debian-image: |TIME: (step|.*(ready|rootfs|kernel-install|login))|FAIL|PASS: (target|bios|uefi|init-|local|disk).*(ready|booted|wrote|login|token)|RESULT)' |
    sed -u 's/^/    /'
status=${PIPESTATUS[0]}
set -e

step "Summary"
options=$(grep -m1 -E '^INFO: (target: options|iSCSI Target options:) ' "$log" | sed -E 's/^INFO: (target: options|iSCSI Target options:) //')
word() { tr ' ' '\n' <<<"$options" | grep -m1 "^$1=" | cut -d= -f2- || true; }
cat <<SUMMARY
    exported by the target VM (its generated "iSCSI Target" boot entry):
        devices: $(tr ' ' '\n' <<<"$options" | grep '^rd.iscsi_target.dev=' | cut -d= -f2- | tr '\n' ' ')
        target:  $(word rd.iscsi_target.iqn)  portal $(word rd.iscsi_target.portal)  (mutual CHAP, secrets in a 0600 initrd)
    initiator booted from: $(grep -m1 -oE '/[^ ]*/iscsi-boot-[^ ]+\.iso' "$log" || echo "the generated ISO")
$(grep -m1 -E '^INFO: boot-to-login: ' "$log" | sed 's/^INFO: /    /' || true)
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
