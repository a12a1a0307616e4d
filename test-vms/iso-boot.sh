#!/bin/bash
# test-vms/iso-boot.sh BUILD_DIR — boot the initiator ISO in every way a user can: SeaBIOS and OVMF, as a CD,
# as a USB stick and as a disk (and with Secure Boot on when shim-signed and grub-efi-amd64-signed are
# installed). Each boot must reach dracut with the ISO's kernel command line (the kernel's "Command line:"
# on the serial console, then /proc/cmdline read in the guest) and with the extra initrd unpacked: its
# /etc/cmdline.d/99-iso-test.conf carries rd.break=cmdline, which is not on the kernel command line, so
# dracut stopping "before cmdline" proves dracut read it.
#
# Needs: test-vms/iso-deps.sh. Env: VM_WORKDIR, VM_KEEP, VM_KVER (see lib.sh); ISO_BOOT_MODES to pick modes
# (default: all), ISO_BOOT_TIMEOUT seconds per boot (default 150).
set -euo pipefail

build_dir=${1:?usage: iso-boot.sh BUILD_DIR}
build_dir=$(cd "$build_dir" && pwd)
# shellcheck source=test-vms/lib.sh
. "$(dirname "$0")/lib.sh"
lib_setup iso-boot

iso_tool=("$build_dir/tools/iscsi-target-boot" iso)
[[ -x ${iso_tool[0]} ]] || die "${iso_tool[0]} missing: build first"

OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd
OVMF_SB_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
OVMF_SB_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd   # Microsoft keys enrolled: shim's signature verifies
for f in "$OVMF_CODE" "$OVMF_VARS"; do [[ -r $f ]] || die "$f missing (test-vms/iso-deps.sh)"; done

# A small dracut image (module "base" only): enough to honour cmdline.d and rd.break. Cached by its inputs.
initrd=$RUN_DIR/initrd.img
key=$({ sha256sum "$KERNEL"; dpkg-query -W dracut-core 2>/dev/null || true; echo base; } | sha256sum | cut -c1-16)
cache=$VM_WORKDIR/cache/iso-boot-initrd-$key.img
timer_start initramfs
if [[ -s $cache ]]; then
    cp "$cache" "$initrd"
else
    mkdir -p "$RUN_DIR/empty-conf" "$VM_WORKDIR/cache"
    dracut --no-hostonly --conf /dev/null --confdir "$RUN_DIR/empty-conf" -m base --force "$initrd" "$KVER" \
        >"$RUN_DIR/dracut.log" 2>&1 || { tail -n 20 "$RUN_DIR/dracut.log"; die "dracut failed"; }
    cp "$initrd" "$cache.tmp.$$" && mv -f "$cache.tmp.$$" "$cache"
fi
timer_end initramfs

marker=iso$SRANDOM$SRANDOM
cmdline="console=ttyS0 iso.marker=$marker"
printf 'rd.break=cmdline\n' >"$RUN_DIR/99-iso-test.conf"
build_iso() {  # OUTPUT SECURE_BOOT
    timer_start "iso-build-$2"
    "${iso_tool[@]}" build --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline" --timeout 1 \
        --extra-file /etc/cmdline.d/99-iso-test.conf="$RUN_DIR/99-iso-test.conf" --secure-boot "$2" \
        --title "iso-boot test" --output "$1" | tee "$RUN_DIR/build-$2.log"
    timer_end "iso-build-$2"
}
iso=$RUN_DIR/plain/boot.iso
build_iso "$iso" no
check_eq "the ISO is private (0600)" 600 "$(stat -c %a "$iso")"
check_eq "its directory was created 0700" 700 "$(stat -c %a "$(dirname "$iso")")"
build_iso "$RUN_DIR/plain/again.iso" no >/dev/null
check "same inputs give the same bytes" cmp "$iso" "$RUN_DIR/plain/again.iso"
rm -f "$RUN_DIR/plain/again.iso"

sb_iso=""
if [[ -e /usr/lib/shim/shimx64.efi.signed && -e /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed && -r $OVMF_SB_CODE ]]; then
    sb_iso=$RUN_DIR/sb/boot.iso
    build_iso "$sb_iso" yes
    check_match "the Secure Boot ISO says it boots with Secure Boot on" "Secure Boot: yes" "$(cat "$RUN_DIR/build-yes.log")"
else
    info "shim-signed / grub-efi-amd64-signed not installed: Secure Boot boot skipped (iso-deps.sh --secure-boot)"
fi

# `iso write` onto a regular file standing in for a USB stick (--force: not a block device); the USB modes
# boot from what it wrote.
stick=$RUN_DIR/stick.img
truncate -s 64M "$stick"
if "${iso_tool[@]}" write "$iso" "$stick" --yes >"$RUN_DIR/write.log" 2>&1; then
    fail "iso write wrote into a regular file without --force"
else
    check_match "iso write refuses a regular file without --force" "is a regular file" "$(cat "$RUN_DIR/write.log")"
