#!/bin/bash
# The test command the README gives (and .ci/run calls): installs what is needed, builds with warnings as
# errors (and a second time with AddressSanitizer + UBSan), then runs every test through one CTest run:
# unit tests, sanitizer unit tests, clang-tidy, shellcheck and the qemu VM tests.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=$(nproc)
"$repo/test-vms/install-deps.sh"
cmake -S "$repo" -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DISCSI_TARGET_SANITIZE=ON -DISCSI_TARGET_VM_TESTS=OFF >/dev/null
cmake --build "$build-asan" -j"$jobs" --target unit-tests
cmake -S "$repo" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DISCSI_TARGET_SANITIZER_BUILD="$build-asan" >/dev/null
cmake --build "$build" -j"$jobs"
cd "$build"
exec ctest --output-on-failure -j"$jobs"
