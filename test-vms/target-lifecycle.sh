#!/bin/bash
# test-vms/target-lifecycle.sh BUILD_DIR — the target's life cycle against real LIO, in one nosystemd VM that
# boots into target mode with CHAP and three disks (16, 24 and 8 MiB); the host checks with libiscsi.
#
#   1. Killed mid-start: `iscsi-target start` is sent SIGKILL or SIGTERM after a delay spread over the
#      measured duration of a start (ROUNDS rounds, default 12), then LATE_ROUNDS (6) aimed at the part of it
#      that writes configfs. After each kill configfs holds either nothing of ours, or the complete target,
#      or a partial one whose TPG is not enabled — and from the host a login either fails or finds all three
#      LUNs with their sizes, and discovery lists the target only when complete (never a half-configured
#      target that serves).
#      What a kill left is cleared by the next `start` (which then serves the complete target) or `stop`.
#   2. save / restore: every readable attribute of our target and backstores is dumped before `save` + `stop`
#      and after `restore`, and the two dumps must be identical; the host sees the same LUNs, sizes and VPD
#      unit serials. A saved file whose last backstore names a missing device: `restore` fails with one error
#      line naming it and leaves nothing of ours in configfs; a good restore works again.
#   3. `start` while serving refuses (one error line, nothing changed); `stop` twice: the second exits 0.
# BUILD_DIR holds tools/iscsi-target.  Environment: see lib.sh; ROUNDS, LATE_ROUNDS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

target_test_setup target-lifecycle "${1:-}"

TGT=iqn.2024-01.org.example.itgt:lifecycle
I1=iqn.2024-01.org.example.host:one
CHAP_USER=itgtuser
CHAP_PASS=ItgtSecret2024x
ROUNDS=${ROUNDS:-12} LATE_ROUNDS=${LATE_ROUNDS:-6}
declare -a LUN_SIZES=($((16 << 20)) $((24 << 20)) $((8 << 20)))

for i in 0 1 2; do truncate -s "${LUN_SIZES[i]}" "$RUN_DIR/disk$i.img"; done

# Helpers typed into the guest would be long; they go into the initramfs instead.
mkdir -p "$RUN_DIR/guest"
# lc-state IQN: one line describing what of ours is in configfs.
cat >"$RUN_DIR/guest/lc-state" <<'EOF'
#!/bin/bash
shopt -s nullglob
cf=/sys/kernel/config/target t=/sys/kernel/config/target/iscsi/$1/tpgt_1
links() { local n=0 f; for f in "$@"; do [[ -L $f ]] && n=$((n + 1)); done; echo $n; }
hba=("$cf"/core/*_[0-9]*/) so=("$cf"/core/*_[0-9]*/*/) np=("$t"/np/*/) acls=("$t"/acls/*/)
luns=$(links "$t"/lun/lun_*/*) mapped=$(links "$t"/acls/*/lun_*/*)
tg=0; [[ -d $cf/iscsi/$1 ]] && tg=1
en=-; [[ -f $t/enable ]] && en=$(<"$t/enable")
echo "hba=${#hba[@]} so=${#so[@]} target=$tg luns=$luns np=${#np[@]} acls=${#acls[@]} mapped=$mapped enable=$en"
EOF
# lc-dump IQN: "path = content" for every readable attribute of our target and backstores (newlines as \n);
# what it leaves out goes to stderr as "skip REASON path": write-only files (control), statistics (I/O and
# login counters that change by themselves), hba_info (its "HBA Index" is a kernel-wide counter).
cat >"$RUN_DIR/guest/lc-dump" <<'EOF'
#!/bin/bash
cf=/sys/kernel/config/target
dirs=("$cf/iscsi/$1" "$cf"/core/*_[0-9]*)
find "${dirs[@]}" -type f ! -perm /444 -printf 'skip write-only %p\n' | sort >&2
find "${dirs[@]}" -type f -perm /444 | sort | while read -r f; do
    case $f in
    */statistics/* | */fabric_statistics/*) echo "skip statistics $f" >&2; continue ;;  # I/O, login counters
    */hba_info) echo "skip hba-id $f" >&2; continue ;;          # "HBA Index: N": a kernel-wide counter
    esac
    # cat -v: every byte visible (a NUL as ^@); the x keeps trailing newlines.
    if ! c=$(cat -v "$f" 2>/dev/null && echo x); then echo "skip unreadable $f" >&2; continue; fi
    c=${c%x}
    case $f in */password*) c="cksum $(cksum <"$f")" ;; esac
    printf '%s = %s\n' "${f#"$cf"/}" "${c//$'\n'/\\n}"
