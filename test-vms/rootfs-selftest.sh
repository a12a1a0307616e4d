#!/bin/bash
# test-vms/rootfs-selftest.sh — proves test-vms/rootfs.sh without iSCSI: boots the image as a local virtio
# disk (root=UUID=…) through a plain dracut initramfs, waits for the ROOTFS markers and the poweroff, then
# reads the token back on the host and runs e2fsck.  About 20 s; no product code involved.
# Usage: test-vms/rootfs-selftest.sh [systemd|nosystemd]   (initramfs flavour, default nosystemd)
# Artifacts: ${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/initiator/runs/rootfs-selftest-* (kept on failure).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
flavour=${1:-nosystemd}
case $flavour in systemd | nosystemd) ;; *) echo "usage: $0 [systemd|nosystemd]" >&2; exit 2 ;; esac

VM_WORKDIR="${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/initiator"
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

bash "$HERE/deps.sh"
lib_setup "rootfs-selftest-$flavour"
timer_start total

disk=$RUN_DIR/disk.img
"$HERE/rootfs.sh" "$disk" >"$RUN_DIR/rootfs.log" 2>&1 || { cat "$RUN_DIR/rootfs.log"; die "rootfs.sh failed"; }
check "rootfs.sh image passes e2fsck -fn" e2fsck -fn "$disk" || true
root_uuid=$(blkid -o value -s UUID "$disk") || die "no filesystem UUID in $disk"
token="local-$(date +%s)-$SRANDOM"

build_initramfs "$RUN_DIR/initrd.img" "$flavour"

timer_start boot-to-rootfs
vm_start local "$KERNEL" "$RUN_DIR/initrd.img" \
    "console=ttyS0 root=UUID=$root_uuid rd.shell=0 rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 test.token=$token" \
    --disk "$disk,serial=rootfs0,cache=writeback"
rc=0
vm_wait_for '^ROOTFS: booted|ROOTFS: ERROR|Kernel panic|Entering emergency mode|Refusing to continue' 180 || rc=$?
if ((rc == 0)) && [[ $VM_MATCH == "ROOTFS: booted from a local disk"* ]]; then
    timer_end boot-to-rootfs
    pass "local boot: $VM_MATCH"
    if vm_wait_for '^ROOTFS: (wrote token|ERROR)' 60 && [[ $VM_MATCH == "ROOTFS: wrote token" ]]; then
        pass "local boot: $VM_MATCH"
    else
        fail "local boot: no 'ROOTFS: wrote token' (${VM_MATCH:-nothing})"
    fi
else
    fail "local boot: no 'ROOTFS: booted from a local disk' (rc $rc: ${VM_MATCH:-nothing})"
    vm_dump_console 60
fi
if vm_stop "" 60; then pass "local boot: the rootfs powered the VM off"; else fail "local boot: VM still running, killed"; fi
if grep -aq '^mount: ' "$(vm_log)"; then
    fail "local boot: the rootfs init printed mount errors"
    grep -a '^mount: ' "$(vm_log)" | tr -d '\r'
fi

got=$(debugfs -R 'cat /initiator-was-here' "$disk" 2>/dev/null) || got="(debugfs failed)"
# check* return 1 on failure: `|| true` keeps set -e from ending the run before the summary.
check_eq "disk: /initiator-was-here holds the token" "$token" "$got" || true
check "disk: e2fsck -fn is clean after the boot" e2fsck -fn "$disk" || true
timer_end total
finish
