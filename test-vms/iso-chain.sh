#!/bin/bash
# test-vms/iso-chain.sh BUILD_DIR — the generated artifacts working together, as a user's two machines use them
# (issue 3):
#   1. ONE initramfs (systemd flavour) holding our iscsi-target module and dracut's iscsi module, as a real
#      system's initramfs would: the same image serves the target and, inside the ISO, the initiator.
#   2. The real `kernel-install add` (90-loaderentry + our 95-iscsi-target plugin, layout=bls) in a throwaway
#      tree writes the "iSCSI Target" BLS entry, its secrets initrd and the initiator ISO.
#   3. The target VM boots exactly what the entry says: its `linux`, all its `initrd` files (concatenated, each
#      padded to 4 bytes, as a boot loader loading several initrds places them) and its `options` — nothing
#      added. Its only NIC is a qemu socket link with the MAC named in the config.
#   4. The ISO boots a diskless initiator VM on that link, once per firmware/medium (SeaBIOS CD, SeaBIOS USB
#      stick, OVMF CD, OVMF virtio disk), the target staying up. Each boot must reach the test rootfs over
#      iSCSI (mutual CHAP from the ISO's iscsid.conf) and write its token; the CHAP secrets must appear neither
#      on its kernel command line nor anywhere on its console. Before each boot `kernel-install add` runs again
#      with a new test.token in initiator_cmdline, so the disk shows which boot wrote last (and re-running
#      kernel-install is shown to keep the CHAP secrets the running target uses).
#   5. The target is powered off from its console (`systemctl poweroff`); on the host the last token is on the
#      disk (debugfs) and e2fsck -fn is clean.
# The 10.251.73.0/30 addresses (the product's defaults) exist only on the qemu link; the host side uses
# 127.0.0.1 only.
#
# Environment (besides lib.sh's VM_* variables):
#   ISO_CHAIN_MODES            boot modes, in order (default "bios-cd bios-usb uefi-cd uefi-disk";
#                              also known: bios-disk uefi-usb)
#   ISO_CHAIN_READY_TIMEOUT (300) / ISO_CHAIN_BOOT_TIMEOUT (300) / ISO_CHAIN_POWEROFF_GRACE (120)   seconds
# Artifacts: ${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/iso-chain/runs/iso-chain-* (kept on failure or with
# VM_KEEP=1).  Exit status 0 only if every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 BUILD_DIR   (BUILD_DIR/tools/iscsi-target and iscsi-target-boot must exist)" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
BUILD_DIR=$(cd "$1" && pwd) || usage
BINDIR=$BUILD_DIR/tools

VM_WORKDIR="${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/iso-chain"
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

modes=${ISO_CHAIN_MODES:-bios-cd bios-usb uefi-cd uefi-disk}
ready_timeout=${ISO_CHAIN_READY_TIMEOUT:-300}
boot_timeout=${ISO_CHAIN_BOOT_TIMEOUT:-300}
poweroff_grace=${ISO_CHAIN_POWEROFF_GRACE:-120}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd

DISK_SERIAL=root                      # → /dev/disk/by-id/virtio-root in the target VM
ROOT_LABEL=itgt-root                  # rootfs.sh's label
INITIATOR_MAC=52:54:00:a5:0c:02       # one initiator machine, booted four times

bash "$HERE/deps.sh"
bash "$HERE/iso-deps.sh"
lib_setup iso-chain
timer_start total
for b in iscsi-target iscsi-target-boot; do
    [[ -x $BINDIR/$b ]] || die "$BINDIR/$b not found: build first (cmake --build BUILD_DIR)"
done
for f in "$OVMF_CODE" "$OVMF_VARS"; do [[ -r $f ]] || die "$f missing (test-vms/iso-deps.sh)"; done
for m in $modes; do
    case $m in bios-cd | bios-usb | bios-disk | uefi-cd | uefi-usb | uefi-disk) ;;
    *) die "ISO_CHAIN_MODES: unknown mode '$m'" ;; esac
done