fi
timer_start iso-write
"${iso_tool[@]}" write "$iso" "$stick" --force --yes | tee "$RUN_DIR/write.log"
timer_end iso-write
check_match "iso write verified what it wrote" "verified every byte" "$(cat "$RUN_DIR/write.log")"
check "the stick holds the ISO's bytes" cmp -n "$(stat -c %s "$iso")" "$iso" "$stick"

usb_opts() {  # FILE → USB_OPTS: a USB stick on an EHCI controller, the firmware's first boot choice
    USB_OPTS=(--qemu -drive --qemu "file=$1,if=none,id=stick,format=raw,snapshot=on"
        --qemu -device --qemu "usb-ehci,id=ehci" --qemu -device --qemu "usb-storage,bus=ehci.0,drive=stick,bootindex=0")
}
ovmf_opts() {  # CODE VARS MACHINE → OVMF_OPTS: UEFI firmware with a private copy of its variable store
    local vars=$RUN_DIR/vars-$SRANDOM.fd
    cp "$2" "$vars"
    OVMF_OPTS=(--qemu -machine --qemu "$3" --qemu -drive --qemu "if=pflash,format=raw,unit=0,readonly=on,file=$1"
        --qemu -drive --qemu "if=pflash,format=raw,unit=1,file=$vars")
}

boot_one() {  # MODE EXPECT_SECURE_BOOT VM-OPTIONS...
    local mode=$1 secure=$2; shift 2
    if [[ -n ${ISO_BOOT_MODES:-} && " $ISO_BOOT_MODES " != *" $mode "* ]]; then return 0; fi
    local ok=1
    timer_start "boot-$mode"
    vm_start "$mode" "" "" "" "$@"
    if ! vm_wait_for "Command line:.*iso\.marker=$marker" "${ISO_BOOT_TIMEOUT:-150}"; then
        fail "$mode: the kernel did not start with the ISO's command line"
        vm_dump_console 40
        ok=0
    elif ! vm_wait_for "Break before cmdline" 90; then
        fail "$mode: dracut did not stop before cmdline (extra initrd not unpacked?)"
        vm_dump_console 40
        ok=0
    else
        timer_end "boot-$mode"
        local proc conf
        if vm_wait_shell 30 && proc=$(vm_run 'cat /proc/cmdline') && conf=$(vm_run 'cat /etc/cmdline.d/99-iso-test.conf'); then
            if [[ $proc == *"iso.marker=$marker"* && $proc != *rd.break* && $conf == rd.break=cmdline* ]]; then
                pass "$mode: /proc/cmdline has the marker; rd.break=cmdline came from the extra initrd"
            else
                fail "$mode: unexpected guest output: /proc/cmdline '$proc', 99-iso-test.conf '$conf'"
                ok=0
            fi
        else
            fail "$mode: no shell in the rd.break stop"
            ok=0
        fi
        if [[ $secure == yes ]]; then
            if grep -aq "Secure boot enabled" "$(vm_log)"; then
                pass "$mode: the kernel reports Secure Boot enabled"
            else
                fail "$mode: the kernel does not report Secure Boot enabled"
                ok=0
            fi
        fi
    fi
    vm_kill
    ((ok)) && echo "PASS: boot mode $mode" || echo "FAIL: boot mode $mode"
    return 0
}

usb_opts "$stick"
boot_one bios-cd no --cdrom "$iso"
boot_one bios-usb no "${USB_OPTS[@]}"
boot_one bios-disk no --disk "$iso,snapshot=on"
ovmf_opts "$OVMF_CODE" "$OVMF_VARS" q35
boot_one uefi-cd no "${OVMF_OPTS[@]}" --cdrom "$iso"
ovmf_opts "$OVMF_CODE" "$OVMF_VARS" q35
boot_one uefi-usb no "${OVMF_OPTS[@]}" "${USB_OPTS[@]}"
ovmf_opts "$OVMF_CODE" "$OVMF_VARS" q35
boot_one uefi-disk no "${OVMF_OPTS[@]}" --disk "$iso,snapshot=on"
if [[ -n $sb_iso ]]; then
    # SMM keeps the variable store (and so the Secure Boot keys) out of the guest's reach, as OVMF requires.
    secure_flash=(--qemu -global --qemu "driver=cfi.pflash01,property=secure,value=on")
    usb_opts "$sb_iso"
    ovmf_opts "$OVMF_SB_CODE" "$OVMF_SB_VARS" q35,smm=on
    boot_one uefi-secureboot-cd yes "${OVMF_OPTS[@]}" "${secure_flash[@]}" --cdrom "$sb_iso"
    ovmf_opts "$OVMF_SB_CODE" "$OVMF_SB_VARS" q35,smm=on
    boot_one uefi-secureboot-usb yes "${OVMF_OPTS[@]}" "${secure_flash[@]}" "${USB_OPTS[@]}"
fi
finish
