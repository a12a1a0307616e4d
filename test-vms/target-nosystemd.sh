#!/bin/bash
# test-vms/target-nosystemd.sh BUILD_DIR — target mode in an initramfs without systemd (dracut's shell init).
#
# Two VMs run at once:
#   good: one disk exported without CHAP by the explicit opt-in rd.iscsi_target.auth=none (+ one spare disk
#         that is not exported).  Checks the opt-in's warning on the console, discovery and READ CAPACITY
#         from the host, the operator shell (and that it comes back after `exit`), that no switch_root
#         happened and nothing is mounted, then bad input given to `iscsi-target start --cmdline` in that
#         shell (nonexistent device, malformed IQN, CHAP secret > 255 chars): each must print exactly one
#         `iscsi-target: error:` line naming the key/value, exit non-zero and leave configfs as it was (the
#         valid target keeps serving).  Ends with `iscsi-target poweroff`.
#   bad:  a command line naming a nonexistent device: one error line on the console, nothing exported,
#         nothing mounted, an operator shell; there `iscsi-target start --cmdline` without CHAP and without
#         the opt-in must refuse in one error line naming rd.iscsi.username and rd.iscsi_target.auth=none,
#         leaving nothing in configfs; `iscsi-target poweroff`.
# BUILD_DIR holds tools/iscsi-target.  Environment: see lib.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

target_test_setup target-nosystemd "${1:-}"

TGT=iqn.2024-01.org.example.itgt:nosystemd
TGT_BAD=iqn.2024-01.org.example.itgt:badboot
I1=iqn.2024-01.org.example.host:one
NET="net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1 rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0"
NOAUTH=rd.iscsi_target.auth=none # these targets serve without CHAP on purpose (the ACL by IQN only)
CF=/sys/kernel/config/target

truncate -s 32M "$RUN_DIR/disk0.img"
truncate -s 8M "$RUN_DIR/spare.img"
make_ext4_image "$RUN_DIR/bad-ext4.img" 16M itgt-bad
bad_sum_before=$(sha256sum <"$RUN_DIR/bad-ext4.img")

build_initramfs "$RUN_DIR/initrd.img" nosystemd --target-bindir "$BUILD/tools"

PORT_GOOD=$(free_port)
PORT_BAD=$(free_port)
while [[ $PORT_BAD == "$PORT_GOOD" ]]; do PORT_BAD=$(free_port); done

vm_start bad "$KERNEL" "$RUN_DIR/initrd.img" \
    "console=ttyS0 $NET rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-missing rd.iscsi_target.wait=2 rd.iscsi_target.iqn=$TGT_BAD rd.iscsi.initiator=$I1 $NOAUTH" \
    --disk "$RUN_DIR/bad-ext4.img,serial=itgt-bad" \
    --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$PORT_BAD-:3260"
timer_start boot-to-ready-good
vm_start good "$KERNEL" "$RUN_DIR/initrd.img" \
    "console=ttyS0 $NET rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-nsd0 rd.iscsi_target.iqn=$TGT rd.iscsi.initiator=$I1 $NOAUTH" \
    --disk "$RUN_DIR/disk0.img,serial=itgt-nsd0" \
    --disk "$RUN_DIR/spare.img,serial=itgt-spare" \
    --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$PORT_GOOD-:3260"

# Runs `iscsi-target start --cmdline TEXT` in the good VM's shell; checks one error line naming $2,
# a non-zero exit, configfs unchanged.  $3 (optional): a string that must not appear (a secret).
bad_start() { # LABEL CMDLINE MUST_NAME [MUST_NOT_SHOW]
    local label=$1 cmdline=$2 name=$3 hide=${4:-} out rc errs after
    out=$(vm_run -t 90 "iscsi-target start --cmdline '$cmdline'") && rc=0 || rc=$?
    printf '== %s (exit %s)\n%s\n' "$label" "$rc" "$out" >>"$RUN_DIR/bad-input.log"
    if ((rc != 0 && rc != 255)); then pass "$label: exits non-zero ($rc)"; else fail "$label: exit status $rc"; fi
    errs=$(grep -c '^iscsi-target: error:' <<<"$out" || true)
    check_eq "$label: exactly one 'iscsi-target: error:' line" 1 "$errs"
    ((CHECK_OK)) || info "output: $out"
    local line
    line=$(grep -m1 '^iscsi-target: error:' <<<"$out" | tr -d '\r' || true)
    BAD_LINE=$line
    info "$label: $line"
    check_match "$label: the error names '$name'" "$(printf '%s' "$name" | sed 's/[][\.*^$+?(){}|/]/\\&/g')" "$line"
    if [[ -n $hide ]]; then
        if [[ $out == *"$hide"* ]]; then fail "$label: the output shows the secret"; else pass "$label: the secret is not shown"; fi
    fi
    after=$(vm_run "ls -d $CF/iscsi/* $CF/core/*/* 2>/dev/null") || true
    check_eq "$label: configfs unchanged (no half-made target/backstore)" "$CF_BEFORE" "$after"
}

