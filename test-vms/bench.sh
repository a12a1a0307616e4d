#!/bin/bash
# test-vms/bench.sh BUILD_DIR [ROUNDS, default 3] — every benchmark of the project in one run, one report.
#
#   size   what our dracut module adds to the initramfs, and where the bytes go      test-vms/bench-size.sh
#   boot   a target boot's timeline to the first login, with start cold and warm     test-vms/bench-boot.sh
#   link   iSCSI tuning vs LIO's defaults on a latency-bound link                    test-vms/bench-link.sh
#   iso    the initiator ISO: size, overhead and build time vs grub-mkrescue         tools/bench/iso-bench.sh
# BENCH_ONLY="size boot" runs a subset.  Each part runs alone (they share the 2 cores with nothing of ours),
# its full output goes to $BENCH_LOG_DIR/NAME.log (default a new /var/tmp/iscsi-target-bench.*), and its
# tables are printed together at the end with the machine they came from.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-3}
read -r -a parts <<<"${BENCH_ONLY:-size boot link iso}"
log_dir=${BENCH_LOG_DIR:-$(mktemp -d /var/tmp/iscsi-target-bench.XXXXXX)}
mkdir -p "$log_dir"

run_part() {  # run_part NAME COMMAND...: its output to NAME.log; exit status kept for the report
    local name=$1 started rc=0; shift
    started=$EPOCHREALTIME
    echo "bench: $name: $* (log $log_dir/$name.log)"
    "$@" >"$log_dir/$name.log" 2>&1 || rc=$?
    awk -v a="$started" -v b="$EPOCHREALTIME" -v n="$name" -v rc="$rc" \
        'BEGIN { printf "bench: %s: %s in %.0f s\n", n, rc == 0 ? "done" : "FAILED (exit " rc ")", b - a }'
    echo "$rc" >"$log_dir/$name.rc"
}

for part in "${parts[@]}"; do
    case $part in
    size) run_part size "$HERE/bench-size.sh" "$BUILD" ;;
    boot) run_part boot "$HERE/bench-boot.sh" "$BUILD" "$ROUNDS" ;;
    link) run_part link "$HERE/bench-link.sh" "$BUILD" ;;
    iso) run_part iso "$REPO/tools/bench/iso-bench.sh" "$BUILD" ;;
    *) echo "bench: unknown part '$part' (size boot link iso)" >&2; exit 2 ;;
    esac
done

echo
echo "════ dracut-iscsi-target benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC') ════"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); VMs: qemu TCG, 1 vCPU"
failed=0
for part in "${parts[@]}"; do
    echo
    echo "── $part ──"
    # The tables: the scripts' own progress lines (INFO/TIME/PASS/RESULT, summary headers) left out.
    grep -v -E '^(INFO|TIME|PASS|FAIL|RESULT|bench):|^---- .* summary ----$' "$log_dir/$part.log" | sed '/^$/N;/^\n$/D' || true
    (($(<"$log_dir/$part.rc") == 0)) || { echo "($part FAILED: see $log_dir/$part.log)"; failed=1; }
done
echo
echo "full logs: $log_dir"
exit "$failed"
