#!/bin/sh
# pre-mount hook (sourced), initramfs without systemd: export, then stay here for good so the root
# filesystem is never mounted and switch_root never happens. With systemd, iscsi-target.target does this.
[ -n "$DRACUT_SYSTEMD" ] && return 0
/usr/sbin/iscsi-target enabled || return 0

/usr/sbin/iscsi-target start
# Beside the target for good: while a computer is logged in, answer that computer only.
/usr/sbin/iscsi-target guard &
while :; do
    /usr/sbin/iscsi-target console
done
