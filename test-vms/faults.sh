#!/bin/bash
# test-vms/faults.sh BUILD_DIR — faults lose nothing: the initiator-chain pair (target VM exporting a disk
# from its systemd initramfs, diskless initiator VM booting it with dracut's iSCSI initiator) under a
# writer that appends and fsyncs one numbered 4 KiB record every 0.5 s (rootfs.sh, test.mode=writer),
# through four faults:
#   1. cable pulls of 30 s and 180 s (QMP set_link down on both NICs): records continue after plug-in,
#      no I/O error or read-only remount on the initiator;
#   2. target power loss (qemu killed) mid-write: the target exports dm-log-writes over its data disk, so
#      the host replays the log up to its last FLUSH/FUA onto the disk as it was at the target's start —
#      what a lost volatile cache would leave — and every record reported synced must be there, e2fsck
#      clean; the LUN shows its write cache (WCE) and SYNCHRONIZE CACHE reaches the disk (FLUSH entries).
#      The target boots again (new log): the initiator's session recovers by itself, records continue,
#      the LUN identity (VPD unit serial, wwid) is unchanged;
#   3. initiator hard reset mid-write: how long the dead session stays listed on the target; the new boot
#      logs in at once, one session only, numbering continues from the disk;
#   4. end: all synced records of all boots on the disk, numbered without gaps, e2fsck clean.
# The VMs' link is a qemu UDP socket pair on 127.0.0.1, so either VM can die and start again.
# The initiator uses the settings the generated ISO writes into iscsid.conf (tools/boot/boot_settings.cc):
# replacement_timeout 86400, no NOP-Outs.  The power cut keeps the data disk file as qemu left it (host page
# cache): the restarted target serves that, the replayed copy is what the check judges.
#
# Environment (besides lib.sh's VM_* variables):
#   FAULTS_PULLS ("30 180")   cable-pull lengths in seconds
#   FAULTS_RECOVERY_TIMEOUT (300)   seconds to wait for the next synced record after a fault ends
#   FAULTS_BOOT_TIMEOUT (600)       seconds for a boot to target ready / to the first synced record
# Exit status 0 only if every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 BUILD_DIR   (BUILD_DIR/tools/iscsi-target must exist)" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
BUILD_DIR=$(cd "$1" && pwd) || usage
BINDIR=$BUILD_DIR/tools

VM_WORKDIR="${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/initiator"
VM_QEMU_TIMEOUT=${VM_QEMU_TIMEOUT:-2400} # the target lives through several phases
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

read -r -a pulls <<<"${FAULTS_PULLS:-30 180}"
recovery_timeout=${FAULTS_RECOVERY_TIMEOUT:-300}
boot_timeout=${FAULTS_BOOT_TIMEOUT:-600} # TCG boots take 30-60 s on an idle host, minutes on a busy one

DATA_SERIAL=itgtdata
LOG_SERIAL=itgtlog
DM_NAME=itgtlog
IQN_T=iqn.2003-01.org.example.itgt:faults-target
IQN_I=iqn.2003-01.org.example.itgt:faults-initiator
CHAP_USER=faultsuser
CHAP_PASS=faultsecret12345
TARGET_ADDR=10.77.0.1
INITIATOR_ADDR=10.77.0.2
PROBLEM_RE='I/O error|Remounting filesystem read-only|EXT4-fs error|Buffer I/O error|rejecting I/O|ROOTFS: ERROR'

bash "$HERE/deps.sh"
lib_setup faults
timer_start total
[[ -x $BINDIR/iscsi-target ]] || die "$BINDIR/iscsi-target not found: build the tools first"
command -v dmsetup >/dev/null || die "dmsetup not found (Debian: dmsetup)"

