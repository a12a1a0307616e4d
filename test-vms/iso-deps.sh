#!/bin/bash
# test-vms/iso-deps.sh — install what building and booting the initiator ISO needs; does nothing when all are
# present. Secure Boot binaries (shim-signed, grub-efi-amd64-signed) are optional: pass --secure-boot to add them.
set -euo pipefail

packages=(xorriso isolinux syslinux-common grub-pc-bin grub-efi-amd64-bin mtools ovmf cpio qemu-system-x86
    dracut-core linux-image-amd64)
if [[ ${1:-} == --secure-boot ]]; then
    packages+=(shim-signed grub-efi-amd64-signed)
fi

exec "$(dirname "$0")/apt-ensure.sh" iso-deps.sh "${packages[@]}"
