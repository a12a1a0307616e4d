#!/bin/bash
# shellcheck disable=SC2154 # moddir, systemdsystemunitdir, systemdutildir come from dracut
# dracut module "iscsi-target": export this machine's disks through the kernel's LIO iSCSI target from the
# initramfs and hold the boot there. Inert unless the command line carries rd.iscsi_target.dev=.

# Tests point this at a build tree; installed systems use /usr/sbin.
iscsi_target_tool() {
    echo "${ISCSI_TARGET_BINDIR:-/usr/sbin}/iscsi-target"
}

check() {
    [ -x "$(iscsi_target_tool)" ] || return 1
    # Only when asked for (dracut.conf.d drop-in or -a iscsi-target).
    return 255
}

depends() {
    echo network
    return 0
}

# What `iscsi-target start` loads (tools/target/kmod.h lio_modules); nothing else, each one is in every image.
# Left out: target_core_file (fileio backstores need a mounted file system, target mode mounts none; only a
# restored saveconfig.json could ask for it, and that restore then fails naming the module) and
# target_core_pscsi / target_core_user (never used). configfs is ours to add: no dracut module installs it.
installkernel() {
    local _mod _file
    hostonly='' instmods configfs target_core_mod target_core_iblock iscsi_target_mod
    # Where the distribution ships them uncompressed (Debian 12), compress ours as distributions that compress
    # modules do (the kernel's own xz settings): 448 -> 317 KB of the image's gzip (test-vms/bench-size.sh).
    # libkmod (our tool, udev, modprobe) decompresses them; dracut's depmod, which runs after this, indexes them.
    command -v xz > /dev/null || return 0
    for _mod in configfs target_core_mod target_core_iblock iscsi_target_mod; do
        _file=$(find "${initdir:?}/lib/modules/${kernel:?}" -name "$_mod.ko" -print -quit 2> /dev/null)
        [ -n "$_file" ] && xz -q --check=crc32 --lzma2=dict=1MiB "$_file"
    done
    return 0
}

install() {
    inst_binary "$(iscsi_target_tool)" /usr/sbin/iscsi-target
    # After rootfs-block parse-root-opts (10), which resets root=; before crypt/lvm parse their keys (30).
    inst_hook cmdline 11 "$moddir/parse-iscsi-target.sh"
    inst_hook pre-trigger 90 "$moddir/iscsi-target-prepare.sh"
    inst_hook pre-mount 00 "$moddir/iscsi-target-hold.sh"
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/iscsi-target.target" "$systemdsystemunitdir/iscsi-target.target"
        inst_simple "$moddir/iscsi-target.service" "$systemdsystemunitdir/iscsi-target.service"
        inst_simple "$moddir/iscsi-target-shell.service" "$systemdsystemunitdir/iscsi-target-shell.service"
        inst_simple "$moddir/iscsi-target-guard.service" "$systemdsystemunitdir/iscsi-target-guard.service"
        inst_script "$moddir/iscsi-target-generator.sh" "$systemdutildir/system-generators/iscsi-target-generator"
    fi
}