done
EOF
chmod 755 "$RUN_DIR/guest/lc-state" "$RUN_DIR/guest/lc-dump"

build_initramfs "$RUN_DIR/initrd.img" nosystemd --target-bindir "$BUILD/tools" \
    --install "/usr/bin/find /usr/bin/diff /usr/bin/sleep /usr/bin/sed /usr/bin/sort /usr/bin/cksum /usr/bin/grep" \
    --include "$RUN_DIR/guest/lc-state" /usr/bin/lc-state --include "$RUN_DIR/guest/lc-dump" /usr/bin/lc-dump

PORT=$(free_port)
CMDLINE="console=ttyS0 net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1"
CMDLINE+=" rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.iscsi_target.iqn=$TGT rd.iscsi.initiator=$I1"
for i in 0 1 2; do CMDLINE+=" rd.iscsi_target.dev=/dev/disk/by-id/virtio-itgt-lc$i"; done
CMDLINE+=" rd.iscsi.username=$CHAP_USER rd.iscsi.password=$CHAP_PASS"

timer_start boot-to-ready
vm_start lc "$KERNEL" "$RUN_DIR/initrd.img" "$CMDLINE" \
    --disk "$RUN_DIR/disk0.img,serial=itgt-lc0" --disk "$RUN_DIR/disk1.img,serial=itgt-lc1" \
    --disk "$RUN_DIR/disk2.img,serial=itgt-lc2" \
    --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:3260"
wait_target_ready 300
timer_end boot-to-ready
vm_wait_shell 60 || die "no operator shell"
vm_run 'CL=$(cat /proc/cmdline); cd /run' >/dev/null || die "the guest shell does not answer"

url() { echo "iscsi://$CHAP_USER%$CHAP_PASS@127.0.0.1:$PORT/$TGT/$1"; }
STATE_CLEAN="hba=0 so=0 target=0 luns=0 np=0 acls=0 mapped=0 enable=-"
STATE_COMPLETE="hba=3 so=3 target=1 luns=3 np=1 acls=1 mapped=3 enable=1"
state() { vm_run 'lc-state '"$TGT"; }

# libiscsi waits forever for a login answer; `timeout` keeps a port that accepts and never answers from
# hanging the test. What the host sees: "complete" (every LUN logs in with its size), "refused" (no LUN logs in) or
# "partial: …" (anything else: a half-configured target that serves).
host_view() {
    local lun out size got=() ok=0 none=0
    for lun in 0 1 2; do
        out=$(timeout 30 iscsi-readcapacity16 -i "$I1" "$(url "$lun")" 2>&1) || true
        size=$(sed -n 's/^Total size:\([0-9]*\)$/\1/p' <<<"$out")
        got+=("${size:-none}")
        [[ $size == "${LUN_SIZES[lun]}" ]] && ok=$((ok + 1))
        [[ -z $size ]] && none=$((none + 1))
    done
    if ((ok == 3)); then echo complete; elif ((none == 3)); then echo refused; else echo "partial: sizes ${got[*]}"; fi
}

# Whether discovery (SendTargets, unauthenticated) lists the target.
listed() { if [[ $(timeout 30 iscsi-ls "iscsi://127.0.0.1:$PORT" 2>&1) == *"Target:$TGT "* ]]; then echo listed; else echo unlisted; fi; }

unit_serial() {
    timeout 30 iscsi-inq -i "$I1" -e 1 -c 128 "$(url "$1")" 2>&1 | sed -n -E 's/^Unit Serial Number:[[:space:]]*\[?([^]]*)\]?$/\1/p'
}

check_eq "boot: configfs holds the complete target" "$STATE_COMPLETE" "$(state)"
check_eq "boot: the host logs in with CHAP and sees 3 LUNs of 16/24/8 MiB" complete "$(host_view)"
check_eq "boot: discovery lists the target" listed "$(listed)"

