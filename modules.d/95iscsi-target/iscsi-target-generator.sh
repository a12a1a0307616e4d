#!/bin/sh
# systemd generator (initramfs). In target mode nothing may mount the exported root or switch to it,
# whichever unit is started: mask the root mount and the whole switch-root sequence (initrd-parse-etc starts
# initrd-cleanup, which isolates initrd-switch-root.target), and pull target mode in even without
# rd.systemd.unit=iscsi-target.target.
/usr/sbin/iscsi-target enabled || exit 0
early_dir="$2"
for unit in sysroot.mount initrd-parse-etc.service initrd-cleanup.service initrd-switch-root.service initrd-switch-root.target; do
    ln -sf /dev/null "$early_dir/$unit"
done
mkdir -p "$early_dir/initrd.target.wants"
ln -sf /usr/lib/systemd/system/iscsi-target.target "$early_dir/initrd.target.wants/iscsi-target.target"