# ── good VM ────────────────────────────────────────────────────────────────────────────────────────────
vm_use good
if target_boot_result good 300; then
    timer_end boot-to-ready-good
    good_ok=1
else
    good_ok=0
fi

if ((good_ok)); then
    n=$(tr -d '\r' <"$(vm_log)" | grep -c "^iscsi-target: warning: $NOAUTH: serving without CHAP; anyone .*$I1" || true)
    check_eq "good: the console warns that $NOAUTH lets anyone who knows the IQN attach the disk" 1 "$n"
    out=$(iscsi-ls "iscsi://127.0.0.1:$PORT_GOOD" 2>&1) || true
    check_match "good: discovery lists $TGT" "Target:$TGT " "$out"
    out=$(iscsi-readcapacity16 -i "$I1" "iscsi://127.0.0.1:$PORT_GOOD/$TGT/0" 2>&1) || true
    check_eq "good: LUN 0 is the 32 MiB disk" $((32 << 20)) "$(sed -n 's/^Total size:\([0-9]*\)$/\1/p' <<<"$out")"
    out=$(python3 "$PROBE" 127.0.0.1 "$PORT_GOOD" "$TGT" "$I1" 2>&1) && rc=0 || rc=$?
    check_eq "good: the allowed initiator logs in without CHAP (probe: ${out##*RESULT: })" 0 "$rc"
    out=$(python3 "$PROBE" 127.0.0.1 "$PORT_GOOD" "$TGT" iqn.2024-01.org.example.host:intruder 2>&1) && rc=0 || rc=$?
    check_eq "good: an IQN not in the ACL is refused (probe: ${out##*RESULT: })" 1 "$rc"

    if vm_wait_shell 60; then pass "good: the operator shell answers"; else fail "good: no operator shell"; vm_dump_console 40; fi
    out=$(vm_run 'cat /proc/1/comm; test -e /etc/initrd-release && echo initrd') || true
    check_eq "good: pid 1 is dracut's init, still in the initramfs" $'init\ninitrd' "$out"
    shell_pid1=$(vm_run 'echo $$') || true
    vm_send 'exit' || true
    if vm_wait_shell 60; then pass "good: after 'exit' the operator shell comes back"; else fail "good: the shell did not come back after 'exit'"; vm_dump_console 40; fi
    shell_pid2=$(vm_run 'echo $$') || true
    if [[ $shell_pid1 =~ ^[0-9]+$ && $shell_pid2 =~ ^[0-9]+$ && $shell_pid1 != "$shell_pid2" ]]; then
        pass "good: it is a new shell (pid $shell_pid1 → $shell_pid2)"
    else
        fail "good: shell pid before/after 'exit': '$shell_pid1' / '$shell_pid2'"
    fi
    mounts=$(vm_run 'cat /proc/mounts') || true
    check_eq "good: no disk and no /sysroot mounted" "" "$(grep -E '^/dev/(vd|sd)|[[:space:]]/sysroot[[:space:]]' <<<"$mounts" || true)"
    out=$(vm_run 'cat /proc/1/comm; test -e /etc/initrd-release && echo initrd') || true
    check_eq "good: no switch_root after leaving the shell" $'init\ninitrd' "$out"

    # Bad input to `iscsi-target start` while the valid target runs.
    CF_BEFORE=$(vm_run "ls -d $CF/iscsi/* $CF/core/*/* 2>/dev/null") || true
    info "configfs before: ${CF_BEFORE//$'\n'/ }"
    check_match "good: configfs shows the running target" "$CF/iscsi/$TGT" "$CF_BEFORE"
    spare=/dev/disk/by-id/virtio-itgt-spare
    bad_start "nonexistent device" \
        "rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-nope rd.iscsi_target.wait=2 rd.iscsi_target.iqn=iqn.2024-01.org.example.itgt:bad1 rd.iscsi.initiator=$I1 $NOAUTH" \
        /dev/disk/by-id/virtio-itgt-nope
    bad_start "malformed IQN" \
        "rd.iscsi_target.dev=$spare rd.iscsi_target.iqn=not_an_iqn rd.iscsi.initiator=$I1 $NOAUTH" \
        not_an_iqn
    long_secret=$(printf 'S%.0s' {1..300})
    bad_start "CHAP secret of 300 chars" \
        "rd.iscsi_target.dev=$spare rd.iscsi_target.iqn=iqn.2024-01.org.example.itgt:bad3 rd.iscsi.initiator=$I1 rd.iscsi.username=itgtuser rd.iscsi.password=$long_secret" \
        rd.iscsi.password "$long_secret"
    out=$(iscsi-readcapacity16 -i "$I1" "iscsi://127.0.0.1:$PORT_GOOD/$TGT/0" 2>&1) || true
    check_eq "good: the valid target still serves LUN 0 after the bad starts" $((32 << 20)) "$(sed -n 's/^Total size:\([0-9]*\)$/\1/p' <<<"$out")"

    timer_start poweroff-good
    if vm_stop 'iscsi-target poweroff' 90; then pass "good: iscsi-target poweroff powers the VM off"; else fail "good: iscsi-target poweroff did not power off"; vm_dump_console 30; fi
    timer_end poweroff-good