# ── the exported disk ─────────────────────────────────────────────────────────────────────────────────
disk=$RUN_DIR/disk.img
ROOTFS_LABEL=$ROOT_LABEL "$HERE/rootfs.sh" "$disk" >"$RUN_DIR/rootfs.log" 2>&1 \
    || { cat "$RUN_DIR/rootfs.log"; die "rootfs.sh failed"; }

# ── one initramfs for both sides ──────────────────────────────────────────────────────────────────────
# Compressed, as a distribution's initramfs is: both VMs then unpack a compressed archive followed by our
# uncompressed secrets/CHAP cpio, as real machines do, and the ISO shrinks from ~105 MB to ~36 MB (the guest
# kernel spends 2-4 s more unpacking; the firmware reads less).
export VM_DRACUT_COMPRESS=${VM_DRACUT_COMPRESS:-zstd -3 -q -T0}
# sd_mod: the iSCSI LUN is a SCSI disk (lib.sh's module list has no kernel-modules).  Debian's iscsid.service
# runs startup-checks.sh before iscsid; dracut's iscsi module does not install it.
initramfs_opts=(--target-bindir "$BINDIR" --add-modules iscsi --drivers 'iscsi_tcp sd_mod')
[[ -e /lib/open-iscsi/startup-checks.sh ]] && initramfs_opts+=(--install /lib/open-iscsi/startup-checks.sh)
build_initramfs "$RUN_DIR/initramfs.img" systemd "${initramfs_opts[@]}"

# ── kernel-install in a throwaway tree ────────────────────────────────────────────────────────────────
T=$RUN_DIR/tree
conf=$T/conf boot=$T/boot root=$T/root
mkdir -p "$conf" "$boot/loader/entries" "$root/etc/iscsi-target"
echo "layout=bls" >"$conf/install.conf"
echo "console=ttyS0" >"$conf/cmdline"   # the "system's own" command line, as /etc/kernel/cmdline would be
TARGET_MAC=$(vm_mac target 0)           # the target's socket NIC (NIC 0 of VM "target")
export ISCSI_TARGET_TEST_ROOT=$root KERNEL_INSTALL_CONF_ROOT=$conf BOOT_ROOT=$boot
export ISCSI_TARGET_BOOT=$BINDIR/iscsi-target-boot
export KERNEL_INSTALL_PLUGINS="/usr/lib/kernel/install.d/90-loaderentry.install $REPO_DIR/kernel-install.d/95-iscsi-target.install"
iso=$root/var/lib/dracut/iscsi-target/iscsi-boot-$KVER.iso
gen=0

# generate TOKEN: the config with this token, then `kernel-install add` as a kernel update would run it.
generate() {
    gen=$((gen + 1))
    cat >"$root/etc/iscsi-target/iscsi-target.conf" <<CONF
devices = /dev/disk/by-id/virtio-$DISK_SERIAL
nic = $TARGET_MAC
initiator_root = root=LABEL=$ROOT_LABEL rw
initiator_cmdline = console=ttyS0 test.token=$1
target_cmdline = console=ttyS0
CONF
    local log=$RUN_DIR/kernel-install-$gen.log
    timer_start "kernel-install-add-$gen"
    if ! kernel-install add "$KVER" "$KERNEL" "$RUN_DIR/initramfs.img" >"$log" 2>&1; then
        cat "$log"
        die "kernel-install add failed"
    fi
    timer_end "kernel-install-add-$gen"
    if grep -q 'iscsi-target-boot: error' "$log"; then
        cat "$log"
        die "iscsi-target-boot reported an error (above)"
    fi
}

new_token() { echo "itgt-$(date +%s)-$SRANDOM"; }
token=$(new_token)
generate "$token"
sed 's/^/    /' "$RUN_DIR/kernel-install-1.log"

