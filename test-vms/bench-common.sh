# Sourced by the iSCSI benchmarks (bench-tuning.sh, bench-link.sh) after lib.sh and lib_setup: one target VM
# exporting a sparse disk through slirp's loopback hostfwd, qemu-img bench (libiscsi) on the host as the
# initiator, and the target restarted from its console to switch the negotiation parameters.
#
#   bench_target_boot BUILD_DIR DISK_MIB [build_initramfs options ...]
#                            build the initramfs (systemd flavour + iscsi-target from BUILD_DIR/tools, plus
#                            the options), boot the target on a DISK_MIB sparse disk; sets BENCH_PORT, BENCH_IMAGE (--image-opts)
#   bench_restart_target TUNING      iscsi-target stop; start with rd.iscsi_target.tuning=TUNING
#   bench_pass write|read KIB COUNT DEPTH [STEP_KIB]
#                            one qemu-img bench run (cache=none): COUNT requests of KIB, DEPTH in flight,
#                            STEP_KIB between request offsets (default KIB; qemu-img wraps it at the image's
#                            end); prints MB/s (10^6 bytes) from "Run completed in N seconds", which leaves out
#                            qemu-img's connect and login
#   median "V V ..."   spread "V V ..." (min–max)   ratio A B (B / A, "1.23x")
# shellcheck shell=bash

BENCH_IQN=iqn.2024-01.org.example:bench
BENCH_INI=iqn.2024-01.org.example:host
# Without CHAP by the explicit opt-in: the benchmark measures the data path, and qemu's initiator logs in by IQN.
BENCH_KEYS="rd.iscsi_target.dev=/dev/disk/by-id/virtio-bench rd.iscsi_target.iqn=$BENCH_IQN rd.iscsi.initiator=$BENCH_INI rd.iscsi_target.auth=none"

bench_target_boot() {
    local build=$1 mib=$2 initrd=$RUN_DIR/initrd.img disk=$RUN_DIR/disk.raw
    shift 2
    build_initramfs "$initrd" systemd --target-bindir "$build/tools" "$@"
    truncate -s "${mib}M" "$disk"
    BENCH_PORT=$(free_port)
    BENCH_IMAGE="driver=iscsi,transport=tcp,portal=127.0.0.1:$BENCH_PORT,target=$BENCH_IQN,lun=0,initiator-name=$BENCH_INI"
    vm_start target "$KERNEL" "$initrd" "console=ttyS0 net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1 rd.systemd.unit=iscsi-target.target $BENCH_KEYS" \
        --disk "$disk,serial=bench,cache=unsafe" --net "user,restrict=on,hostfwd=tcp:127.0.0.1:$BENCH_PORT-:3260" --mem 1024
    vm_wait_for 'iscsi-target: ready:' 240 || die "target not ready"
    vm_wait_shell 60 || die "no console shell"
}

bench_restart_target() {
    vm_run "iscsi-target stop" >/dev/null
    local started
    started=$(vm_run "iscsi-target start --cmdline '$BENCH_KEYS rd.iscsi_target.tuning=$1'" || true)
    [[ $started == *ready:* ]] || die "restart with $1 failed: $started"
}

bench_pass() {
    local mode=$1 kib=$2 count=$3 depth=$4 step=${5:-$2} out secs
    local -a w=()
    [[ $mode == write ]] && w=(-w)
    out=$(timeout 300 qemu-img bench -t none -d "$depth" -s "${kib}K" -S "${step}K" -c "$count" "${w[@]}" --image-opts "$BENCH_IMAGE" 2>&1) ||
        { echo "$out" >&2; die "qemu-img bench $mode ${kib}K failed"; }
    secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' <<<"$out")
    [[ -n $secs ]] || { echo "$out" >&2; die "qemu-img bench: no 'Run completed' line"; }
    awk -v b=$((count * kib * 1024)) -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / (s > 0 ? s : 0.001) }'
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0) print (b + 0 == 0 ? "=" : "-"); else printf "%.2fx", b / a }'; }
