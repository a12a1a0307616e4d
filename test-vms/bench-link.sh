#!/bin/bash
# Benchmark: iSCSI negotiation parameters, LIO's defaults vs ours (target_plan.cc), on an emulated link where
# the network and not TCG limits: tc netem inside the target VM adds DELAY ms one way in each direction (so
# the round trip grows by 2 x DELAY) and caps the rate at RATE both ways (egress on eth0; ingress redirected
# to ifb0 and shaped there).  tc and the sch_netem/ifb/mirred modules go into this benchmark's initramfs only.
#
# Why a host-side client and not an initiator VM: qemu-img bench (libiscsi) on the host costs no emulated CPU,
# so the target VM is the only TCG guest and the shaped link is the one the protocol crosses; a second VM would
# halve the CPU left to the target on this 2-core machine and add its own emulated network stack to each RTT.
# qemu-img bench has no random mode: "rand" rows step by an odd multiple of the request size near 0.618 x the
# number of slots, which qemu-img wraps at the image's end, so consecutive requests land far apart and every
# slot is visited once per lap (a stride, not a PRNG; the target's block layer sees scattered offsets).
#
# What can gain, from the protocol (libiscsi offers FirstBurstLength = MaxBurstLength = 262144 and
# MaxOutstandingR2T=1; LIO declares MaxRecvDataSegmentLength 262144 either way; the counts are the ones
# bench-tuning.sh captures on the wire): with LIO's defaults (FirstBurstLength 65536, InitialR2T Yes) a write
# sends up to 64 KiB as immediate data and waits one R2T round trip per further 256 KiB; tuned, up to 256 KiB
# goes with the command.  So 4-64 KiB writes take no R2T either way and cannot gain; 65-256 KiB save their one
# round trip; 1 MiB goes from 4 R2T round trips to 3.  Reads have no R2T and must not lose.
#
# Rounds alternate the settings and flip which goes first; medians and min-max over the rounds, ratio =
# tuned / LIO defaults ($RUN_DIR/samples.tsv has every pass).  The first lines measure the unshaped ceiling (tuned, 1 MiB, QD 8) so RATE can be
# checked to sit below what TCG pushes.  The machine's other load shifts the CPU-bound parts; a latency-bound
# link is less sensitive to that, but runs are best compared within one invocation.
# Found (README "Tuning"): the one round trip saved is small next to what slirp's TCP and TCG add per write,
# so on this emulation no row separates the settings beyond the spread of a shared 2-core host.
# The whole default run: about 13 min here (boot 1 min; 2 links x 4 rounds x 2 settings x 28 passes).
# Usage: test-vms/bench-link.sh BUILD_DIR [ROUNDS, default 4] [DELAYS in ms, default "0.1 0.5"]
#                                         [RATE, tc syntax, default 80mbit; "none": delay only]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-common.sh"
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [ROUNDS] [DELAYS ms] [RATE]}" && pwd)
ROUNDS=${2:-4}  # even: each setting goes first equally often
read -r -a DELAYS <<<"${3:-0.1 0.5}"
RATE=${4:-80mbit}
SETTINGS=(lio-defaults tuned)
DISK_MIB=1024
# direction pattern KiB depth; requests per pass scale with size so each pass moves 1-24 MiB.
# BENCH_LINK_WORKLOADS="read seq 4 8;write seq 256 1" runs only those (to look closer at a row).
WORKLOADS=()
if [[ -n ${BENCH_LINK_WORKLOADS:-} ]]; then
    IFS=';' read -r -a WORKLOADS <<<"$BENCH_LINK_WORKLOADS"
else
    for qd in 1 8; do
        for kib in 4 16 64 256 1024; do
            WORKLOADS+=("write seq $kib $qd" "write rand $kib $qd")
        done
        for kib in 4 64 256 1024; do WORKLOADS+=("read seq $kib $qd"); done
    done
fi
lib_setup bench-link

bench_target_boot "$BUILD" "$DISK_MIB" --install "$(command -v tc)" --drivers "sch_netem ifb act_mirred sch_ingress cls_matchall"

count_for() {  # count_for KIB DEPTH → requests per pass
    local kib=$1 qd=$2 mib
    case $kib in 4) mib=1 ;; 16) mib=2 ;; 64) mib=4 ;; 256) mib=8 ;; *) mib=12 ;; esac
    ((qd > 1)) && mib=$((mib * 2))
    echo $((mib * 1024 / kib))
}
step_for() {  # step_for seq|rand KIB → STEP_KIB
    local slots=$((DISK_MIB * 1024 / $2))
    [[ $1 == seq ]] && { echo "$2"; return; }
    echo $(((slots * 618 / 1000 | 1) * $2))
}
run() {  # run "DIR PATTERN KIB QD" → MB/s
    local dir pat kib qd
    read -r dir pat kib qd <<<"$1"
    bench_pass "$dir" "$kib" "$(count_for "$kib" "$qd")" "$qd" "$(step_for "$pat" "$kib")"
}