entry=$(compgen -G "$boot/loader/entries/*-$KVER-iscsi-target.conf" || true)
[[ -n $entry && -f $entry ]] || die "no iSCSI Target entry in $boot/loader/entries"
info "entry $entry:"
sed 's/^/    /' "$entry"
chap_user=$(sed -n 's/^username=//p' "$root/etc/iscsi-target/chap-secrets")
chap_pass=$(sed -n 's/^password=//p' "$root/etc/iscsi-target/chap-secrets")
chap_muser=$(sed -n 's/^mutual_username=//p' "$root/etc/iscsi-target/chap-secrets")
chap_mpass=$(sed -n 's/^mutual_password=//p' "$root/etc/iscsi-target/chap-secrets")
[[ -n $chap_pass && -n $chap_mpass ]] || die "chap-secrets lacks password= or mutual_password= (mutual CHAP is the default)"

# no_secret FILE: neither CHAP password occurs in FILE
no_secret() { ! grep -aqF -e "$chap_pass" -e "$chap_mpass" "$1"; }
check "entry: no CHAP password in the entry file" no_secret "$entry"

field() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' "$2"; }
loader_root=$(stat -c %m "$boot")   # loader paths are relative to the file system holding BOOT_ROOT
loader_file() { echo "${loader_root%/}$1"; }
linux_file=$(loader_file "$(field linux "$entry" | head -n1 | cut -d' ' -f1)")
mapfile -t initrd_paths < <(field initrd "$entry" | cut -d' ' -f1)
options=$(field options "$entry" | paste -sd' ')
check_eq "entry: two initrd lines (the kernel's initramfs, then the secrets archive)" 2 "${#initrd_paths[@]}"
check "entry: linux file exists" test -s "$linux_file"
# The kernel unpacks concatenated cpio archives at 4-byte boundaries; boot loaders (GRUB, systemd-boot) place
# several initrds one after the other the same way.
target_initrd=$RUN_DIR/target-initrd.img
: >"$target_initrd"
for p in "${initrd_paths[@]}"; do
    f=$(loader_file "$p")
    [[ -s $f ]] || die "initrd $p of the entry ($f) missing"
    cat "$f" >>"$target_initrd"
    size=$(stat -c %s "$f")
    head -c $(((4 - size % 4) % 4)) /dev/zero >>"$target_initrd"
done
secrets_initrd=$(loader_file "${initrd_paths[-1]}")
secrets_sum=$(sha256sum <"$secrets_initrd")
check_eq "entry: secrets initrd is 0600" 600 "$(stat -c %a "$secrets_initrd")"
check "entry: the secrets initrd holds the CHAP password" grep -aqF "$chap_pass" "$secrets_initrd"
check "ISO: written" test -s "$iso"
# (Functions, not `bash -c '… $chap_pass …'`: check logs its command line, and secrets stay out of logs.)
iso_menus() {
    local d=$RUN_DIR/iso-menus
    mkdir -p "$d"
    xorriso -osirrox on -indev "$iso" -extract /isolinux/isolinux.cfg "$d/isolinux.cfg" \
        -extract /boot/grub/grub.cfg "$d/grub.cfg" >/dev/null 2>&1 || return 1
    cat "$d/isolinux.cfg" "$d/grub.cfg" >"$RUN_DIR/iso-menus.cfg"
}
check "ISO: menus readable" iso_menus
check "ISO: no CHAP password in its menus" no_secret "$RUN_DIR/iso-menus.cfg"

# ── target VM, booted as the boot loader would boot the entry ─────────────────────────────────────────
port=$(free_port)
info "target: linux $linux_file, initrds ${initrd_paths[*]}"
info "target: options $options"
timer_start target-boot-to-ready
vm_start target "$linux_file" "$target_initrd" "$options" \
    --disk "$disk,serial=$DISK_SERIAL,cache=writeback" \
    --net "socket,listen=127.0.0.1:$port"
wait_target_ready "$ready_timeout"
timer_end target-boot-to-ready
target_log=$(vm_log)

# ── initiator boots ───────────────────────────────────────────────────────────────────────────────────
# The boot medium gets bootindex=0, so the firmware boots it (and not the NIC); the NIC has no option ROM.
nic_opts=(--qemu -netdev --qemu "socket,id=ini,connect=127.0.0.1:$port"
    --qemu -device --qemu "virtio-net-pci,netdev=ini,mac=$INITIATOR_MAC,romfile=")
