#!/bin/bash
# tools/fuzz/run-fuzz.sh BINARY SEED_CORPUS SCRATCH_DIR SECONDS [CRASHES_DIR] — one CTest fuzz test
# (tools/fuzz/fuzz_tests.cmake). First replays the saved reproducers CRASHES_DIR/NAME-*.txt (NAME: BINARY without
# "fuzz-"), so a known finding fails the test every time until it is fixed. Then runs the libFuzzer BINARY for
# SECONDS over a fresh copy of SEED_CORPUS in SCRATCH_DIR (libFuzzer writes new inputs into its first corpus dir
# only: the checked-in seeds stay as they are). Prints one summary line (coverage, executions, exec/s); on a
# finding, the end of the fuzzer's log and where the reproducer is.
set -euo pipefail
binary=$(realpath -m "$1") seeds=$(realpath -m "$2") scratch=$(realpath -m "$3") seconds=$4 crashes=${5:-}
name=$(basename "$binary")
if [[ ! -x $binary ]]; then
    echo "$name: $binary is missing: build the fuzz tree (cmake --build BUILD-fuzz --target fuzz-targets)" >&2
    exit 1
fi
# UBSan reports abort (-fno-sanitize-recover=all); with a stack, so the log says where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/artifacts"
cp -r "$seeds/." "$scratch/corpus/"
status=0

known=()
if [[ -n $crashes ]]; then
    shopt -s nullglob
    known=("$crashes/${name#fuzz-}"-*.txt)
    shopt -u nullglob
fi
for input in "${known[@]}"; do
    replay=$scratch/replay-$(basename "$input" .txt).log
    if ! "$binary" -rss_limit_mb=2048 -timeout=10 "$input" >"$replay" 2>&1; then
        grep -m 3 -E 'ERROR|runtime error|property violated|SUMMARY' "$replay" || true
        echo "$name: known reproducer $input still fails (log: $replay)" >&2
        status=1
    fi
done

log=$scratch/fuzz.log
fuzz_status=0
(cd "$scratch" && "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" "$seeds") >"$log" 2>&1 || fuzz_status=$?
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
echo "$name: ${cov:-cov: ?}, $(stat number_of_executed_units) executions, $(stat average_exec_per_sec) exec/s," \
    "$(stat new_units_added) new units, peak RSS $(stat peak_rss_mb) MB (log: $log)"
if ((fuzz_status != 0)); then
    tail -n 60 "$log"
    echo "$name: FAILED (exit $fuzz_status); reproducer(s), rerun with $binary FILE:" >&2
    find "$scratch/artifacts" -type f >&2
    status=$fuzz_status
fi
exit "$status"
