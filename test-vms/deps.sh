#!/bin/bash
# test-vms/deps.sh — install the Debian packages the VM tests need; does nothing when all are present.
set -euo pipefail

# qemu-block-extra: qemu-img/qemu-io's iscsi:// driver (block-iscsi.so) lives there, not in qemu-utils.
packages=(qemu-system-x86 qemu-utils qemu-block-extra linux-image-amd64 dracut-core dracut-network open-iscsi
    busybox-static e2fsprogs libiscsi-bin kmod udev python3)

missing=()
for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: need root to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock for a while: wait for it instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
