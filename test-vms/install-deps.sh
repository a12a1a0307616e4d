#!/bin/bash
# Installs everything building and testing needs from Debian's packages (skips what is present):
# the C++ build, the linters, clang with libFuzzer's runtime for tools/fuzz (libclang-rt-14-dev is only
# Recommended by clang), and what the VM tests use (test-vms/deps.sh, test-vms/iso-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(build-essential cmake pkg-config libkmod-dev libblkid-dev nlohmann-json3-dev catch2 clang-tidy shellcheck
    clang libclang-rt-14-dev
    grub-common debootstrap dosfstools fdisk time tshark rpm)
"$here/apt-ensure.sh" install-deps.sh "${packages[@]}"
"$here/deps.sh"
"$here/iso-deps.sh" --secure-boot