# ── the unshaped ceiling ───────────────────────────────────────────────────────────────────────────────
bench_restart_target tuned
bench_pass write 1024 64 8 >/dev/null  # warm-up: first touch of the sparse image on the host
declare -A ceiling
for dir in write read; do
    runs=""
    for _ in 1 2 3; do runs+="$(bench_pass "$dir" 1024 32 8) "; done
    ceiling[$dir]=$(median "$runs")
    info "unshaped ceiling, $dir 1 MiB QD 8: ${ceiling[$dir]} MB/s"
done

# ── shaping: eth0 egress directly, ingress through ifb0 ────────────────────────────────────────────────
out=$(vm_run "modprobe -a sch_netem ifb act_mirred sch_ingress cls_matchall && ip link set ifb0 up && tc qdisc add dev eth0 handle ffff: ingress && tc filter add dev eth0 parent ffff: matchall action mirred egress redirect dev ifb0 && echo shaping-ok" || true)
[[ $out == *shaping-ok* ]] || die "could not set up ingress shaping (tc, ifb) in the target: $out"
shape() {  # shape DELAY_MS: netem on both directions
    local dev rate=""
    [[ $RATE == none ]] || rate="rate $RATE"
    for dev in eth0 ifb0; do
        # limit: packets queued in netem; the default 1000 drops at QD 8 x 1 MiB and TCP backs off
        out=$(vm_run "tc qdisc replace dev $dev root netem delay ${1}ms $rate limit 20000 && echo shaped") ||
            die "tc netem on $dev: $out"
        [[ $out == *shaped* ]] || die "tc netem on $dev: $out"
    done
    vm_run "tc -s qdisc show dev eth0; tc -s qdisc show dev ifb0" >>"$RUN_DIR/tc.log"
}

# ── the run ────────────────────────────────────────────────────────────────────────────────────────────
declare -A samples  # samples[delay|setting|workload]: MB/s
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
timer_start benchmark
for delay in "${DELAYS[@]}"; do
    shape "$delay"
    for ((round = 1; round <= ROUNDS; round++)); do
        order=("${SETTINGS[@]}")
        ((round % 2)) || order=("${SETTINGS[1]}" "${SETTINGS[0]}")
        for setting in "${order[@]}"; do
            bench_restart_target "$setting"
            for wl in "${WORKLOADS[@]}"; do
                mbs=$(run "$wl")
                samples[$delay|$setting|$wl]+="$mbs "
                echo "$delay	$round	$setting	$wl	$mbs" >>"$RUN_DIR/samples.tsv"
            done
            info "delay ${delay} ms, round $round, $setting done"
        done
    done
done
vm_run "tc -s qdisc show dev eth0; tc -s qdisc show dev ifb0" >>"$RUN_DIR/tc.log"
timer_end benchmark
vm_stop "systemctl poweroff" 60 || true

# ── report ─────────────────────────────────────────────────────────────────────────────────────────────
r2t_trips() {  # r2t_trips SETTING KIB → R2T round trips per write (see the header)
    local burst=64 rest
    [[ $1 == tuned ]] && burst=256
    rest=$(($2 > burst ? $2 - burst : 0))
    echo $(((rest + 255) / 256))
}
a=${SETTINGS[0]} b=${SETTINGS[1]}
echo
echo "host: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "libiscsi (qemu-img bench, host) -> LIO in a TCG VM; netem in the target: +DELAY one way each direction"
echo "(RTT + 2 x DELAY), $RATE each way; unshaped ceiling (tuned, 1 MiB, QD 8): write ${ceiling[write]} MB/s, read ${ceiling[read]} MB/s"
echo "MB/s: median (min-max) of $ROUNDS rounds; R2T: round trips per write, LIO defaults -> tuned"
printf '%-6s %-17s %-3s %5s  %-22s %-22s %s\n' delay workload QD R2T "LIO defaults" tuned ratio
for delay in "${DELAYS[@]}"; do
    for wl in "${WORKLOADS[@]}"; do
        read -r dir pat kib qd <<<"$wl"
        size=$((kib >= 1024 ? kib / 1024 : kib))$( ((kib >= 1024)) && echo M || echo K)
        trips="-"
        [[ $dir == write ]] && trips="$(r2t_trips "$a" "$kib")->$(r2t_trips "$b" "$kib")"
        sa=${samples[$delay|$a|$wl]} sb=${samples[$delay|$b|$wl]}
        printf '%-6s %-17s %-3s %5s  %-22s %-22s %s\n' "${delay}ms" "$dir $pat $size" "$qd" "$trips" \
            "$(median "$sa") ($(spread "$sa"))" "$(median "$sb") ($(spread "$sb"))" "$(ratio "$(median "$sa")" "$(median "$sb")")"
    done
done
pass "benchmark ran"
finish
