#!/bin/bash
# Benchmark: iSCSI negotiation parameters, LIO's defaults vs ours (target_plan.cc), in one target VM.
# qemu-img (libiscsi) on the host writes and reads through the loopback-forwarded portal; the target is
# restarted from its console between the two settings. Prints MB/s side by side and the ratio.
# Settings alternate for ROUNDS rounds (load on the machine drifts); the median of each is reported.
# Usage: test-vms/bench-tuning.sh BUILD_DIR [MiB per run, default 128] [ROUNDS, default 3]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [MiB]}" && pwd)
MIB=${2:-128}
ROUNDS=${3:-3}
lib_setup bench-tuning
initrd=$RUN_DIR/initrd.img
build_initramfs "$initrd" systemd --target-bindir "$BUILD/tools"
disk=$RUN_DIR/disk.raw
truncate -s $((MIB + 64))M "$disk"
port=$(free_port)
iqn=iqn.2024-01.org.example:bench
ini=iqn.2024-01.org.example:host
keys="rd.iscsi_target.dev=/dev/disk/by-id/virtio-bench rd.iscsi_target.iqn=$iqn rd.iscsi.initiator=$ini"
vm_start target "$KERNEL" "$initrd" "console=ttyS0 net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1 rd.systemd.unit=iscsi-target.target $keys" \
    --disk "$disk,serial=bench,cache=unsafe" --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$port-:3260" --mem 1024
vm_wait_for 'iscsi-target: ready:' 240 || die "target not ready"
vm_wait_shell 60 || die "no console shell"
run() {  # prints MB/s for a write and a read pass of $MIB MiB in 1 MiB requests, 8 in flight
    local mode=$1 secs
    secs=$( { /usr/bin/time -f %e qemu-img bench -t none -d 8 -s 1M -c "$MIB" ${mode:+-w} \
        --image-opts "driver=iscsi,transport=tcp,portal=127.0.0.1:$port,target=$iqn,lun=0,initiator-name=$ini" >/dev/null; } 2>&1 | tail -n 1)
    awk -v m="$MIB" -v s="$secs" 'BEGIN { printf "%.1f", m * 1.048576 / s }'
}
declare -A samples
for ((round = 1; round <= ROUNDS; round++)); do
    for setting in lio-defaults tuned; do
        vm_run "iscsi-target stop" >/dev/null
        vm_run "iscsi-target start --cmdline '$keys rd.iscsi_target.tuning=$setting'" | grep -q 'ready:' || die "restart with $setting failed"
        ((round > 1)) || run w >/dev/null  # warm-up (first touch of the image file on the host)
        w=$(run w) r=$(run "")
        samples[$setting-write]+="$w " samples[$setting-read]+="$r "
        info "round $round, $setting: write $w MB/s, read $r MB/s"
    done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A result
for key in "${!samples[@]}"; do result[$key]=$(median "${samples[$key]}"); done
vm_stop "systemctl poweroff" 60 || true
printf '\n%-22s %12s %12s %8s   (median of %d rounds)\n' "${MIB} MiB, 1 MiB I/O" "LIO defaults" "tuned" "ratio" "$ROUNDS"
for io in write read; do
    printf '%-22s %9s MB/s %7s MB/s %7sx\n' "$io (qemu-img bench)" "${result[lio-defaults-$io]}" "${result[tuned-$io]}" \
        "$(awk -v a="${result[lio-defaults-$io]}" -v b="${result[tuned-$io]}" 'BEGIN { printf "%.2f", b / a }')"
done
pass "benchmark ran"
finish
