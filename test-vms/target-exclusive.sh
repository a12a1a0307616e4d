#!/bin/bash
# test-vms/target-exclusive.sh BUILD_DIR — a second computer never gets the disk while one uses it.
#
# One target VM (no systemd) exporting one disk with CHAP, reachable from the host through two user-mode NICs:
# port A (guest eth0, the host appears as 10.0.2.2) is "computer A", port B (guest eth1, the host appears as
# 10.0.3.2) is "computer B". Both present the same initiator IQN and CHAP secret, as two copies of the ISO
# would. Checks:
#   - while A holds a session (qemu-io: write, sleep, write), B cannot log in (libiscsi and the login probe),
#     and A's second write, after B's tries, still succeeds: A's session was never dropped;
#   - the target's console names A's address and MAC when the lock is taken and released;
#   - A's session hanging (its process stopped, its TCP connection open) and A logging in again from the
#     same address works at once (a rebooted computer reinstating its session);
#   - once A has logged out, B can log in;
#   - the data A wrote is on the disk.
# BUILD_DIR holds tools/iscsi-target.  Environment: see lib.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

target_test_setup target-exclusive "${1:-}"

TGT=iqn.2024-01.org.example.itgt:exclusive
I1=iqn.2024-01.org.example.host:laptop
CHAP_USER=itgtuser
CHAP_PASS=ExclusiveSecret24

truncate -s 16M "$RUN_DIR/disk.img"
build_initramfs "$RUN_DIR/initrd.img" nosystemd --target-bindir "$BUILD/tools"

PORT_A=$(free_port)
PORT_B=$(free_port)
while [[ $PORT_B == "$PORT_A" ]]; do PORT_B=$(free_port); done
# Port B's address is set by the target itself (rd.iscsi_target.address, as the boot entry does), port A's by
# dracut's ip=; eth2 is a third link, unconfigured, for the duplicate address check at the end.
CMDLINE="console=ttyS0 net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1"
CMDLINE+=" rd.iscsi_target.address=10.0.3.15/24 rd.iscsi_target.interface=eth1 rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0"
CMDLINE+=" rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-excl rd.iscsi_target.iqn=$TGT rd.iscsi.initiator=$I1"
CMDLINE+=" rd.iscsi.username=$CHAP_USER rd.iscsi.password=$CHAP_PASS"
timer_start boot-to-ready
vm_start target "$KERNEL" "$RUN_DIR/initrd.img" "$CMDLINE" \
    --disk "$RUN_DIR/disk.img,serial=itgt-excl" \
    --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$PORT_A-:3260" \
    --net "user,restrict=on,net=10.0.3.0/24,hostfwd=tcp:127.0.0.1:$PORT_B-:3260" \
    --net "user,restrict=on,net=10.0.4.0/24"
wait_target_ready 300
check_match "port B's address was set by the target itself" 'iscsi-target: cable address 10.0.3.15/24 on eth1, no other host has it' \
    "$(vm_console_since 0)"
timer_end boot-to-ready

url() { echo "iscsi://$CHAP_USER%$CHAP_PASS@127.0.0.1:$1/$TGT/0"; }
image_opts() { echo "driver=iscsi,transport=tcp,portal=127.0.0.1:$1,target=$TGT,lun=0,user=$CHAP_USER,password-secret=chap0,initiator-name=$I1"; }
# The lock is taken within the guard's 0.2 s poll; the console line says so.
wait_console() { # REGEX TIMEOUT
    vm_wait_for "$1" "$2" && return 0
    return 1
}

# Both ports answer while nobody is logged in.
check "before any session: a login through port A works" timeout 60 iscsi-inq -i "$I1" "$(url "$PORT_A")"
check "before any session: a login through port B works" timeout 60 iscsi-inq -i "$I1" "$(url "$PORT_B")"

# ── A holds the disk ──────────────────────────────────────────────────────────────────────────────────────
vm_mark
qemu-io --object "secret,id=chap0,data=$CHAP_PASS" --image-opts "$(image_opts "$PORT_A")" \
    -c 'write -P 0xa1 0 64k' -c 'sleep 40000' -c 'write -P 0xa2 64k 64k' >"$RUN_DIR/qemu-io-a.log" 2>&1 &
holder=$!
at_exit "kill $holder 2>/dev/null"
# A's login itself can take half a minute when the suite's other VMs load the host (seen in a CI run); B's tries
# below start only once A holds the disk, well within A's 40 s hold.
if wait_console 'iscsi-target: disk in use by 10\.0\.2\.2' 120; then
    pass "target console: ${VM_MATCH#*iscsi-target: }"
    check_match "the lock names A's MAC and interface" '10\.0\.2\.2 \(52:55:0a:00:02:02 on eth0\)' "$VM_MATCH"
else
    fail "no 'disk in use by 10.0.2.2' on the target console"
    vm_dump_console 30
fi

timer_start second-computer-refused
if timeout 15 iscsi-inq -i "$I1" "$(url "$PORT_B")" >"$RUN_DIR/b-inq.log" 2>&1; then
    fail "computer B logged in (iscsi-inq) while A held the disk"