media_opts() {  # MODE → MEDIA_OPTS (ISO file as CD, USB stick or virtio disk) + firmware options
    local medium=${1#*-} firmware=${1%%-*}
    MEDIA_OPTS=()
    if [[ $firmware == uefi ]]; then
        local vars=$RUN_DIR/vars-$1.fd
        cp "$OVMF_VARS" "$vars"
        MEDIA_OPTS+=(--qemu -machine --qemu q35 --qemu -drive --qemu "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
            --qemu -drive --qemu "if=pflash,format=raw,unit=1,file=$vars")
    fi
    case $medium in
    cd) MEDIA_OPTS+=(--qemu -drive --qemu "file=$iso,if=none,id=boot,media=cdrom,readonly=on"
            --qemu -device --qemu "ide-cd,drive=boot,bootindex=0") ;;
    usb) MEDIA_OPTS+=(--qemu -drive --qemu "file=$iso,if=none,id=boot,format=raw,snapshot=on"
            --qemu -device --qemu "usb-ehci,id=ehci" --qemu -device --qemu "usb-storage,bus=ehci.0,drive=boot,bootindex=0") ;;
    disk) MEDIA_OPTS+=(--qemu -drive --qemu "file=$iso,if=none,id=boot,format=raw,snapshot=on"
            --qemu -device --qemu "virtio-blk-pci,drive=boot,bootindex=0") ;;
    esac
}

init_fail_re='ROOTFS: ERROR|Entering emergency mode|Kernel panic|dracut Warning: Could not boot|Refusing to continue'
init_fail_re+='|login failed due to authorization failure|Could not log into all portals|initiator reported error'
first=1 last_token=""
for mode in $modes; do
    if ((first)); then first=0; else token=$(new_token); generate "$token"; fi
    if [[ $(sha256sum <"$secrets_initrd") != "$secrets_sum" ]]; then
        fail "$mode: kernel-install add changed the secrets initrd (CHAP secrets must stay)"
    fi
    name=ini-$mode ok=1
    media_opts "$mode"
    timer_start "$mode-to-kernel"
    timer_start "$mode-to-rootfs"
    timer_start "$mode-total"
    vm_start "$name" "" "" "" "${MEDIA_OPTS[@]}" "${nic_opts[@]}"
    rc=0
    vm_wait_for "Command line:" "$boot_timeout" || rc=$?
    if ((rc != 0)); then
        fail "$mode: the kernel never printed its command line (firmware/boot loader stuck?)"
        vm_dump_console 40
        ok=0
    else
        timer_end "$mode-to-kernel"
        cmdline=${VM_MATCH#*Command line: }
        check_match "$mode: kernel command line carries this boot's token" "test\\.token=$token( |\$)" "$cmdline"
        [[ $CHECK_OK == 1 ]] || ok=0
        if [[ $cmdline == *"$chap_pass"* || $cmdline == *"$chap_mpass"* ]]; then
            fail "$mode: a CHAP password is on the kernel command line"
            ok=0
        else
            pass "$mode: no CHAP password on the kernel command line"
        fi
        rc=0
        vm_wait_for "^ROOTFS: booted|$init_fail_re" "$boot_timeout" || rc=$?
        if ((rc == 0)) && [[ $VM_MATCH == "ROOTFS: booted over iSCSI"* ]]; then
            timer_end "$mode-to-rootfs"
            pass "$mode: $VM_MATCH"
            if vm_wait_for '^ROOTFS: iscsi session ' 10; then
                check_match "$mode: session from the initiator IQN" " initiator [^ ]+\\.initiator\$" "$VM_MATCH"
                [[ $CHECK_OK == 1 ]] || ok=0
            else
                fail "$mode: the rootfs saw no iSCSI session"
                ok=0
            fi
            if vm_wait_for "^ROOTFS: (wrote token|ERROR)" 60 && [[ $VM_MATCH == "ROOTFS: wrote token" ]]; then
                pass "$mode: $VM_MATCH"
                last_token=$token
            else
                fail "$mode: no 'ROOTFS: wrote token' (${VM_MATCH:-nothing})"
                ok=0
            fi
        else
            case $rc in 1) why="no 'ROOTFS: booted' within ${boot_timeout}s" ;; 2) why="initiator VM died" ;;
            *) why="initiator reported: $VM_MATCH" ;; esac
            fail "$mode: $why"
            echo "---- $mode: iSCSI-related initiator console lines ----"
            tr -d '\r' <"$(vm_log)" | grep -aiE 'iscsi|login|chap|auth|netroot|connection|session' | tail -n 40 || true
            vm_dump_console 60
            ok=0
        fi
    fi
    grace=5   # a failed initiator never powers off by itself
    ((ok)) && grace=60
    if vm_stop "" "$grace"; then
        ((ok)) && pass "$mode: the initiator powered itself off"
    else
        fail "$mode: initiator still running ${grace}s later, killed"
        ok=0
    fi
    timer_end "$mode-total"
    check "$mode: no CHAP password anywhere on the initiator's console" no_secret "$(vm_log)"
    [[ $CHECK_OK == 1 ]] || ok=0
    if ((ok)); then echo "PASS: boot mode $mode"; else echo "FAIL: boot mode $mode"; fi
    vm_use target
    if ! vm_alive; then
        fail "target: VM died during the $mode boot"
        vm_dump_console 60
        break
    fi