fi
vm_kill

# ── bad VM ─────────────────────────────────────────────────────────────────────────────────────────────
vm_use bad
if vm_wait_for "$BOOT_END_RE" 300; then
    info "bad: $VM_MATCH"
    check_match "bad boot: iscsi-target reports an error" 'iscsi-target: error:' "$VM_MATCH"
    check_match "bad boot: the error names the device" 'virtio-itgt-missing' "$VM_MATCH"
else
    fail "bad boot: no 'iscsi-target: error:' line within 300 s"
    vm_dump_console 80
fi
if vm_wait_shell 60; then pass "bad boot: an operator shell runs"; else fail "bad boot: no operator shell"; vm_dump_console 40; fi
n=$(tr -d '\r' <"$(vm_log)" | grep -c '^iscsi-target: error:' || true)
check_eq "bad boot: exactly one console line starts with 'iscsi-target: error:'" 1 "$n"
# CHAP is always on: without rd.iscsi.username/password and without the opt-in, start refuses before configfs.
CF_BEFORE=$(vm_run "ls -d $CF/iscsi/* $CF/core/*/* 2>/dev/null") || true
check_eq "bad boot: configfs holds no target or backstore" 0 "$(grep -c -e "^$CF/iscsi/iqn" -e "^$CF/core/iblock_" <<<"$CF_BEFORE" || true)"
bad_start "no CHAP and no $NOAUTH" \
    "rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-bad rd.iscsi_target.iqn=$TGT_BAD rd.iscsi.initiator=$I1" \
    rd.iscsi.username=
check_match "no CHAP: the error says how to opt in" "give $NOAUTH\$" "$BAD_LINE"
out=$(vm_run "ls -A $CF/iscsi 2>&1") || true
info "no CHAP: ls $CF/iscsi: ${out//$'\n'/ }"
check_eq "no CHAP: no target under $CF/iscsi" 0 "$(grep -c '^iqn\.' <<<"$out" || true)"
out=$(iscsi-ls "iscsi://127.0.0.1:$PORT_BAD" 2>&1) && rc=0 || rc=$?
if [[ $out == *"Target:"* ]]; then fail "bad boot: discovery finds a target: $out"; else pass "bad boot: discovery finds no target (iscsi-ls exit $rc)"; fi
out=$(vm_run "ls $CF/iscsi 2>/dev/null | grep -c iqn") || true
check_eq "bad boot: no target in configfs" 0 "${out:-0}"
mounts=$(vm_run 'cat /proc/mounts') || true
check_eq "bad boot: no disk and no /sysroot mounted" "" "$(grep -E '^/dev/(vd|sd)|[[:space:]]/sysroot[[:space:]]' <<<"$mounts" || true)"
out=$(vm_run 'cat /proc/1/comm; test -e /etc/initrd-release && echo initrd') || true
check_eq "bad boot: still in the initramfs" $'init\ninitrd' "$out"
if vm_stop 'iscsi-target poweroff' 90; then pass "bad boot: iscsi-target poweroff powers the VM off"; else fail "bad boot: iscsi-target poweroff did not power off"; vm_dump_console 30; fi
check_eq "bad boot: its ext4 disk is byte-identical afterwards" "$bad_sum_before" "$(sha256sum <"$RUN_DIR/bad-ext4.img")"

finish