else
    pass "computer B cannot log in while A holds the disk (iscsi-inq: $(tr '\n' ' ' <"$RUN_DIR/b-inq.log" | cut -c1-120))"
fi
out=$(python3 "$PROBE" 127.0.0.1 "$PORT_B" "$TGT" "$I1" --user "$CHAP_USER" --password "$CHAP_PASS" --timeout 10 2>&1) && rc=0 || rc=$?
check_eq "computer B gets no login answer at all (probe: ${out##*RESULT: })" 3 "$rc"
timer_end second-computer-refused

if wait "$holder"; then
    pass "A's second write, after B's tries, succeeded: its session was never dropped"
else
    fail "A's qemu-io failed: $(cat "$RUN_DIR/qemu-io-a.log")"
fi
if grep -q 'wrote 65536/65536 bytes at offset 65536' "$RUN_DIR/qemu-io-a.log"; then
    pass "qemu-io reports A's second write"
else
    fail "qemu-io did not report A's second write: $(cat "$RUN_DIR/qemu-io-a.log")"
fi
if wait_console 'iscsi-target: 10\.0\.2\.2 logged out' 30; then
    pass "target console: ${VM_MATCH#*iscsi-target: }"
else
    fail "no 'logged out' line after A's logout"
fi

# ── A hangs and comes back from the same address (a reboot) ─────────────────────────────────────────────────
qemu-io --object "secret,id=chap0,data=$CHAP_PASS" --image-opts "$(image_opts "$PORT_A")" \
    -c 'sleep 120000' >"$RUN_DIR/qemu-io-hung.log" 2>&1 &
hung=$!
at_exit "kill -9 $hung 2>/dev/null"
wait_console 'iscsi-target: disk in use by 10\.0\.2\.2' 30 || true
kill -STOP "$hung"
timer_start same-computer-back
if timeout 30 qemu-io --object "secret,id=chap0,data=$CHAP_PASS" --image-opts "$(image_opts "$PORT_A")" \
    -c 'read -P 0xa1 0 64k' -c 'read -P 0xa2 64k 64k' >"$RUN_DIR/qemu-io-back.log" 2>&1; then
    pass "A logs in again at once beside its hung session, and reads back both patterns"
else
    fail "A could not come back: $(cat "$RUN_DIR/qemu-io-back.log")"
fi
timer_end same-computer-back
kill -9 "$hung" 2>/dev/null || true
wait "$hung" 2>/dev/null || true

# ── A gone: B may log in ──────────────────────────────────────────────────────────────────────────────────
timer_start lock-released
ok=0
for _ in $(seq 1 30); do
    if timeout 20 iscsi-inq -i "$I1" "$(url "$PORT_B")" >"$RUN_DIR/b-after.log" 2>&1; then ok=1; break; fi
    sleep 1
done
timer_end lock-released
if ((ok)); then pass "after A's sessions ended, computer B logs in"; else fail "B still cannot log in: $(cat "$RUN_DIR/b-after.log")"; fi

# The guard's rules are gone once nobody is logged in; none are left behind at poweroff.
if vm_wait_shell 60; then
    rules=$(vm_run 'ip rule show') || true
    info "ip rule show: ${rules//$'\n'/ | }"
    if grep -qE '^100[01]:' <<<"$rules"; then fail "guard rules left while nobody is logged in: $rules"; else pass "no guard rule left while nobody is logged in"; fi
    # The wrong network: on eth2 slirp's gateway already has 10.0.4.2, so the ARP probe finds it. One line, no
    # address set, nothing exported.
    out=$(vm_run -t 120 'iscsi-target stop >/dev/null 2>&1; iscsi-target start --cmdline "$(cat /proc/cmdline) rd.iscsi_target.address=10.0.4.2/24 rd.iscsi_target.interface=eth2"; echo "rc=$?"
        echo "eth2: $(ip -4 -o addr show dev eth2 | grep -c inet) IPv4 address(es)"; ls /sys/kernel/config/target/iscsi | grep -c "^iqn" | sed "s/^/targets: /"') || true
    info "start on an address in use: ${out//$'\n'/ | }"
    check_match "an address in use on the cable: one error line naming key, value and the other host's MAC" \
        'iscsi-target: error: rd\.iscsi_target\.address=10\.0\.4\.2/24 on eth2: the address is in use by 52:55:[0-9a-f:]+ on this link \(wrong network\?\); not set' "$out"
    check_match "an address in use: start fails" 'rc=1' "$out"
    check_match "an address in use: not set on eth2" 'eth2: 0 IPv4 address' "$out"
    check_match "an address in use: nothing exported" 'targets: 0' "$out"
    vm_stop 'iscsi-target poweroff' 60 || fail "iscsi-target poweroff did not power off"
else
    fail "no operator shell"
    vm_dump_console 40
fi

# The disk holds what A wrote.
check "disk: A's first 64 KiB pattern" cmp -n 65536 "$RUN_DIR/disk.img" <(head -c 65536 /dev/zero | tr '\0' '\241')
check "disk: A's second 64 KiB pattern" cmp -i 65536:0 -n 65536 "$RUN_DIR/disk.img" <(head -c 65536 /dev/zero | tr '\0' '\242')
finish
