#!/bin/sh
# cmdline hook (sourced). Target mode: keep LVM, LUKS, md and multipath off the disks LIO must open
# exclusively, and accept a command line without root= (nothing will be mounted). Whether this is target
# mode is the tool's decision alone (`iscsi-target enabled`), as in the generator and the pre-mount hook.
if /usr/sbin/iscsi-target enabled; then
    # For dracut's own getarg; the boot entry carries the same keys on the real command line, where systemd
    # units (ConditionKernelCommandLine) look. A hand-made command line should carry them too (README).
    echo "rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0" > /etc/cmdline.d/95-iscsi-target-safety.conf
    [ -z "$root" ] && root=iscsi-target
    # shellcheck disable=SC2034 # read by dracut after the cmdline hooks
    rootok=1
fi
