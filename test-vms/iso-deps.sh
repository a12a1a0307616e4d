#!/bin/bash
# test-vms/iso-deps.sh — install what building and booting the initiator ISO needs; does nothing when all are
# present. Secure Boot binaries (shim-signed, grub-efi-amd64-signed) are optional: pass --secure-boot to add them.
set -euo pipefail

packages=(xorriso isolinux syslinux-common grub-pc-bin grub-efi-amd64-bin mtools ovmf cpio qemu-system-x86
    dracut-core linux-image-amd64)
if [[ ${1:-} == --secure-boot ]]; then
    packages+=(shim-signed grub-efi-amd64-signed)
fi

missing=()
for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "iso-deps.sh: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "iso-deps.sh: need root to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
