#!/bin/bash
# test-vms/e2e-debian.sh BUILD_DIR — end to end on a real Debian 12 installation, as a user would do it.
#
#  0. build    cpack -G DEB of BUILD_DIR (configured and built first if needed) → dracut-iscsi-target_*.deb
#  1. image    test-vms/debian-image.sh: Debian 12 from debootstrap, GPT, /boot + / by UUID, GRUB (BIOS),
#              dracut (the package, Debian's defaults: generic, systemd, systemd-networkd), open-iscsi (cached)
#  2. install  in a chroot of the image: `dpkg -i` the .deb (`apt-get -f install` if it needs more), then
#              `dracut --force --kver KVER` with the image's default configuration (our drop-in adds
#              iscsi-target + iscsi). Debian 12's dracut builds generic images by default (hostonly=no), so
#              nothing of the build machine ends up in it and no --no-hostonly is needed.
#     local    the image boots as the machine itself (SeaBIOS → its GRUB → Debian, disk serial $DISK_SERIAL,
#              NIC $TARGET_MAC): boot-to-login is measured, then, logged in on ttyS0, what the user runs:
#              `/etc/kernel/postinst.d/iscsi-target KVER /boot/vmlinuz-KVER` (= iscsi-target-boot add), `update-grub`,
#              `kernel-install add KVER /boot/vmlinuz-KVER`, with NO settings file changes: the defaults (disk
#              holding /, first wired NIC, machine-id IQNs, root= from the running system) are only right on
#              the machine itself — in a chroot they would describe the build host (its disk, its NIC, its
#              /proc/cmdline). Then `grub-reboot iscsi-target-KVER` and `systemctl poweroff`.
#  3. target   the machine boots the "iSCSI Target" entry through its real GRUB, and must print
#              "iscsi-target: ready:". First alone on a qcow2 overlay (anything it writes lands in the overlay:
#              only GRUB's grubenv block may change), then on the disk itself for the initiators.
#  4. initiator a diskless VM boots the ISO the machine made (/var/lib/dracut/iscsi-target/iscsi-boot-KVER.iso):
#              SeaBIOS + CD, then OVMF (q35) + USB stick; each over a qemu socket link to the target
#              (127.0.0.1 only). Debian must reach multi-user.target and the ttyS0 login; the test writes a
#              token file, checks /proc/cmdline (and the kernel log) for the CHAP password, powers off.
#  5. on the UEFI initiator: the postinst hook (iscsi-target-boot add) + update-grub + kernel-install add
#     (Debian 12's plugins but depmod, which needs 6 min over the emulated link; time per plugin reported)
#     again: the iSCSI Target
#     record, the grub.cfg kernel lines and the ISO's command lines must be the ones the machine itself made
#     (no netroot=/ip=/rd.iscsi.* leaking from the initiator's own command line, no initiator NIC or disk).
#  6. host     after `systemctl poweroff` of the target (its console): the tokens are on the disk (debugfs),
#              e2fsck -fn is clean, and the target never mounted the disk: (a) the target-only boot wrote
#              nothing but grubenv, (b) no EXT4 mount message on the target's console (calibrated: the local
#              boot's console shows its mounts), (c) the ext4 mount counts grew by exactly what the initiator
#              boots account for (calibrated by the local boot).
#
# Environment: VM_WORKDIR, VM_KEEP, VM_QEMU_TIMEOUT (lib.sh); E2E_BOOT_TIMEOUT (600 s per boot),
# E2E_SKIP_BUILD=1 (package BUILD_DIR as it is), E2E_CMAKE_ARGS (cmake arguments when BUILD_DIR is empty),
# DEBIAN_IMAGE_CACHE (debian-image.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
mkdir -p "$1"
BUILD_DIR=$(cd "$1" && pwd)

# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

boot_timeout=${E2E_BOOT_TIMEOUT:-600}
export VM_QEMU_TIMEOUT=${VM_QEMU_TIMEOUT:-1200}
DISK_SERIAL=itgt-disk0          # the machine's disk (→ /dev/disk/by-id/virtio-itgt-disk0)
TARGET_MAC=52:54:00:1a:7e:01    # the machine's NIC, the one the cable goes into
INITIATOR_MAC=52:54:00:1a:7e:02 # the other computer's NIC (arbitrary)
OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd
LOGIN_RE='login: |\(automatic login\)'

[[ $(id -u) -eq 0 ]] || { echo "e2e-debian: must run as root (chroot, loop mounts, apt)" >&2; exit 1; }
bash "$HERE/deps.sh"
bash "$HERE/iso-deps.sh"
lib_setup e2e-debian
timer_start total
for f in "$OVMF_CODE" "$OVMF_VARS"; do [[ -r $f ]] || die "$f missing (apt-get install ovmf)"; done

# ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────
disk=$RUN_DIR/disk.img
mnt=$RUN_DIR/mnt
fs_offset() { case $1 in root) echo "$ROOT_OFFSET" ;; boot) echo "$BOOT_OFFSET" ;; esac; }
img_cat() { # img_cat root|boot PATH → the file's bytes (nothing if missing)
    debugfs -R "cat $2" "$disk?offset=$(fs_offset "$1")" 2>/dev/null
}
img_dump() { # img_dump root|boot PATH OUT
    debugfs -R "dump $2 $3" "$disk?offset=$(fs_offset "$1")" >/dev/null 2>&1 && [[ -s $3 ]]
}
mount_count() { dumpe2fs -h "$disk?offset=$(fs_offset "$1")" 2>/dev/null | awk -F: '/^Mount count/ { print $2 + 0 }'; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
console_has() { # console_has VM REGEX → the matching lines (\r removed)
    tr -d '\r' <"${VM_DIR[$1]}/console.log" | sed -E 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -a -E -e "$2"
}
nic_opts() { # nic_opts ID NETDEV MAC → vm_start options for one virtio NIC with a fixed MAC
    printf '%s\n' --qemu -netdev --qemu "$2,id=$1" --qemu -device --qemu "virtio-net-pci,netdev=$1,mac=$3"
}
# Wait for a boot to reach the ttyS0 login (autologin), timing it from $2 (EPOCHREALTIME at vm_start).
wait_login() { # wait_login WHAT START FAIL_RE
    local rc=0
    vm_wait_for "$LOGIN_RE|$3" "$boot_timeout" || rc=$?
    if ((rc == 0)) && [[ $VM_MATCH =~ $LOGIN_RE ]]; then
        BOOT_SECS=$(since "$2")
        LIB_TIMES+=("$1-boot-to-login ${BOOT_SECS}s")
        echo "TIME: $1-boot-to-login ${BOOT_SECS}s"
        pass "$1: reached the ttyS0 login (${BOOT_SECS}s)"
        return 0
    fi
    case $rc in 1) fail "$1: no login prompt within ${boot_timeout}s" ;; 2) fail "$1: VM died before the login prompt" ;;
    *) fail "$1: $VM_MATCH" ;; esac
    vm_dump_console 80
    return 1
}
# Bash ≥ 5.1 starts every command's output with the bracketed-paste escape (ESC[?2004l), which hides the
# harness's markers from its ^-anchored patterns: turn it off first (a no-op in shells without `bind`).
no_bracketed_paste() {
    vm_send "bind 'set enable-bracketed-paste off' 2>/dev/null" || true
    sleep 2
}
# After autologin: a shell that answers, kernel messages off the console while commands run.
shell_ready() { # shell_ready WHAT
    no_bracketed_paste
    if ! vm_wait_shell 120; then
        fail "$1: no shell answers on ttyS0"
        vm_dump_console 40
        return 1
    fi
    vm_run 'dmesg -n 1; stty cols 250 2>/dev/null; export SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb' >/dev/null || true
}
# vm_run that records the command and its output in the run directory.
guest() { # guest [-t SECS] CMD
    local secs=120
    if [[ $1 == -t ]]; then secs=$2; shift 2; fi
    local out rc=0
    out=$(vm_run -t "$secs" "$1") || rc=$?
    printf '### %s (rc=%s)\n%s\n' "$1" "$rc" "$out" >>"$RUN_DIR/guest-commands.log"
    GUEST_OUT=$out
    return "$rc"
}
poweroff_guest() { # poweroff_guest WHAT GRACE
    local t0=$EPOCHREALTIME
    vm_run 'dmesg -n 7' >/dev/null 2>&1 || true
    if vm_stop "systemctl poweroff" "$2"; then
        pass "$1: 'systemctl poweroff' powered it off ($(since "$t0")s)"
    else
        fail "$1: still running $2s after 'systemctl poweroff', killed"
        vm_dump_console 40
    fi
}