done

# ── target: CHAP in force, then poweroff through its console ──────────────────────────────────────────
vm_use target
if ! vm_alive; then
    fail "target: not running after the initiator boots"
elif ! vm_wait_shell 60; then
    fail "target: no shell answers on the console"
    vm_dump_console 40
    vm_kill
else
    if status=$(vm_run -t 30 'iscsi-target status' 2>&1); then
        info "target status after the initiator boots:"
        printf '%s\n' "$status" | sed 's/^/    /'
    else
        fail "target: 'iscsi-target status' failed"
        printf '%s\n' "$status" | sed 's/^/    /'
    fi
    # What LIO itself enforces (configfs), independent of our status code.
    auth=$(vm_run -t 30 'cat /sys/kernel/config/target/iscsi/*/tpgt_1/attrib/authentication' 2>&1 || true)
    check_eq "target: LIO enforces authentication (tpgt_1/attrib/authentication)" 1 "$(tr -d '[:space:]' <<<"$auth")"
    userid=$(vm_run -t 30 'cat /sys/kernel/config/target/iscsi/*/tpgt_1/acls/*/auth/userid' 2>&1 || true)
    check_eq "target: ACL CHAP user is chap-secrets' username" "$chap_user" "$(tr -d '[:space:]' <<<"$userid")"
    muserid=$(vm_run -t 30 'cat /sys/kernel/config/target/iscsi/*/tpgt_1/acls/*/auth/userid_mutual' 2>&1 || true)
    check_eq "target: ACL mutual CHAP user is chap-secrets' mutual_username" "$chap_muser" "$(tr -d '[:space:]' <<<"$muserid")"
    mutual=$(vm_run -t 30 'cat /sys/kernel/config/target/iscsi/*/tpgt_1/acls/*/auth/authenticate_target' 2>&1 || true)
    check_eq "target: ACL requires mutual CHAP (auth/authenticate_target)" 1 "$(tr -d '[:space:]' <<<"$mutual")"
    timer_start target-poweroff
    if vm_stop "systemctl poweroff" "$poweroff_grace"; then
        pass "target: 'systemctl poweroff' powered it off"
    else
        fail "target: still running ${poweroff_grace}s after 'systemctl poweroff', killed"
        vm_dump_console 40
    fi
    timer_end target-poweroff
fi
check "target: no CHAP password anywhere on the target's console" no_secret "$target_log"

# ── host-side checks on the exported disk ─────────────────────────────────────────────────────────────
got=$(debugfs -R 'cat /initiator-was-here' "$disk" 2>/dev/null) || got="(debugfs failed)"
check_eq "disk: /initiator-was-here holds the last boot's token" "${last_token:-(no boot wrote one)}" "$got"
check "disk: e2fsck -fn is clean" e2fsck -fn "$disk"

timer_end total
finish
