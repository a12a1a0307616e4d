#!/bin/bash
# test-vms/initiator-chain.sh BUILD_DIR — the two-VM chain: a target VM exports its disk with iscsi-target
# from its initramfs, a diskless initiator VM boots that disk's OS through dracut's own iscsi module.
#
#   target VM     kernel + initramfs (FLAVOUR, default systemd) with modules.d/95iscsi-target and
#                 BUILD_DIR/tools/iscsi-target; disk = test-vms/rootfs.sh image (virtio, serial=$DISK_SERIAL);
#                 eth0 = user-mode (restricted, unused), eth1 = qemu socket link, 10.77.0.1/24
#   initiator VM  kernel + initramfs (FLAVOUR, default nosystemd) with dracut's iscsi module, no disk;
#                 eth0 = the other end of the socket link, 10.77.0.2/24, netroot=iscsi:…@10.77.0.1
# The rootfs's /sbin/init writes test.token into /initiator-was-here and powers off; then the target is
# powered off through its console (`systemctl poweroff`; `iscsi-target poweroff` without systemd), and the
# host reads the token back with debugfs and checks the filesystem with e2fsck.
# The 10.77.0.0/24 addresses exist only on the qemu link; the host side uses 127.0.0.1 only.
#
# Environment (besides lib.sh's VM_* variables):
#   CHAIN_TARGET_FLAVOUR      systemd (default) | nosystemd   — the target initramfs
#   CHAIN_INITIATOR_FLAVOUR   nosystemd (default) | systemd   — the initiator initramfs
#   CHAIN_MODULE_DIR          dracut module dir for the target (default <repo>/modules.d/95iscsi-target)
#   CHAIN_TARGET_ARGS / CHAIN_INITIATOR_ARGS   extra kernel command-line words for either VM
#   CHAIN_READY_TIMEOUT (300) / CHAIN_ROOTFS_TIMEOUT (300) / CHAIN_POWEROFF_GRACE (120)   seconds
# Artifacts: ${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/initiator/runs/initiator-chain-* (kept on failure or
# with VM_KEEP=1).  Exit status 0 only if every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 BUILD_DIR   (BUILD_DIR/tools/iscsi-target must exist)" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
BUILD_DIR=$(cd "$1" && pwd) || usage
BINDIR=$BUILD_DIR/tools

VM_WORKDIR="${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/initiator"
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

target_flavour=${CHAIN_TARGET_FLAVOUR:-systemd}
initiator_flavour=${CHAIN_INITIATOR_FLAVOUR:-nosystemd}
module_dir=${CHAIN_MODULE_DIR:-$REPO_DIR/modules.d/95iscsi-target}
ready_timeout=${CHAIN_READY_TIMEOUT:-300}
rootfs_timeout=${CHAIN_ROOTFS_TIMEOUT:-300}
poweroff_grace=${CHAIN_POWEROFF_GRACE:-120}

# The test's identities.  The link addresses never leave the qemu socket link between the two VMs.
DISK_SERIAL=chaindisk0
IQN_T=iqn.2003-01.org.example.itgt:chain-target
IQN_I=iqn.2003-01.org.example.itgt:chain-initiator
CHAP_USER=chainuser
CHAP_PASS=chainsecret12345 # 16 characters: within every initiator's CHAP secret limits
TARGET_ADDR=10.77.0.1
INITIATOR_ADDR=10.77.0.2

bash "$HERE/deps.sh"
lib_setup initiator-chain
timer_start total
[[ -x $BINDIR/iscsi-target ]] || die "$BINDIR/iscsi-target not found: build the tools first (cmake --build BUILD_DIR)"
[[ -f $module_dir/module-setup.sh ]] || die "$module_dir/module-setup.sh not found"

# ── the exported disk ─────────────────────────────────────────────────────────────────────────────────
disk=$RUN_DIR/disk.img
"$HERE/rootfs.sh" "$disk" >"$RUN_DIR/rootfs.log" 2>&1 || { cat "$RUN_DIR/rootfs.log"; die "rootfs.sh failed"; }
root_uuid=$(blkid -o value -s UUID "$disk") || die "no filesystem UUID in $disk"
token="itgt-$(date +%s)-$SRANDOM"
info "disk $disk (UUID=$root_uuid), token $token"

# ── initramfs images ──────────────────────────────────────────────────────────────────────────────────
build_initramfs "$RUN_DIR/target.img" "$target_flavour" --target-bindir "$BINDIR" --module-dir "$module_dir"
initiator_opts=(--add-modules iscsi --drivers 'iscsi_tcp sd_mod')
if [[ $initiator_flavour == systemd ]]; then
    # Debian's iscsid.service runs this before iscsid; dracut's iscsi module does not install it.
    [[ -e /lib/open-iscsi/startup-checks.sh ]] && initiator_opts+=(--install /lib/open-iscsi/startup-checks.sh)
fi
# sd_mod: the iSCSI LUN is a SCSI disk, and neither the iscsi module nor lib.sh's module list (no
# kernel-modules) puts the SCSI disk driver into the image: without it no /dev/sdX could appear.
build_initramfs "$RUN_DIR/initiator.img" "$initiator_flavour" "${initiator_opts[@]}"