# ── 3a. start while serving refuses ─────────────────────────────────────────────────────────────────────
out=$(vm_run -t 90 'iscsi-target start --cmdline "$CL" </dev/null') && rc=0 || rc=$?
info "start while serving (exit $rc): ${out//$'\n'/ | }"
check_eq "start while serving: exit status 1" 1 "$rc"
check_eq "start while serving: one error line" 1 "$(grep -c '^iscsi-target: error:' <<<"$out" || true)"
check_match "start while serving: the error says it is already serving" "target $TGT is already serving" "$out"
check_eq "start while serving: configfs unchanged" "$STATE_COMPLETE" "$(state)"
check_eq "start while serving: the host still sees the complete target" complete "$(host_view)"

# ── 1. killed mid-start ────────────────────────────────────────────────────────────────────────────────
out=$(vm_run -t 90 'iscsi-target stop') && rc=0 || rc=$?
check_eq "stop before the kill rounds: exit 0" 0 "$rc"
check_eq "stop: nothing of ours left in configfs" "$STATE_CLEAN" "$(state)"
check_eq "stop: the host cannot log in" refused "$(host_view)"

# Duration of a start with the modules loaded and the devices present, as the shell sees it (fork + exec
# included, as in the rounds): 3 starts, each followed by a stop.
out=$(vm_run -t 120 'for i in 1 2 3; do s=$EPOCHREALTIME; iscsi-target start --cmdline "$CL" </dev/null >/dev/null 2>&1
    rc=$? e=$EPOCHREALTIME; echo "took $s $e $rc"; iscsi-target stop >/dev/null 2>&1; done') || true
mapfile -t took < <(awk '$1 == "took" && $4 == 0 { printf "%.3f\n", $3 - $2 }' <<<"$out")
((${#took[@]} == 3)) || die "could not time 3 starts: $out"
START_SECS=$(printf '%s\n' "${took[@]}" | sort -n | head -1)  # the fastest: other VMs may slow some down
info "start durations: ${took[*]} s; kill delays spread over 0..$START_SECS s"
timer_start kill-rounds
declare -a SUMMARY=()
partials=0 last_clean=0 first_complete=$START_SECS
for ((r = 0; r < ROUNDS + LATE_ROUNDS; r++)); do
    sig=KILL; ((r % 3 == 2)) && sig=TERM
    # Stratified: round r < ROUNDS picks a random point in the r-th of ROUNDS equal slices of 0..START_SECS.
    # The LATE_ROUNDS after them aim at configfs being written, the last ~15 % of a start: between the latest
    # delay that left nothing and the earliest that left the complete target (in either order: timings vary
    # when other VMs load the host), stratified again.
    delay=$(awk -v s="$START_SECS" -v r="$r" -v n="$ROUNDS" -v l="$LATE_ROUNDS" -v u="$((SRANDOM % 1000))" \
        -v a="$last_clean" -v b="$first_complete" 'BEGIN {
        if (r < n) { printf "%.3f", s * (r + u / 1000) / n; exit }
        lo = a < b ? a : b; hi = a < b ? b : a
        if (hi - lo < 0.1 * s) { lo -= 0.05 * s; hi += 0.05 * s; if (lo < 0) lo = 0 }
        printf "%.3f", lo + (hi - lo) * (r - n + u / 1000) / l }')
    out=$(vm_run -t 90 'iscsi-target start --cmdline "$CL" </dev/null >/run/k.out 2>&1 & p=$!; sleep '"$delay"'; kill -'"$sig"' $p
        wait $p; echo "rc=$?"') || true
    rc=$(sed -n 's/^rc=//p' <<<"$out" | tail -1)
    st=$(state) || true
    seen=$(host_view)
    disc=$(listed)
    how=killed
    [[ $rc == 0 ]] && how=finished
    if [[ $st == "$STATE_CLEAN" ]]; then
        outcome=clean
    elif [[ $st == "$STATE_COMPLETE" ]]; then
        outcome=complete
    else
        outcome=partial
    fi
    if ((r < ROUNDS)); then
        if [[ $outcome == clean ]] && awk -v d="$delay" -v c="$last_clean" 'BEGIN { exit !(d > c) }'; then last_clean=$delay; fi
        if [[ $outcome == complete ]] && awk -v d="$delay" -v c="$first_complete" 'BEGIN { exit !(d < c) }'; then
            first_complete=$delay
        fi
    fi
    line="round $r: SIG$sig after ${delay} s, start $how (exit $rc): $outcome [$st]; host: $seen, $disc"
    info "$line"
    echo "$line" >>"$RUN_DIR/kill-rounds.log"
    case $outcome in
    complete) check_eq "round $r: complete target, the host sees all LUNs" complete "$seen" ;;
    clean | partial) check_eq "round $r: $outcome, the host cannot log in" refused "$seen"
        check_eq "round $r: $outcome, discovery does not list the target" unlisted "$disc" ;;
    esac
    if [[ $outcome == partial ]]; then
        check_match "round $r: a partial target is not enabled" 'enable=[-0]$' "$st"
        vm_run 'find /sys/kernel/config/target/iscsi /sys/kernel/config/target/core \( -type d -o -type l \) 2>/dev/null' \
            >>"$RUN_DIR/kill-rounds.log" || true
    fi
    # Recovery: a complete target is stopped; what a kill left is cleared by the next start (even rounds,
    # then the host must see the complete target) or by stop, in turns.
    [[ $outcome == partial ]] && partials=$((partials + 1))
    if [[ $outcome == partial && $((partials % 2)) == 1 ]]; then
        out=$(vm_run -t 120 'iscsi-target start --cmdline "$CL" </dev/null') && rc=0 || rc=$?
        check_eq "round $r: the next start succeeds" 0 "$rc"
        ((CHECK_OK)) || info "$out"
        check_match "round $r: the next start says it clears the leftovers" 'clearing what an unfinished start left' "$out"
        check_eq "round $r: after that start configfs holds the complete target" "$STATE_COMPLETE" "$(state)"
        check_eq "round $r: after that start the host sees all LUNs" complete "$(host_view)"
        outcome="partial, cleared by the next start"
    elif [[ $outcome == partial ]]; then
        outcome="partial, cleared by stop"
    fi
    if [[ $outcome != clean ]]; then
        out=$(vm_run -t 90 'iscsi-target stop') && rc=0 || rc=$?
        check_eq "round $r: stop exits 0" 0 "$rc"
        ((CHECK_OK)) || info "$out"
        check_eq "round $r: after stop nothing of ours is left" "$STATE_CLEAN" "$(state)"
    fi
    SUMMARY+=("round $r SIG$sig ${delay}s $how: $outcome")
done
timer_end kill-rounds
out=$(vm_run -t 120 'iscsi-target start --cmdline "$CL" </dev/null') && rc=0 || rc=$?
check_eq "after the rounds: start succeeds" 0 "$rc"
info "$out"
check_eq "after the rounds: configfs holds the complete target" "$STATE_COMPLETE" "$(state)"
check_eq "after the rounds: the host sees all LUNs" complete "$(host_view)"

# ── 2. save / restore ──────────────────────────────────────────────────────────────────────────────────
declare -a SERIALS=()
for lun in 0 1 2; do
    SERIALS[lun]=$(unit_serial $lun)
    check_match "LUN $lun has a VPD unit serial" '^[[:graph:]]+$' "${SERIALS[lun]}"
done
out=$(vm_run -t 90 'iscsi-target save /run/t.json && lc-dump '"$TGT"' >/run/d1 2>/run/d1.skip') && rc=0 || rc=$?
check_eq "save + dump: exit 0" 0 "$rc"
((CHECK_OK)) || info "$out"
n_attr=$(vm_run 'grep -c . /run/d1') || true
check_match "save: the dump holds $n_attr attributes (100 or more)" '^[0-9]{3,}$' "$n_attr"
vm_run 'cat /run/d1.skip' >"$RUN_DIR/dump-skipped.txt" || true
vm_run 'cat /run/d1' >"$RUN_DIR/dump-before.txt" || true
out=$(vm_run -t 90 'iscsi-target stop') && rc=0 || rc=$?
check_eq "save/restore: stop exits 0" 0 "$rc"
check_eq "save/restore: after stop nothing of ours is left" "$STATE_CLEAN" "$(state)"
out=$(vm_run -t 90 'iscsi-target restore /run/t.json') && rc=0 || rc=$?
check_eq "restore: exit 0" 0 "$rc"
info "restore: $out"
check_eq "restore: configfs holds the complete target" "$STATE_COMPLETE" "$(state)"
out=$(vm_run -t 90 'lc-dump '"$TGT"' >/run/d2 2>/run/d2.skip; diff /run/d1 /run/d2 && diff /run/d1.skip /run/d2.skip && echo same') || true
check_eq "restore: all $n_attr attributes byte for byte as before, the same files skipped" same "$out"
((CHECK_OK)) || info "diff: $out"
check_eq "restore: the host sees all LUNs with their sizes" complete "$(host_view)"
for lun in 0 1 2; do check_eq "restore: LUN $lun has the same unit serial" "${SERIALS[lun]}" "$(unit_serial $lun)"; done

# A restore that fails half-way: the last backstore names a device that does not exist.
# The saved file names devices as the start resolved them (/dev/vdX); the last one listed is vdc.
out=$(vm_run -t 90 'iscsi-target stop >/dev/null; sed "s|\"/dev/vdc\"|\"/dev/disk/by-id/virtio-itgt-missing\"|" /run/t.json >/run/bad.json
    grep "\"dev\":" /run/bad.json') || true
info "bad restore: the devices in bad.json: ${out//$'\n'/ }"
check_match "bad restore: the last device of the file is the missing one" 'virtio-itgt-missing",?$' "$out"
check_eq "bad restore: the file still names 3 devices, the first two unchanged" 2 "$(grep -c '"/dev/vd[ab]"' <<<"$out" || true)"
out=$(vm_run -t 90 'iscsi-target restore /run/bad.json') && rc=0 || rc=$?
info "bad restore (exit $rc): ${out//$'\n'/ | }"
if ((rc != 0 && rc != 255)); then pass "bad restore: exits non-zero ($rc)"; else fail "bad restore: exit status $rc"; fi
check_eq "bad restore: exactly one line of output, an error" 1 "$(grep -c . <<<"$out" || true)"
check_match "bad restore: the error names the missing device" '^iscsi-target: error: .*/dev/disk/by-id/virtio-itgt-missing' "$out"
check_match "bad restore: it failed at the third backstore (iblock_0 and _1 were made)" 'target/core/iblock_2/' "$out"
check_eq "bad restore: nothing of ours is left in configfs" "$STATE_CLEAN" "$(state)"
check_eq "bad restore: the host cannot log in" refused "$(host_view)"
out=$(vm_run -t 90 'iscsi-target restore /run/t.json') && rc=0 || rc=$?
check_eq "good restore after the bad one: exit 0" 0 "$rc"
check_eq "good restore after the bad one: the host sees all LUNs" complete "$(host_view)"

# ── 3b. stop twice ──────────────────────────────────────────────────────────────────────────────────────
out=$(vm_run -t 90 'iscsi-target stop') && rc=0 || rc=$?
check_eq "stop: exit 0" 0 "$rc"
out=$(vm_run -t 90 'iscsi-target stop') && rc=0 || rc=$?
check_eq "stop again: exit 0" 0 "$rc"
check_match "stop again: says there was nothing to remove" 'nothing to remove' "$out"
check_eq "stop twice: nothing of ours left" "$STATE_CLEAN" "$(state)"

# LIO leaks the portal's listening socket when its thread cannot start because the process creating the
# portal got SIGKILL (see ConfigFs::mkdir_in_child); the port then accepts connections nobody answers.
n=$(tr -d '\r' <"$(vm_log)" | grep -c 'Unable to create kthread: iscsi_np' || true)
check_eq "no kill interrupted LIO creating the portal thread (a leaked listening socket)" 0 "$n"
if vm_stop 'iscsi-target poweroff' 90; then pass "iscsi-target poweroff powers the VM off"; else fail "poweroff did not power off"; fi
info "the fastest start took $START_SECS s; the late rounds aimed at $last_clean..$first_complete s; kill rounds:"
for s in "${SUMMARY[@]}"; do info "  $s"; done
finish
