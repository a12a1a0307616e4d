#!/bin/bash
# Installs everything building and testing needs from Debian's packages (skips what is present):
# the C++ build, the linters, and what the VM tests use (test-vms/deps.sh, test-vms/iso-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(build-essential cmake pkg-config libkmod-dev libblkid-dev nlohmann-json3-dev catch2 clang-tidy shellcheck
    grub-common debootstrap dosfstools fdisk time tshark rpm)
"$here/apt-ensure.sh" install-deps.sh "${packages[@]}"
"$here/deps.sh"
"$here/iso-deps.sh" --secure-boot