# ── target VM ─────────────────────────────────────────────────────────────────────────────────────────
port=$(free_port)
target_cmdline="console=ttyS0 net.ifnames=0 ip=$TARGET_ADDR:::255.255.255.0::eth1:off rd.neednet=1"
target_cmdline+=" rd.iscsi_target.dev=/dev/disk/by-id/virtio-$DISK_SERIAL rd.iscsi_target.iqn=$IQN_T"
target_cmdline+=" rd.iscsi.initiator=$IQN_I rd.iscsi.username=$CHAP_USER rd.iscsi.password=$CHAP_PASS"
target_cmdline+=" rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0${CHAIN_TARGET_ARGS:+ $CHAIN_TARGET_ARGS}"
timer_start target-boot-to-ready
vm_start target "$KERNEL" "$RUN_DIR/target.img" "$target_cmdline" \
    --disk "$disk,serial=$DISK_SERIAL,cache=writeback" \
    --net "user,restrict=on" \
    --net "socket,listen=127.0.0.1:$port"
wait_target_ready "$ready_timeout"
timer_end target-boot-to-ready

# ── initiator VM ──────────────────────────────────────────────────────────────────────────────────────
init_cmdline="console=ttyS0 net.ifnames=0 ip=$INITIATOR_ADDR:::255.255.255.0::eth0:off rd.neednet=1"
init_cmdline+=" netroot=iscsi:$CHAP_USER:$CHAP_PASS@$TARGET_ADDR::3260::$IQN_T rd.iscsi.initiator=$IQN_I"
init_cmdline+=" root=UUID=$root_uuid rd.iscsi.param=node.session.timeo.replacement_timeout=86400"
init_cmdline+=" rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.shell=0 test.token=$token"
init_cmdline+="${CHAIN_INITIATOR_ARGS:+ $CHAIN_INITIATOR_ARGS}"
timer_start initiator-boot-to-rootfs
vm_start initiator "$KERNEL" "$RUN_DIR/initiator.img" "$init_cmdline" \
    --net "socket,connect=127.0.0.1:$port"
# A CHAP rejection is final (iscsiadm error 24); connection errors are not: dracut retries those.
init_fail_re='ROOTFS: ERROR|Entering emergency mode|Kernel panic|dracut Warning: Could not boot|Refusing to continue'
init_fail_re+='|login failed due to authorization failure'
initiator_ok=0 rc=0
vm_wait_for "^ROOTFS: booted|$init_fail_re" "$rootfs_timeout" || rc=$?
if ((rc == 0)) && [[ $VM_MATCH == "ROOTFS: booted over iSCSI"* ]]; then
    timer_end initiator-boot-to-rootfs
    pass "initiator: $VM_MATCH"
    initiator_ok=1
else
    case $rc in 1) why="no 'ROOTFS: booted' within ${rootfs_timeout}s" ;; 2) why="initiator VM died" ;;
    *) why="initiator reported: $VM_MATCH" ;; esac
    fail "initiator: $why"
    vm_dump_console 80
fi
if ((initiator_ok)); then
    if vm_wait_for '^ROOTFS: iscsi session ' 10; then
        check_match "initiator: session to the target's IQN from the initiator IQN" \
            " target $IQN_T initiator $IQN_I\$" "$VM_MATCH" || true
    else
        fail "initiator: the rootfs saw no iSCSI session"
    fi
    if vm_wait_for "^ROOTFS: (wrote token|ERROR)" 60 && [[ $VM_MATCH == "ROOTFS: wrote token" ]]; then
        pass "initiator: $VM_MATCH"
    else
        fail "initiator: no 'ROOTFS: wrote token' (${VM_MATCH:-nothing})"
        vm_dump_console 40
    fi
fi
timer_start initiator-poweroff
grace=5 # a failed initiator never powers off by itself
((initiator_ok)) && grace=60
if vm_stop "" "$grace"; then
    pass "initiator: powered itself off"
else
    fail "initiator: still running ${grace}s later, killed"
    vm_dump_console 40
fi
timer_end initiator-poweroff

# ── target poweroff, through its console ──────────────────────────────────────────────────────────────
vm_use target
# Without systemd in the initramfs the tool's own console command stops the target and powers off.
# --force: LIO may list the powered-off initiator's session as live until its NOP-In timeout, and
# `iscsi-target poweroff` would then ask on the console.
if [[ $target_flavour == systemd ]]; then poweroff_cmd="systemctl poweroff"; else poweroff_cmd="iscsi-target poweroff --force"; fi
if ! vm_alive; then
    fail "target: VM died while the initiator ran"
    vm_dump_console 60
elif ! vm_wait_shell 60; then
    fail "target: no shell answers on the console"
    vm_dump_console 40
    vm_kill
elif ! status=$(vm_run -t 30 'iscsi-target status' 2>&1); then
    fail "target: 'iscsi-target status' failed after the initiator's boot"
    printf '%s\n' "$status" | sed 's/^/    /'
    vm_stop "$poweroff_cmd" "$poweroff_grace" || true
else
    # For the log: what the target saw (sessions, LUN counters).  The disk checks below are the verdict.
    info "target status after the initiator's boot:"
    printf '%s\n' "$status" | sed 's/^/    /'
    timer_start target-poweroff
    if vm_stop "$poweroff_cmd" "$poweroff_grace"; then
        pass "target: '$poweroff_cmd' powered it off"
    else
        fail "target: still running ${poweroff_grace}s after '$poweroff_cmd', killed"
        vm_dump_console 40
    fi
    timer_end target-poweroff
fi

# ── host-side checks on the exported disk ─────────────────────────────────────────────────────────────
got=$(debugfs -R 'cat /initiator-was-here' "$disk" 2>/dev/null) || got="(debugfs failed)"
# check* return 1 on failure: `|| true` keeps set -e from ending the run before the summary.
check_eq "disk: /initiator-was-here holds the token" "$token" "$got" || true
check "disk: e2fsck -fn is clean" e2fsck -fn "$disk" || true

timer_end total
finish