# ── disks ─────────────────────────────────────────────────────────────────────────────────────────────
disk=$RUN_DIR/disk.img
"$HERE/rootfs.sh" "$disk" >"$RUN_DIR/rootfs.log" 2>&1 || { cat "$RUN_DIR/rootfs.log"; die "rootfs.sh failed"; }
root_uuid=$(blkid -o value -s UUID "$disk") || die "no filesystem UUID in $disk"
new_log() { rm -f "$1"; truncate -s 1G "$1"; } # sparse; the log grows by ≈ 5 blocks per record

# ── initramfs images ──────────────────────────────────────────────────────────────────────────────────
# Test-only: before iscsi-target starts, put dm-log-writes between the data disk and the target.
inc=$RUN_DIR/target-include
mkdir -p "$inc/etc/systemd/system/iscsi-target.service.d" "$inc/usr/sbin"
cat >"$inc/usr/sbin/itgt-logwrites" <<EOF
#!/bin/sh
# faults test: /dev/mapper/$DM_NAME = log-writes(data disk, log disk)
data=/dev/disk/by-id/virtio-$DATA_SERIAL log=/dev/disk/by-id/virtio-$LOG_SERIAL i=0
while [ ! -e \$data ] || [ ! -e \$log ]; do
    i=\$((i + 1)); [ \$i -lt 300 ] || { echo "itgt-logwrites: no \$data or \$log"; exit 1; }
    sleep 0.1
