#!/bin/bash
# test-vms/deps.sh — install the Debian packages the VM tests need; does nothing when all are present.
set -euo pipefail

# qemu-block-extra: qemu-img/qemu-io's iscsi:// driver (block-iscsi.so) lives there, not in qemu-utils.
packages=(qemu-system-x86 qemu-utils qemu-block-extra linux-image-amd64 dracut-core dracut-network open-iscsi
    busybox-static e2fsprogs libiscsi-bin kmod udev python3)

exec "$(dirname "$0")/apt-ensure.sh" deps.sh "${packages[@]}"