# chroot of the image: loop mounts (offset/sizelimit; this sandbox has no partition scanning), a private /dev.
chroot_mount() {
    mkdir -p "$mnt"
    mount -o "loop,offset=$ROOT_OFFSET,sizelimit=$ROOT_SIZE" "$disk" "$mnt"
    mount -o "loop,offset=$BOOT_OFFSET,sizelimit=$BOOT_SIZE" "$disk" "$mnt/boot"
    mount -t proc proc "$mnt/proc"
    mount -t sysfs sysfs "$mnt/sys"
    mount -t tmpfs -o mode=0755,size=16m itgt-dev "$mnt/dev"
    local n
    for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
        IFS=: read -r name major minor <<<"$n"
        mknod -m 666 "$mnt/dev/$name" c "$major" "$minor"
    done
    mkdir -p "$mnt/dev/pts"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$mnt/dev/pts"
    ln -s pts/ptmx "$mnt/dev/ptmx"
}
chroot_umount() {
    local m
    [[ -n $mnt ]] || return 0
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done < <(awk -v r="$mnt" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
}
at_exit chroot_umount
in_chroot() { chroot "$mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# ── 0. the package ──────────────────────────────────────────────────────────────────────────────────────
timer_start step0-build-deb
# A configured build tree (CTest's) is packaged as it is; an empty BUILD_DIR is configured first.
if [[ ${E2E_SKIP_BUILD:-0} != 1 ]]; then
    # shellcheck disable=SC2086 # E2E_CMAKE_ARGS is a list of words
    { { [[ -e $BUILD_DIR/CMakeCache.txt ]] || cmake -S "$REPO_DIR" -B "$BUILD_DIR" -DISCSI_TARGET_VM_TESTS=OFF ${E2E_CMAKE_ARGS:-}; } &&
        cmake --build "$BUILD_DIR" -j2 --target iscsi-target iscsi-target-boot; } >"$RUN_DIR/build.log" 2>&1 ||
        { tail -n 40 "$RUN_DIR/build.log"; die "building failed (log: $RUN_DIR/build.log)"; }
fi
(cd "$BUILD_DIR" && cpack -G DEB -B "$RUN_DIR/package") >>"$RUN_DIR/build.log" 2>&1 ||
    { tail -n 40 "$RUN_DIR/build.log"; die "cpack -G DEB failed (log: $RUN_DIR/build.log)"; }
debs=("$RUN_DIR"/package/dracut-iscsi-target_*.deb)
[[ -e ${debs[0]} ]] || die "cpack made no $RUN_DIR/package/dracut-iscsi-target_*.deb"
deb=${debs[-1]}
timer_end step0-build-deb
info "package $deb"
dpkg-deb -c "$deb" | awk '{ print $NF }' >"$RUN_DIR/deb-contents.txt"
missing_files=""
for f in ./usr/sbin/iscsi-target-boot ./usr/lib/dracut/modules.d/95iscsi-target/module-setup.sh \
    ./usr/lib/dracut/dracut.conf.d/90-iscsi-target.conf ./usr/lib/kernel/install.d/95-iscsi-target.install \
    ./etc/kernel/postinst.d/iscsi-target ./etc/kernel/postrm.d/iscsi-target ./etc/grub.d/42_iscsi-target \
    ./etc/iscsi-target/iscsi-target.conf; do
    grep -qx -- "$f" "$RUN_DIR/deb-contents.txt" || missing_files+=" $f"
done
check_eq "the package ships the tools, dracut module + drop-in, kernel hooks, grub.d script, settings file" "" "$missing_files"
if ((!CHECK_OK)); then
    grep '/etc/' "$RUN_DIR/deb-contents.txt" | sed 's/^/  in the package: /' | head -n 12
    die "the package cannot work on Debian as built (files outside /usr/lib, /usr/sbin and /etc)"
fi

# ── 1. the Debian image ─────────────────────────────────────────────────────────────────────────────────
timer_start step1-image
"$HERE/debian-image.sh" "$disk" | tee "$RUN_DIR/debian-image.log" || die "debian-image.sh failed"
timer_end step1-image
# shellcheck source=/dev/null
. "$disk.env"
info "image: kernel $KVER, / UUID=$ROOT_UUID, /boot UUID=$BOOT_UUID"

# ── 2. install the package, rebuild the initramfs (chroot) ──────────────────────────────────────────────
timer_start step2-chroot-install
chroot_mount
cp "$deb" "$mnt/root/"
deb_in=/root/$(basename "$deb")
if ! in_chroot dpkg -i "$deb_in" >"$RUN_DIR/dpkg.log" 2>&1; then
    info "dpkg -i wants more packages: apt-get -f install"
    in_chroot apt-get -f install -y -q >>"$RUN_DIR/dpkg.log" 2>&1 || true
fi
check_eq "chroot: dpkg -i installed dracut-iscsi-target" "install ok installed" \
    "$(in_chroot dpkg-query -W -f='${Status}' dracut-iscsi-target 2>&1)"
((CHECK_OK)) || tail -n 20 "$RUN_DIR/dpkg.log"
rm -f "$mnt$deb_in"
t=$EPOCHREALTIME
in_chroot dracut --force --kver "$KVER" >"$RUN_DIR/dracut.log" 2>&1 || { tail -n 30 "$RUN_DIR/dracut.log"; fail "chroot: dracut --force --kver $KVER failed"; }
LIB_TIMES+=("dracut-in-chroot $(since "$t")s")
info "dracut --force --kver $KVER: $(since "$t")s, $(du -h "$mnt/boot/initrd.img-$KVER" | cut -f1)"
in_chroot lsinitrd -m "/boot/initrd.img-$KVER" >"$RUN_DIR/lsinitrd-m.txt" 2>&1 || true
in_chroot lsinitrd "/boot/initrd.img-$KVER" >"$RUN_DIR/lsinitrd.txt" 2>&1 || true
modules_in=$(sed -n '/^dracut modules:/,/^=\+$/p' "$RUN_DIR/lsinitrd-m.txt")
info "initramfs modules: $(echo "$modules_in" | sed '1d;$d' | tr '\n' ' ')"
missing_mods=""
for m in systemd iscsi iscsi-target; do grep -qx -- "$m" <<<"$modules_in" || missing_mods+=" $m"; done
check_eq "initramfs (default config) has the dracut modules systemd, iscsi, iscsi-target" "" "$missing_mods"
check "initramfs holds /usr/sbin/iscsi-target and iscsi-target.target" \
    bash -c "grep -q ' usr/sbin/iscsi-target\$' '$RUN_DIR/lsinitrd.txt' && grep -q 'iscsi-target.target\$' '$RUN_DIR/lsinitrd.txt'"
chroot_umount
timer_end step2-chroot-install

mc_root0=$(mount_count root) mc_boot0=$(mount_count boot)

# ── 2b. the machine itself: local boot, boot entry + ISO, grub-reboot ──────────────────────────────────
timer_start local-phase
t_local=$EPOCHREALTIME
mapfile -t nic < <(nic_opts lan "user,restrict=on" "$TARGET_MAC")
vm_start local "" "" "" --disk "$disk,serial=$DISK_SERIAL" "${nic[@]}"
local_ok=0
if wait_login local "$t_local" 'Kernel panic|Entering emergency mode|Give root password for maintenance'; then
    local_secs=$BOOT_SECS
    shell_ready local && local_ok=1
fi
((local_ok)) || die "the image does not boot locally"
guest 'systemctl is-active multi-user.target' || true
check_eq "local: multi-user.target active" active "$GUEST_OUT"
guest 'findmnt -n -o SOURCE /; findmnt -n -o SOURCE /boot' || true
check_eq "local: / and /boot on the virtio disk" "/dev/vda3 /dev/vda2" "$(echo "$GUEST_OUT" | tr '\n' ' ' | sed 's/ $//')"
guest 'cat /proc/cmdline' || true
info "local /proc/cmdline: $GUEST_OUT"
check "local console shows the kernel's EXT4 mount messages (calibrates the target check)" \
    console_has local 'EXT4-fs \(vda[0-9]+\): mounted filesystem'

t=$EPOCHREALTIME
guest -t 600 "/etc/kernel/postinst.d/iscsi-target $KVER /boot/vmlinuz-$KVER; echo rc=\$?" || true
echo "$GUEST_OUT" | sed 's/^/  local hook: /'
LIB_TIMES+=("local-postinst-hook $(since "$t")s")
check_match "local: postinst hook wrote the GRUB record and the ISO" \
    "GRUB menu entry data /var/lib/dracut/iscsi-target/grub/$KVER.conf.*initiator ISO /var/lib/dracut/iscsi-target/iscsi-boot-$KVER.iso.*rc=0" \
    "$(echo "$GUEST_OUT" | tr '\n' ' ')"
t=$EPOCHREALTIME
guest -t 300 'update-grub 2>&1; echo rc=$?' || true
echo "$GUEST_OUT" | sed 's/^/  local update-grub: /'
LIB_TIMES+=("local-update-grub $(since "$t")s")
check_match "local: update-grub lists the iSCSI Target entry" "rc=0" "$GUEST_OUT"
guest "grep -c \"menuentry 'iSCSI Target ($KVER)\" /boot/grub/grub.cfg; grub-script-check /boot/grub/grub.cfg && echo syntax-ok" || true
check_match "local: grub.cfg has one 'iSCSI Target ($KVER)' menuentry and passes grub-script-check" $'^1\nsyntax-ok$' "$GUEST_OUT"
guest 'md5sum < /var/lib/dracut/iscsi-target/grub/*.conf' || true
record_md5_hook=$GUEST_OUT
t=$EPOCHREALTIME
guest -t 600 "kernel-install add $KVER /boot/vmlinuz-$KVER 2>&1; echo rc=\$?" || true
echo "$GUEST_OUT" | sed 's/^/  local kernel-install: /'
LIB_TIMES+=("local-kernel-install $(since "$t")s")
check_match "local: kernel-install add succeeds and runs our plugin" \
    "iscsi-target-boot: .*rc=0" "$(echo "$GUEST_OUT" | tr '\n' ' ')"
guest 'md5sum < /var/lib/dracut/iscsi-target/grub/*.conf' || true
check_eq "local: kernel-install add writes the same GRUB record as the postinst hook" "$record_md5_hook" "$GUEST_OUT"
guest "ls -l /boot /var/lib/dracut/iscsi-target /var/lib/dracut/iscsi-target/grub /etc/iscsi-target; cat /var/lib/dracut/iscsi-target/grub/$KVER.conf" || true
echo "$GUEST_OUT" | sed 's/^/  local: /'
guest "grub-reboot 'iscsi-target-$KVER' && grub-editenv list" || true
check_match "local: grub-reboot selects the iSCSI Target entry for the next boot" "^next_entry=iscsi-target-$KVER$" "$GUEST_OUT"
guest 'systemctl --failed --no-legend --plain' || true
[[ -z $GUEST_OUT ]] || info "local: failed units: $GUEST_OUT"
poweroff_guest local 120
timer_end local-phase
mc_root1=$(mount_count root) mc_boot1=$(mount_count boot)
local_d_root=$((mc_root1 - mc_root0)) local_d_boot=$((mc_boot1 - mc_boot0))
info "local boot: ext4 mount count / +$local_d_root, /boot +$local_d_boot"
check "after the local boot: e2fsck -fn / is clean" e2fsck -fn "$disk?offset=$ROOT_OFFSET"
check "after the local boot: e2fsck -fn /boot is clean" e2fsck -fn "$disk?offset=$BOOT_OFFSET"

# What the machine made, read from its disk.
iso=$RUN_DIR/iscsi-boot.iso
record=$RUN_DIR/record.conf
img_dump root "/var/lib/dracut/iscsi-target/iscsi-boot-$KVER.iso" "$iso" || die "no ISO on the disk"
img_cat root "/var/lib/dracut/iscsi-target/grub/$KVER.conf" >"$record" || true
img_cat boot /grub/grub.cfg >"$RUN_DIR/grub.cfg" || true
chap_pass=$(img_cat root /etc/iscsi-target/chap-secrets | sed -n 's/^password=//p')
chap_mutual=$(img_cat root /etc/iscsi-target/chap-secrets | sed -n 's/^mutual_password=//p')
[[ -n $chap_pass ]] || die "no password= in the image's /etc/iscsi-target/chap-secrets"
check_eq "chap-secrets is root-only (0600)" 100600 \
    "$(debugfs -R 'stat /etc/iscsi-target/chap-secrets' "$disk?offset=$ROOT_OFFSET" 2>/dev/null | sed -n 's/.*Mode: *0*\([0-7]*\).*/100\1/p' | head -n1)"
check_match "the ISO is a hybrid ISO 9660 image" 'ISO 9660.*(DOS/MBR|bootable)' "$(file -b "$iso")"
target_opts=$(sed -n 's/^options[[:space:]]\+//p' "$record")
info "iSCSI Target options: $target_opts"
check_match "target entry: holds the boot, storage-stack keys incl. rd.multipath=0, exports the disk by id, NIC by the machine's MAC" \
    "rd.systemd.unit=iscsi-target.target rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0 .*ifname=iscsi0:$TARGET_MAC .*rd.iscsi_target.dev=/dev/disk/by-id/virtio-$DISK_SERIAL" "$target_opts"
mkdir -p "$RUN_DIR/iso-cfg"
xorriso -osirrox on -indev "$iso" -extract /isolinux/isolinux.cfg "$RUN_DIR/iso-cfg/isolinux.cfg" \
    -extract /boot/grub/grub.cfg "$RUN_DIR/iso-cfg/grub.cfg" >/dev/null 2>&1 || true
iso_cmdline=$(grep -h -i -o 'append .*' "$RUN_DIR/iso-cfg/isolinux.cfg" 2>/dev/null | head -n1 || true)
info "ISO (isolinux) $iso_cmdline"
check_match "ISO command line: the machine's root=, the /30 link, netroot= to the target IQN" \
    "root=UUID=$ROOT_UUID .*ip=10.251.73.2:::255.255.255.252:::off .*netroot=iscsi:10.251.73.1::3260::iqn" "$iso_cmdline"
for f in "$record" "$RUN_DIR/grub.cfg" "$RUN_DIR/iso-cfg/isolinux.cfg" "$RUN_DIR/iso-cfg/grub.cfg"; do
    if grep -q -F -e "$chap_pass" "$f" || { [[ -n $chap_mutual ]] && grep -q -F -e "$chap_mutual" "$f"; }; then
        fail "CHAP secret in $(basename "$f") (readable boot configuration)"
    else
        pass "no CHAP secret in $(basename "$f")"
    fi
done

# ── 3a. target alone, on a throwaway overlay: what does it write? ──────────────────────────────────────
boot_target() { # boot_target NAME DISKSPEC PORT → waits for ready; sets TARGET_READY_SECS
    local t0=$EPOCHREALTIME
    mapfile -t nic < <(nic_opts cable "socket,listen=127.0.0.1:$3" "$TARGET_MAC")
    vm_start "$1" "" "" "" --disk "$2" "${nic[@]}"
    target_boot_result "$1" "$boot_timeout" || return 1
    TARGET_READY_SECS=$(since "$t0")
    LIB_TIMES+=("$1-boot-to-ready ${TARGET_READY_SECS}s")
    echo "TIME: $1-boot-to-ready ${TARGET_READY_SECS}s"
}
target_checks() { # target_checks NAME
    check "$1: GRUB booted the iSCSI Target entry (kernel command line)" \
        console_has "$1" 'Command line: BOOT_IMAGE=/vmlinuz-.*rd\.systemd\.unit=iscsi-target\.target'
    if console_has "$1" 'EXT4-fs \(vd' >"$RUN_DIR/$1-ext4.txt"; then
        fail "$1: the console shows an ext4 mount of the disk: $(head -n 3 "$RUN_DIR/$1-ext4.txt")"
    else
        pass "$1: no ext4 mount of the disk on the console"
    fi
    no_bracketed_paste
    if vm_wait_shell 120; then
        guest 'grep -c "^/dev/vd" /proc/mounts; ls -A /sysroot 2>/dev/null | grep -c .' || true
        check_eq "$1: nothing of the disk mounted, /sysroot empty" $'0\n0' "$GUEST_OUT"
        guest '/usr/sbin/iscsi-target status' || true
        echo "$GUEST_OUT" | sed "s/^/  $1 status: /"
    else
        fail "$1: the operator shell does not answer on the console"
        vm_dump_console 40
    fi
}
timer_start step3-target-alone
overlay=$RUN_DIR/target-alone.qcow2
qemu-img create -q -f qcow2 -b "$disk" -F raw "$overlay"
port0=$(free_port)
if boot_target target-alone "$overlay,format=qcow2,serial=$DISK_SERIAL" "$port0"; then
    target_checks target-alone
    poweroff_guest target-alone 120
else
    vm_kill
fi
# Every cluster the guest wrote is allocated in the overlay. GRUB itself clears next_entry in grubenv.
grubenv_block=$(debugfs -R 'bmap /grub/grubenv 0' "$disk?offset=$BOOT_OFFSET" 2>/dev/null | tr -dc 0-9)
grubenv_off=$((BOOT_OFFSET + grubenv_block * 4096))
written=$(qemu-img map --output=json "$overlay" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["depth"] == 0 and (e.get("data") or e.get("zero")):
        print(e["start"], e["start"] + e["length"])')
info "target-alone wrote to (byte ranges): ${written:-nothing}; grubenv at $grubenv_off"
bad=$(awk -v g="$grubenv_off" -v c=65536 '{ if (!($1 <= g && g < $2 && $2 - $1 <= c)) print }' <<<"$written")
check_eq "target alone: wrote nothing to the disk but GRUB's grubenv" "" "$bad"
check_match "target alone: GRUB did clear next_entry (the overlay holds that write)" "[0-9]" "$written"
rm -f "$overlay"
timer_end step3-target-alone

# ── 3b/4. target on the disk + initiators ──────────────────────────────────────────────────────────────
timer_start step3-target
port=$(free_port)
boot_target target "$disk,serial=$DISK_SERIAL" "$port" || die "the target never became ready"
timer_end step3-target
vm_use target
target_checks target

token_bios="e2e-bios-$(date +%s)-$SRANDOM"
token_uefi="e2e-uefi-$(date +%s)-$SRANDOM"
initiator_boots=0 step5_ran=0
init_fail_re='Kernel panic|Entering emergency mode|Give root password|dracut-initqueue.*[Tt]imeout|Could not boot'

initiator_checks() { # initiator_checks NAME TOKEN
    local n=$1
    guest 'systemctl is-active multi-user.target; hostname' || true
    check_eq "$n: multi-user.target active on the machine's own OS" $'active\nitgt-debian' "$GUEST_OUT"
    guest 'findmnt -n -o SOURCE /; cat /sys/class/iscsi_session/session*/targetname; grep -o "netroot=[^ ]*" /proc/cmdline' || true
    check_match "$n: / is on the iSCSI disk of the target's IQN" \
        '^/dev/sd[a-z]+3'$'\n''iqn\.2024-01\.org\.dracut-iscsi-target:[0-9a-f]{12}\.target'$'\n''netroot=iscsi:10\.251\.73\.1::3260::' "$GUEST_OUT"
    guest 'findmnt -n -o SOURCE /boot' || true
    check_match "$n: /boot (by UUID from fstab) is on the iSCSI disk too" '^/dev/sd[a-z]+2$' "$GUEST_OUT"
    guest 'ip -o -4 addr show | grep -o "inet 10\.251\.73\.2/30"; ip -o link show | grep -c "state UP"' || true
    check_eq "$n: the iSCSI NIC kept the initramfs's address (the booted system's network setup left it alone)" \
        $'inet 10.251.73.2/30\n1' "$GUEST_OUT"
    guest 'systemctl --failed --no-legend --plain' || true
    check_eq "$n: no failed systemd units" "" "$GUEST_OUT"
    guest 'cat /proc/cmdline' || true
    info "$n /proc/cmdline: $GUEST_OUT"
    if [[ $GUEST_OUT == *"$chap_pass"* ]] || { [[ -n $chap_mutual ]] && [[ $GUEST_OUT == *"$chap_mutual"* ]]; }; then
        fail "$n: a CHAP secret is in /proc/cmdline"
    else
        pass "$n: no CHAP secret in /proc/cmdline"
    fi
    # grep in the guest (the whole journal over a TCG serial line is slow); the typed command is not output.
    guest "{ dmesg; journalctl -b --no-pager -o cat; } 2>/dev/null | grep -F -e '$chap_pass' ${chap_mutual:+-e '$chap_mutual'} | cut -c1-200 | head -n 3; echo lines=\$(journalctl -b -o cat 2>/dev/null | wc -l)" || true
    if grep -q -v '^lines=' <<<"$GUEST_OUT"; then
        fail "$n: a CHAP secret is in the kernel log / journal: $(grep -v '^lines=' <<<"$GUEST_OUT" | tr '\n' ' ')"
    else
        check_match "$n: no CHAP secret in the kernel log / journal (searched a non-empty journal)" '^lines=[1-9][0-9]*$' "$GUEST_OUT"
    fi
    guest "echo $2 > /root/$n.token && sync && cat /root/$n.token" || true
    check_eq "$n: wrote the token file" "$2" "$GUEST_OUT"
}
shutdown_checks() { # shutdown_checks NAME CONSOLE_OFFSET
    local errs
    errs=$(vm_console_since "$2" | grep -a -E 'I/O error|detected conn error|Buffer I/O|Failed to unmount|EXT4-fs error|Kernel panic' | head -n 5 || true)
    check_eq "$1: clean shutdown (no I/O / iSCSI connection errors on the console)" "" "$errs"
}

# 4a. SeaBIOS, ISO as CD
timer_start step4-initiator-bios
t0=$EPOCHREALTIME
mapfile -t nic < <(nic_opts cable "socket,connect=127.0.0.1:$port" "$INITIATOR_MAC")
vm_start init-bios "" "" "" --cdrom "$iso" --qemu -boot --qemu d "${nic[@]}"
bios_secs=""
if wait_login init-bios "$t0" "$init_fail_re"; then
    bios_secs=$BOOT_SECS
    initiator_boots=$((initiator_boots + 1))
    if shell_ready init-bios; then
        initiator_checks init-bios "$token_bios"
        off=$(stat -c %s "${VM_DIR[init-bios]}/console.log")
        poweroff_guest init-bios 180
        shutdown_checks init-bios "$off"
    else
        vm_kill
    fi
else
    vm_kill
fi
timer_end step4-initiator-bios

# 4b. OVMF (q35), ISO as USB stick; then step 5 on it
timer_start step4-initiator-uefi
cp "$OVMF_VARS" "$RUN_DIR/OVMF_VARS.fd"
vm_use target
if ! vm_alive; then fail "target: died during the BIOS initiator run"; vm_dump_console 40; fi
t0=$EPOCHREALTIME
mapfile -t nic < <(nic_opts cable "socket,connect=127.0.0.1:$port" "52:54:00:1a:7e:03")
vm_start init-uefi "" "" "" "${nic[@]}" --qemu -machine --qemu q35 \
    --qemu -drive --qemu "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
    --qemu -drive --qemu "if=pflash,format=raw,unit=1,file=$RUN_DIR/OVMF_VARS.fd" \
    --qemu -device --qemu qemu-xhci,id=xhci \
    --qemu -drive --qemu "if=none,id=stick,format=raw,readonly=on,file=$iso" \
    --qemu -device --qemu usb-storage,bus=xhci.0,drive=stick,bootindex=0
uefi_secs=""
if wait_login init-uefi "$t0" "$init_fail_re"; then
    uefi_secs=$BOOT_SECS
    initiator_boots=$((initiator_boots + 1))
    if shell_ready init-uefi; then
        initiator_checks init-uefi "$token_uefi"
        # ── 5. a kernel (re)installed while running on the initiator keeps the machine's own settings ──
        timer_start step5-reinstall-on-initiator
        step5_ran=1
        t=$EPOCHREALTIME
        guest -t 600 "/etc/kernel/postinst.d/iscsi-target $KVER /boot/vmlinuz-$KVER; echo rc=\$?" || true
        echo "$GUEST_OUT" | sed 's/^/  initiator hook: /'
        LIB_TIMES+=("initiator-postinst-hook $(since "$t")s")
        check_match "init-uefi: the postinst hook succeeds" "rc=0$" "$GUEST_OUT"
        t=$EPOCHREALTIME
        guest -t 300 'update-grub >/dev/null 2>&1; echo rc=$?' || true
        LIB_TIMES+=("initiator-update-grub $(since "$t")s")
        check_eq "init-uefi: update-grub succeeds" "rc=0" "$GUEST_OUT"
        t=$EPOCHREALTIME
        # Every plugin but 50-depmod: depmod reads all of /lib/modules/KVER, which over the TCG-emulated iSCSI
        # link took 373 s (a few seconds on the local disk); ours took 4 s. Verbose, each line stamped, so the
        # time per plugin is reported.
        guest -t 900 "KERNEL_INSTALL_PLUGINS=\"\$(ls /etc/kernel/install.d/*.install /usr/lib/kernel/install.d/*.install 2>/dev/null | grep -v -- -depmod)\" kernel-install -v add $KVER /boot/vmlinuz-$KVER 2>&1 | while IFS= read -r l; do echo \"\$(date +%s) \$l\"; done >/root/ki.log; echo rc=\${PIPESTATUS[0]}; echo \"\$(date +%s) END\" >>/root/ki.log" || true
        ki_rc=$GUEST_OUT
        guest 'grep -E "^[0-9]+ (\+/[^ ]+\.install add|END)" /root/ki.log; rm -f /root/ki.log' || true
        awk '{ if (prev) printf "INFO: initiator kernel-install: %s %ds\n", name, $1 - prev; prev = $1; n = split($2, p, "/"); name = p[n] }' <<<"$GUEST_OUT"
        check_match "init-uefi: kernel-install ran our plugin" '95-iscsi-target\.install add' "$GUEST_OUT"
        GUEST_OUT=$ki_rc
        LIB_TIMES+=("initiator-kernel-install $(since "$t")s")
        check_eq "init-uefi: kernel-install add succeeds" "rc=0" "$GUEST_OUT"
        guest "cat /var/lib/dracut/iscsi-target/grub/$KVER.conf" || true
        printf '%s\n' "$GUEST_OUT" >"$RUN_DIR/record-initiator.conf"
        if diff -u "$record" "$RUN_DIR/record-initiator.conf" >"$RUN_DIR/record.diff"; then
            pass "init-uefi: the regenerated iSCSI Target record is the machine's own"
        else
            fail "init-uefi: the regenerated iSCSI Target record differs from the machine's own: $(grep '^[-+][^-+]' "$RUN_DIR/record.diff" | tr '\n' ' ' | cut -c1-600)"
        fi
        guest "grep -E '^[[:space:]]*linux[[:space:]]' /boot/grub/grub.cfg" || true
        printf '%s\n' "$GUEST_OUT" >"$RUN_DIR/grub-linux-initiator.txt"
        grep -E '^[[:space:]]*linux[[:space:]]' "$RUN_DIR/grub.cfg" >"$RUN_DIR/grub-linux-local.txt" || true
        check "init-uefi: grub.cfg kernel lines after update-grub are the machine's own" \
            diff -u "$RUN_DIR/grub-linux-local.txt" "$RUN_DIR/grub-linux-initiator.txt"
        normal=$(grep -v 'rd.systemd.unit=iscsi-target.target' "$RUN_DIR/grub-linux-initiator.txt" || true)
        check_eq "init-uefi: the normal grub.cfg entries carry no netroot=/ip=/rd.iscsi" "" \
            "$(grep -E -o '(netroot|ip|rd\.iscsi[a-z_.]*)=[^ ]*' <<<"$normal" | sort -u | tr '\n' ' ')"
        timer_end step5-reinstall-on-initiator
        off=$(stat -c %s "${VM_DIR[init-uefi]}/console.log")
        poweroff_guest init-uefi 180
        shutdown_checks init-uefi "$off"
    else
        vm_kill
    fi
else
    vm_kill
fi
timer_end step4-initiator-uefi

# ── target poweroff through its console ────────────────────────────────────────────────────────────────
vm_use target
no_bracketed_paste
if vm_alive && vm_wait_shell 60; then
    poweroff_guest target 120
else
    fail "target: gone or no shell at the end"
    vm_dump_console 40
    vm_kill
fi

# ── 6. host-side checks ─────────────────────────────────────────────────────────────────────────────────
check_eq "disk: the BIOS initiator's token is on the disk" "$token_bios" "$(img_cat root /root/init-bios.token)"
check_eq "disk: the UEFI initiator's token is on the disk" "$token_uefi" "$(img_cat root /root/init-uefi.token)"
check "disk: e2fsck -fn / is clean" e2fsck -fn "$disk?offset=$ROOT_OFFSET"
check "disk: e2fsck -fn /boot is clean" e2fsck -fn "$disk?offset=$BOOT_OFFSET"
mc_root2=$(mount_count root) mc_boot2=$(mount_count boot)
check_eq "disk: / mount count grew by the initiator boots only ($initiator_boots × $local_d_root)" \
    "$((initiator_boots * local_d_root))" "$((mc_root2 - mc_root1))"
check_eq "disk: /boot mount count grew by the initiator boots only ($initiator_boots × $local_d_boot)" \
    "$((initiator_boots * local_d_boot))" "$((mc_boot2 - mc_boot1))"
# The ISO rebuilt on the initiator (step 5) must boot the same way as the machine's.
if ((step5_ran == 0)); then
    info "step 5 did not run: no rebuilt ISO to compare"
elif img_dump root "/var/lib/dracut/iscsi-target/iscsi-boot-$KVER.iso" "$RUN_DIR/iscsi-boot-2.iso"; then
    mkdir -p "$RUN_DIR/iso-cfg-2"
    xorriso -osirrox on -indev "$RUN_DIR/iscsi-boot-2.iso" -extract /isolinux/isolinux.cfg "$RUN_DIR/iso-cfg-2/isolinux.cfg" \
        -extract /boot/grub/grub.cfg "$RUN_DIR/iso-cfg-2/grub.cfg" >/dev/null 2>&1 || true
    check "disk: the ISO rebuilt on the initiator has the machine's boot menus (isolinux.cfg, grub.cfg)" \
        diff -r "$RUN_DIR/iso-cfg" "$RUN_DIR/iso-cfg-2"
else
    fail "disk: no ISO after the reinstall on the initiator"
fi

# ── timings ─────────────────────────────────────────────────────────────────────────────────────────────
info "boot-to-login: local disk ${local_secs:-?}s, over iSCSI: SeaBIOS+CD ${bios_secs:-?}s, OVMF+USB ${uefi_secs:-?}s"
timer_end total
finish
