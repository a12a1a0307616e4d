#!/bin/bash
# The test command the README gives (and .ci/run calls): installs what is needed, builds with warnings as
# errors (and a second time with AddressSanitizer + UBSan), then runs every test through one CTest run:
# unit tests, sanitizer unit tests, the libFuzzer targets (a third build, with clang), clang-tidy, shellcheck
# and the qemu VM tests.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=$(nproc)
"$repo/test-vms/install-deps.sh"
cmake -S "$repo" -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DISCSI_TARGET_SANITIZE=ON -DISCSI_TARGET_VM_TESTS=OFF >/dev/null
cmake --build "$build-asan" -j"$jobs" --target unit-tests
# libFuzzer targets (tools/fuzz), clang only: built here, run by the main CTest as tests fuzz-NAME.
CC=clang CXX=clang++ cmake -S "$repo" -B "$build-fuzz" -DISCSI_TARGET_FUZZ=ON -DISCSI_TARGET_VM_TESTS=OFF >/dev/null
cmake --build "$build-fuzz" -j"$jobs" --target fuzz-targets
cmake -S "$repo" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DISCSI_TARGET_SANITIZER_BUILD="$build-asan" \
    -DISCSI_TARGET_FUZZ_BUILD="$build-fuzz" >/dev/null
cmake --build "$build" -j"$jobs"
cd "$build"
status=0
ctest --output-on-failure -j"$jobs" || status=$?
# Each fuzz test's figures (coverage, executions, exec/s); CTest itself shows a test's output only when it fails.
grep -h '^fuzz-[a-z_]*: cov:' Testing/Temporary/LastTest.log || true
exit "$status"
