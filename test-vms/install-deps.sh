#!/bin/bash
# Installs everything building and testing needs from Debian's packages (skips what is present):
# the C++ build, the linters, and what the VM tests use (test-vms/deps.sh, test-vms/iso-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(build-essential cmake pkg-config libkmod-dev libblkid-dev nlohmann-json3-dev catch2 clang-tidy shellcheck
    grub-common debootstrap dosfstools fdisk time tshark)
missing=()
for p in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
    echo "install-deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$here/deps.sh"
"$here/iso-deps.sh" --secure-boot
