#!/bin/sh
# cmdline hook (sourced). Target mode: keep LVM, LUKS, md and multipath off the disks LIO must open
# exclusively, and accept a command line without root= (nothing will be mounted).
command -v getarg > /dev/null || . /lib/dracut-lib.sh

if getarg rd.iscsi_target.dev= > /dev/null; then
    echo "rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0" > /etc/cmdline.d/95-iscsi-target-safety.conf
    [ -z "$root" ] && root=iscsi-target
    # shellcheck disable=SC2034 # read by dracut after the cmdline hooks
    rootok=1
fi