done
data=\$(readlink -f \$data) log=\$(readlink -f \$log)
modprobe dm_log_writes || exit 1
size=\$(cat /sys/class/block/\${data##*/}/size)
dmsetup --noudevrules --noudevsync create $DM_NAME --table "0 \$size log-writes \$data \$log" || exit 1
# Without dm's udev rules in the image nothing names the device: link it like udev would.
dmsetup --noudevrules mknodes $DM_NAME 2>/dev/null
for d in /sys/block/dm-*; do
    [ -e /dev/mapper/$DM_NAME ] || [ "\$(cat \$d/dm/name)" != $DM_NAME ] || { mkdir -p /dev/mapper; ln -s ../\${d##*/} /dev/mapper/$DM_NAME; }
done
[ -e /dev/mapper/$DM_NAME ] || { echo "itgt-logwrites: no /dev/mapper/$DM_NAME"; exit 1; }
echo "itgt-logwrites: /dev/mapper/$DM_NAME = log-writes \$data \$log (\$size sectors)"
EOF
chmod 0755 "$inc/usr/sbin/itgt-logwrites"
printf '[Service]\nExecStartPre=/usr/sbin/itgt-logwrites\n' >"$inc/etc/systemd/system/iscsi-target.service.d/logwrites.conf"
build_initramfs "$RUN_DIR/target.img" systemd --target-bindir "$BINDIR" \
    --drivers 'dm_mod dm_log_writes' --install /sbin/dmsetup --install /usr/bin/readlink --include "$inc" /
build_initramfs "$RUN_DIR/initiator.img" nosystemd --add-modules iscsi --drivers 'iscsi_tcp sd_mod'

# ── the link: a UDP socket pair on 127.0.0.1 (no connection to lose when a VM dies) ─────────────────────
read -r port_t port_i < <(python3 -c 'import socket
a, b = socket.socket(type=socket.SOCK_DGRAM), socket.socket(type=socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
net_t="socket,udp=127.0.0.1:$port_i,localaddr=127.0.0.1:$port_t"
net_i="socket,udp=127.0.0.1:$port_t,localaddr=127.0.0.1:$port_i"

# ── helpers ───────────────────────────────────────────────────────────────────────────────────────────
target_cmdline="console=ttyS0 net.ifnames=0 ip=$TARGET_ADDR:::255.255.255.0::eth0:off rd.neednet=1"
target_cmdline+=" rd.iscsi_target.dev=/dev/mapper/$DM_NAME rd.iscsi_target.iqn=$IQN_T"
target_cmdline+=" rd.iscsi.initiator=$IQN_I rd.iscsi.username=$CHAP_USER rd.iscsi.password=$CHAP_PASS"
target_cmdline+=" rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0"
target_boots=0
start_target() { # start_target LOGFILE — boot the target, wait for ready and a shell
    target_boots=$((target_boots + 1))
    vm_start target "$KERNEL" "$RUN_DIR/target.img" "$target_cmdline" \
        --disk "$disk,serial=$DATA_SERIAL,cache=writeback" --disk "$1,serial=$LOG_SERIAL,cache=writeback" \
        --net "$net_t"
    wait_target_ready "$boot_timeout"
    vm_wait_shell 60 || die "target: no shell on the console"
}

init_cmdline="console=ttyS0 net.ifnames=0 ip=$INITIATOR_ADDR:::255.255.255.0::eth0:off rd.neednet=1"
init_cmdline+=" netroot=iscsi:$CHAP_USER:$CHAP_PASS@$TARGET_ADDR::3260::$IQN_T rd.iscsi.initiator=$IQN_I"
init_cmdline+=" root=UUID=$root_uuid rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.shell=0 test.mode=writer"
# The generated ISO's iscsid.conf settings (tools/boot/boot_settings.cc: initiator_iscsid_conf).
init_cmdline+=" rd.iscsi.param=node.session.timeo.replacement_timeout=86400"
init_cmdline+=" rd.iscsi.param=node.conn[0].timeo.noop_out_interval=0 rd.iscsi.param=node.conn[0].timeo.noop_out_timeout=0"
init_boots=0
start_initiator() { # boot the initiator with a new token; waits for its first synced record
    init_boots=$((init_boots + 1))
    [[ -f $RUN_DIR/vm-initiator/console.log ]] && cp "$RUN_DIR/vm-initiator/console.log" "$RUN_DIR/initiator-boot$((init_boots - 1)).log"
    vm_start initiator "$KERNEL" "$RUN_DIR/initiator.img" "$init_cmdline test.token=boot$init_boots" --net "$net_i"
    local rc=0
    vm_wait_for '^ROOTFS: synced [0-9]+|ROOTFS: ERROR|Entering emergency mode|Kernel panic|Could not boot' "$boot_timeout" || rc=$?
    if ((rc != 0)) || [[ $VM_MATCH != "ROOTFS: synced"* ]]; then
        vm_dump_console 60
        die "initiator boot $init_boots: no first synced record (${VM_MATCH:-rc $rc})"
    fi
}
# All consoles of the initiator so far (earlier boots are saved by start_initiator).
init_consoles() {
    local f
    for f in "$RUN_DIR"/initiator-boot*.log "$RUN_DIR/vm-initiator/console.log"; do
        [[ -f $f ]] && tr -d '\r' <"$f"
    done
    return 0
}
last_synced() { { init_consoles | grep -a -oE '^ROOTFS: synced [0-9]+' || true; } | tail -n1 | awk '{print $3}'; }
console_size() { stat -c %s "$RUN_DIR/vm-$1/console.log"; }
check_no_problems() { # check_no_problems LABEL OFFSET — the initiator console from OFFSET is free of problems
    local hits
    hits=$(VM=initiator vm_console_since "$2" | grep -a -E "$PROBLEM_RE" | head -n 5 || true)
    if [[ -z $hits ]]; then pass "$1: no I/O error, read-only remount or writer error on the initiator"
    else fail "$1: initiator console: $hits"; fi
}
# Waits for the next synced record on the initiator (from the current mark); prints its number.
next_synced() { # next_synced TIMEOUT
    VM=initiator vm_wait_for '^ROOTFS: synced [0-9]+' "$1" || return 1
    echo "${VM_MATCH##* }"
}
declare -a SUMMARY=()
summary() { SUMMARY+=("$(printf '%-34s %-26s %s' "$1" "$2" "$3")"); }
records_of() { # records_of IMAGE — runs faults_disk.py records on /records of IMAGE; sets R_* variables
    local f=$RUN_DIR/records.$$ k v
    debugfs -R 'cat /records' "$1" >"$f" 2>/dev/null || true
    while IFS='=' read -r k v; do printf -v "R_$k" '%s' "$v"; done < <(python3 "$HERE/faults_disk.py" records "$f")
    rm -f "$f"
}

# ── start: target (dm-log-writes log 1), initiator ────────────────────────────────────────────────────
base=$RUN_DIR/disk-at-target-start.img
cp --sparse=always "$disk" "$base"
log1=$RUN_DIR/log1.img
new_log "$log1"
timer_start target-boot
start_target "$log1"
timer_end target-boot
tstatus=$(vm_run -t 30 'iscsi-target status; cat /sys/block/vda/queue/write_cache /sys/block/dm-0/queue/write_cache' || true)
printf '%s\n' "$tstatus" | sed 's/^/    /'
serial_t1=$(grep -oE 'serial [^ ]+' <<<"$tstatus" | head -n1 || true)
check_match "target: exports /dev/mapper/$DM_NAME" "LUN 0 +/dev/(mapper/$DM_NAME|dm-0) " "$tstatus"
check_match "target: the data disk has a volatile write cache (virtio, cache=writeback)" $'write back\nwrite back' "$tstatus"

timer_start initiator-boot-to-first-record
start_initiator
timer_end initiator-boot-to-first-record
lun1=$(init_consoles | grep -a -m1 '^ROOTFS: lun ' || true)
info "initiator boot 1: $lun1"
check_match "initiator: the LUN reports its write cache (MODE SENSE caching page WCE=1)" ' cache write back' "$lun1"
check_match "initiator: iscsid runs in the booted root (it recovers sessions)" '^ROOTFS: iscsid pid [0-9]+' \
    "$(init_consoles | grep -a -m1 '^ROOTFS: iscsid pid' || true)"

# ── phase 1: cable pulls ──────────────────────────────────────────────────────────────────────────────
for secs in "${pulls[@]}"; do
    vm_use initiator
    off=$(console_size initiator)
    vm_mark
    next_synced 60 >/dev/null || fail "pull ${secs}s: no record before the pull"
    VM=target vm_qmp set_link '{"name": "n0", "up": false}' >/dev/null || die "set_link down on the target failed"
    VM=initiator vm_qmp set_link '{"name": "n0", "up": false}' >/dev/null || die "set_link down on the initiator failed"
    before=$(last_synced) # read once the cable is out: the VMs run on while QMP answers
    info "cable pulled for ${secs}s after record $before"
    sleep "$secs"
    during=$(last_synced)
    vm_mark
    VM=target vm_qmp set_link '{"name": "n0", "up": true}' >/dev/null || die "set_link up on the target failed"
    VM=initiator vm_qmp set_link '{"name": "n0", "up": true}' >/dev/null || die "set_link up on the initiator failed"
    timer_start "pull-${secs}s-plug-in-to-next-record"
    if next=$(next_synced "$recovery_timeout"); then
        timer_end "pull-${secs}s-plug-in-to-next-record"
        pass "pull ${secs}s: records continue after plug-in (last before $before, during $during, next $next)"
        summary "cable pulled ${secs}s" "${LIB_TIMES[-1]#* } after plug-in" "before $before, next $next"
    else
        fail "pull ${secs}s: no synced record within ${recovery_timeout}s of plug-in (last $during)"
        vm_dump_console 60
        summary "cable pulled ${secs}s" "no recovery" "last $during"
    fi
    # During the pull at most the record already in flight may complete.
    check_match "pull ${secs}s: no record synced while the cable was out" "^($before|$((before + 1)))\$" "$during"
    check_no_problems "pull ${secs}s" "$off"
done

# ── phase 2: target power loss ────────────────────────────────────────────────────────────────────────
vm_use initiator
off=$(console_size initiator)
vm_mark
next_synced 60 >/dev/null || fail "power loss: no record before the cut"
sleep 0.3 # mid-write: the next record is being written
VM=target vm_kill
timer_start power-loss-to-next-record
sleep 2 # a synced line still on its way was acknowledged before the cut
synced_cut=$(last_synced)
VM=initiator vm_mark
info "target power cut after record $synced_cut was reported synced"
cp "$RUN_DIR/vm-target/console.log" "$RUN_DIR/target-boot1.log"
# What reached the target's disk including its (lost) cache: qemu's disk file as the cut left it.
written=$RUN_DIR/disk-at-cut.img
cp --sparse=always "$disk" "$written"
e2fsck -fy "$written" >/dev/null 2>&1 || true
records_of "$written"
written_cut=${R_last:-0}
rm -f "$written"

replayed=$RUN_DIR/disk-replayed.img
cp --sparse=always "$base" "$replayed"
declare -A L=()
while IFS='=' read -r k v; do L[$k]=$v; done < <(python3 "$HERE/faults_disk.py" replay "$log1" "$replayed")
info "log 1: ${L[entries]:-?} entries (${L[writes]:-?} writes, ${L[flushes]:-?} FLUSH, ${L[fua]:-?} FUA), replayed ${L[replayed]:-?}"
check_match "power loss: SYNCHRONIZE CACHE reaches the disk (FLUSH entries in the log)" '^[1-9][0-9]*$' "${L[flushes]:-0}"
rc=0
e2fsck -fy "$replayed" >"$RUN_DIR/e2fsck-replayed.log" 2>&1 || rc=$?
check_match "power loss: e2fsck -fy on the replayed disk (journal replay) exits 0 or 1" '^[01]$' "$rc"
((rc == 1)) && info "e2fsck -fy said: $(grep -v '^Pass\|^e2fsck\|^$' "$RUN_DIR/e2fsck-replayed.log" | head -n 5 | tr '\n' ' ')"
check "power loss: e2fsck -fn is clean after the journal replay" e2fsck -fn "$replayed"
records_of "$replayed"
info "replayed disk: ${R_valid:-0} valid records ${R_first:-0}..${R_last:-0}, ${R_invalid:-?} invalid lines, ${R_gaps:-?} gaps"
check_eq "power loss: the replayed disk's records are intact and numbered without gaps" "0 0" "${R_invalid:-x} ${R_gaps:-x}"
if [[ -n $synced_cut && ${R_last:-0} -ge $synced_cut && ${R_first:-0} == 1 ]]; then
    pass "power loss: all $synced_cut synced records survive the lost cache (found ${R_valid:-0}, last ${R_last:-0})"
else
    fail "power loss: synced up to ${synced_cut:-?}, the replayed disk holds ${R_first:-0}..${R_last:-0}"
fi
found_cut="written $written_cut, ${R_valid:-0} found"

log2=$RUN_DIR/log2.img
new_log "$log2"
timer_start target-reboot
start_target "$log2"
timer_end target-reboot
tstatus2=$(vm_run -t 30 'iscsi-target status' || true)
serial_t2=$(grep -oE 'serial [^ ]+' <<<"$tstatus2" | head -n1 || true)
check_eq "power loss: the target's LUN serial is unchanged after the reboot" "$serial_t1" "$serial_t2"
vm_use initiator
if next=$(next_synced "$recovery_timeout"); then
    timer_end power-loss-to-next-record
    check_match "power loss: the initiator's session recovered by itself, records continue after $synced_cut" \
        "^($((synced_cut + 1))|$((synced_cut + 2)))\$" "$next"
    summary "target power loss + reboot" "${LIB_TIMES[-1]#* } cut to next record" "synced $synced_cut, $found_cut"
else
    fail "power loss: no synced record within ${recovery_timeout}s of the target's reboot"
    vm_dump_console 60
    summary "target power loss + reboot" "no recovery" "synced $synced_cut, $found_cut"
fi
check_no_problems "power loss" "$off"

# ── phase 3: initiator hard reset ─────────────────────────────────────────────────────────────────────
vm_use initiator
vm_mark
next_synced 60 >/dev/null || fail "initiator reset: no record before the reset"
sleep 0.3
vm_kill
synced_reset=$(last_synced)
info "initiator killed after record $synced_reset was reported synced"
vm_use target
timer_start dead-session-listed
gone=0
for ((i = 0; i < 60; i++)); do
    st=$(vm_run -t 30 'iscsi-target status' || true)
    if [[ $st == *"initiator $IQN_I  [not logged in]"* ]]; then gone=1; break; fi
    sleep 2
done
timer_end dead-session-listed
dead_secs=${LIB_TIMES[-1]#* }
acl=/sys/kernel/config/target/iscsi/$IQN_T/tpgt_1/acls/$IQN_I
nopin=$(vm_run -t 30 "echo \$(cat $acl/attrib/nopin_timeout $acl/attrib/nopin_response_timeout)" || true)
info "LIO NOP-In settings of the ACL (nopin_timeout nopin_response_timeout, seconds): $nopin"
if ((gone)); then pass "initiator reset: the dead session left the target's status after $dead_secs"
else fail "initiator reset: the dead session was still listed after $dead_secs"; fi

timer_start initiator-reset-start-to-first-record
start_initiator
timer_end initiator-reset-start-to-first-record
summary "initiator hard reset" "${LIB_TIMES[-1]#* } start to record" "synced $synced_reset, dead session ${dead_secs}"
resumed=$(vm_console_since 0 | grep -a -m1 '^ROOTFS: writer starts after record' || true)
check_match "initiator reset: the new boot numbers on from the disk (synced $synced_reset)" \
    "after record ($synced_reset|$((synced_reset + 1)))\$" "$resumed"
lun3=$(vm_console_since 0 | grep -a -m1 '^ROOTFS: lun ' || true)
info "initiator boot 2: $lun3"
check_eq "target reboot: the LUN identity (wwid, VPD unit serial) the initiator sees is unchanged" \
    "${lun1#*wwid }" "${lun3#*wwid }"
sessions=$(VM=target vm_run -t 30 "grep -c 'LIO Session ID' $acl/info" || true)
check_eq "initiator reset: the target lists one session for the initiator" 1 "$sessions"

# ── phase 4: end ──────────────────────────────────────────────────────────────────────────────────────
off=$(console_size initiator)
vm_use initiator
vm_mark
next_synced 60 >/dev/null || fail "end: no record after the reset"
next_synced 60 >/dev/null || true
vm_kill
synced_end=$(last_synced)
check_no_problems "initiator boot 2" 0
vm_use target
timer_start target-poweroff
if vm_stop "systemctl poweroff" 120; then pass "target: 'systemctl poweroff' powered it off"
else fail "target: still running 120s after 'systemctl poweroff', killed"; fi
timer_end target-poweroff
rc=0
e2fsck -fy "$disk" >"$RUN_DIR/e2fsck-final.log" 2>&1 || rc=$?
check_match "end: e2fsck -fy on the disk (journal replay after the initiator's kill) exits 0 or 1" '^[01]$' "$rc"
check "end: e2fsck -fn is clean" e2fsck -fn "$disk"
records_of "$disk"
info "final disk: ${R_valid:-0} valid records ${R_first:-0}..${R_last:-0} (${R_tokens:-}), ${R_invalid:-?} invalid, ${R_gaps:-?} gaps"
check_eq "end: all records intact and numbered without gaps" "0 0 1" "${R_invalid:-x} ${R_gaps:-x} ${R_first:-x}"
if [[ -n $synced_end && ${R_last:-0} -ge $synced_end ]]; then
    pass "end: every synced record of every boot is on the disk (synced up to $synced_end, last ${R_last:-0})"
else
    fail "end: synced up to ${synced_end:-?}, the disk ends at ${R_last:-0}"
fi
summary "end (all boots)" "-" "synced $synced_end, ${R_valid:-0} found, ${R_gaps:-?} gaps"

echo "---- faults: fault → recovery → records ----"
printf '%-34s %-26s %s\n' "fault" "recovery" "records"
printf '%s\n' "${SUMMARY[@]}"
timer_end total
finish
