#!/bin/sh
# pre-trigger hook (sourced), initramfs without systemd: in target mode, load LIO's modules and start the
# kernel's CRNG in the background while udev and the initqueue bring up the disks and the network, so the
# pre-mount hook's start finds them ready. With systemd, iscsi-target.service overlaps the same work itself.
[ -n "$DRACUT_SYSTEMD" ] && return 0
/usr/sbin/iscsi-target prepare >/dev/null 2>&1 &
