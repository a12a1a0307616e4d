#!/bin/sh
# systemd generator (initramfs). In target mode nothing may mount the exported root or switch to it,
# whichever unit is started: mask both, and pull the target mode in even without rd.systemd.unit=.
/usr/sbin/iscsi-target enabled || exit 0
early_dir="$2"
ln -sf /dev/null "$early_dir/sysroot.mount"
ln -sf /dev/null "$early_dir/initrd-switch-root.service"
mkdir -p "$early_dir/initrd.target.wants"
ln -sf /usr/lib/systemd/system/iscsi-target.target "$early_dir/initrd.target.wants/iscsi-target.target"
