#!/bin/bash
# Real `kernel-install add`/`remove` (systemd's own binary and 90-loaderentry.install) with our plugin against a
# throwaway BOOT_ROOT, in both layouts: BLS, and GRUB without BLS (our /etc/grub.d script run through
# grub-mkconfig's library, output checked by grub-script-check). Also the Debian postinst/postrm hooks.
# Usage: test-vms/boot-entries.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
lib_setup boot-entries
export ISCSI_TARGET_BOOT=$BUILD/tools/iscsi-target-boot
[[ -x $ISCSI_TARGET_BOOT ]] || die "no $ISCSI_TARGET_BOOT (build first)"
command -v grub-script-check >/dev/null || die "grub-script-check missing (package grub-common)"

KVER2=${KVER%%-*}-99-test  # a second, newer-sorting version of the same kernel, to check the menu order
T=$RUN_DIR/tree
conf=$T/conf; boot=$T/boot; root=$T/root
mkdir -p "$conf" "$boot" "$root/etc/iscsi-target"
echo "root=UUID=11111111-2222-3333-4444-555555555555 ro quiet console=ttyS0,115200" >"$conf/cmdline"
cat >"$root/etc/iscsi-target/iscsi-target.conf" <<CONF
devices = /dev/disk/by-id/virtio-system
nic = 52:54:00:12:34:56
CONF
export ISCSI_TARGET_TEST_ROOT=$root KERNEL_INSTALL_CONF_ROOT=$conf BOOT_ROOT=$boot
initrd=$RUN_DIR/initrd.img
printf 'not really an initramfs\n' >"$initrd"
plugins_base="/usr/lib/kernel/install.d/90-loaderentry.install"
plugins_ours="$plugins_base $REPO_DIR/kernel-install.d/95-iscsi-target.install"

snapshot() { (cd "$1" && find . -printf '%y %m %p %s\n' | sort); }
ki() { KERNEL_INSTALL_PLUGINS="$1" kernel-install "${@:2}"; }
mode() { stat -c %a "$1"; }

# ── BLS ────────────────────────────────────────────────────────────────────────────────────────────────
echo "layout=bls" >"$conf/install.conf"
mkdir -p "$boot/loader/entries"
timer_start bls-add
ki "$plugins_base" add "$KVER" "$KERNEL" "$initrd"
snapshot "$boot" >"$RUN_DIR/boot.base"
ki "$plugins_base" remove "$KVER"
ki "$plugins_ours" add "$KVER" "$KERNEL" "$initrd" >"$RUN_DIR/add.log" 2>&1 || { cat "$RUN_DIR/add.log"; die "kernel-install add failed"; }
timer_end bls-add
cat "$RUN_DIR/add.log"
mid=$(cat /etc/machine-id)
ours=$boot/loader/entries/$mid-$KVER-iscsi-target.conf
theirs=$boot/loader/entries/$mid-$KVER.conf
check "BLS entry written" test -f "$ours"
check_eq "entry mode 0644 (no secrets inside)" 644 "$(mode "$ours")"
field() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$2"; }
check_eq "title" "iSCSI Target ($KVER) $(. /etc/os-release; echo "$PRETTY_NAME")" "$(field title "$ours")"
check_eq "version sorts right below the kernel" "$KVER~iscsi" "$(field version "$ours")"
check_eq "same kernel as the kernel's own entry" "$(field linux "$theirs")" "$(field linux "$ours")"
check_eq "first initrd is the kernel's own" "$(field initrd "$theirs")" "$(field initrd "$ours" | head -n 1)"
secrets_loader=$(field initrd "$ours" | tail -n 1)
check_eq "second initrd is the secrets archive beside the kernel" "$(dirname "$(field linux "$theirs")")/iscsi-target-$KVER.img" "$secrets_loader"
# Loader paths are relative to the file system holding BOOT_ROOT (90-loaderentry's convention).
secrets_file=$(stat -c %m "$boot")/$secrets_loader
check_eq "secrets initrd mode 0600" 600 "$(mode "$secrets_file")"
password=$(sed -n 's/^password=//p' "$root/etc/iscsi-target/chap-secrets")
check_match "CHAP secret generated (24 characters)" '^[A-Za-z0-9_-]{24}$' "$password"
check_eq "secrets file mode 0600" 600 "$(mode "$root/etc/iscsi-target/chap-secrets")"
check "secret inside the secrets initrd" grep -q "rd.iscsi.password=$password" "$secrets_file"
check "no secret anywhere in the entry" bash -c "! grep -q '$password' '$ours'"
options=$(field options "$ours")
check_match "options: target keys" 'rd.iscsi_target.dev=/dev/disk/by-id/virtio-system' "$options"
check_match "options: held by iscsi-target.target" 'rd.systemd.unit=iscsi-target.target' "$options"
check_match "options: the storage-stack safety keys on the real command line (systemd reads only that)" \
    '(^| )rd\.lvm=0 rd\.luks=0 rd\.md=0 rd\.dm=0 rd\.multipath=0( |$)' "$options"
check_match "options: console kept from the system" 'console=ttyS0,115200' "$options"
check "options: no root= (target never mounts it)" bash -c "! grep -qE '(^| )root=' <<<'$options'"
iso=$root/var/lib/dracut/iscsi-target/iscsi-boot-$KVER.iso
check "ISO written" test -s "$iso"
check_eq "ISO mode 0600" 600 "$(mode "$iso")"
check_eq "ISO directory mode 0700" 700 "$(mode "$(dirname "$iso")")"
check "ISO holds no secret in its command line files" bash -c "! xorriso -osirrox on -indev '$iso' -extract /isolinux/isolinux.cfg /dev/stdout 2>/dev/null | grep -q '$password'"
snapshot "$boot" >"$RUN_DIR/boot.ours"
added=$(diff "$RUN_DIR/boot.base" "$RUN_DIR/boot.ours" | grep '^>' | sed 's/^> //' || true)
removed_lines=$(diff "$RUN_DIR/boot.base" "$RUN_DIR/boot.ours" | grep -c '^<' || true)
check_eq "nothing else under BOOT_ROOT changed" 0 "$removed_lines"
check_eq "exactly our two files added under BOOT_ROOT" \
    "$(printf 'f 600 ./%s/%s/iscsi-target-%s.img\nf 644 ./loader/entries/%s-%s-iscsi-target.conf' "$mid" "$KVER" "$KVER" "$mid" "$KVER")" \
    "$(sed -E 's/ [0-9]+$//' <<<"$added")"

# Sorting: systemd-boot orders by sort-key, then version descending (tilde lowest, as in GNU sort -V).
ki "$plugins_ours" add "$KVER2" "$KERNEL" "$initrd" >/dev/null 2>&1
order=$(for f in "$boot"/loader/entries/*.conf; do field version "$f"; done | sort -rV | tr '\n' ' ')
check_eq "menu order: each kernel, then its iSCSI Target entry" "$KVER2 $KVER2~iscsi $KVER $KVER~iscsi " "$order"
check_eq "same sort-key as the kernel's entry" "$(field sort-key "$theirs")" "$(field sort-key "$ours")"

timer_start bls-remove
ki "$plugins_ours" remove "$KVER2"
ki "$plugins_ours" remove "$KVER"
timer_end bls-remove
check_eq "remove: BOOT_ROOT back to its initial state" "d 755 ." "$(snapshot "$boot" | grep -v ' ./loader' | head -n 1 | sed -E 's/ [0-9]+$//')"
check "remove: no entries left" bash -c "! ls '$boot'/loader/entries/*.conf 2>/dev/null"
check "remove: ISO gone" test ! -e "$iso"
check "remove: CHAP secrets kept for the next kernel" test -s "$root/etc/iscsi-target/chap-secrets"

# ── GRUB without BLS (Debian): kernel-install with layout=other, and the postinst.d hook ────────────────
echo "layout=other" >"$conf/install.conf"
rm -rf "$boot/loader"
mkdir -p "$root/etc/grub.d" "$root/boot"
cp "$KERNEL" "$root/boot/vmlinuz-$KVER"
cp "$initrd" "$root/boot/initrd.img-$KVER"
ki "$plugins_ours" add "$KVER" "$root/boot/vmlinuz-$KVER" >"$RUN_DIR/add-grub.log" 2>&1 || { cat "$RUN_DIR/add-grub.log"; die "add (grub) failed"; }
cat "$RUN_DIR/add-grub.log"
record=$root/var/lib/dracut/iscsi-target/grub/$KVER.conf
check "GRUB record written" test -f "$record"
check_eq "GRUB record mode 0600" 600 "$(mode "$record")"
check_eq "GRUB secrets initrd mode 0600" 600 "$(mode "$root/boot/iscsi-target-$KVER.img")"
menu=$RUN_DIR/grub-menu.cfg
pkgdatadir=/usr/share/grub sh "$REPO_DIR/grub.d/42_iscsi-target" >"$menu"
cat "$menu"
check "grub-script-check accepts the menu" grub-script-check "$menu"
check_match "one menuentry for the kernel" "menuentry 'iSCSI Target \\($KVER\\)" "$(cat "$menu")"
check_match "linux line with the target options" "linux.*vmlinuz-$KVER .*rd.iscsi_target.dev=/dev/disk/by-id/virtio-system" "$(cat "$menu")"
check_match "linux line with rd.multipath=0 among the safety keys" "linux.*vmlinuz-$KVER .* 'rd\\.dm=0' 'rd\\.multipath=0' " "$(cat "$menu")"
check_match "initrd line: initramfs then secrets" "initrd.*initrd.img-$KVER .*iscsi-target-$KVER.img" "$(cat "$menu")"
check "no secret in grub.cfg" bash -c "! grep -q '$password' '$menu'"
ki "$plugins_ours" remove "$KVER"
check "remove: GRUB record gone" test ! -e "$record"
check_eq "remove: no menu entry left" "" "$(pkgdatadir=/usr/share/grub sh "$REPO_DIR/grub.d/42_iscsi-target")"
"$REPO_DIR/debian-hooks/postinst.d-iscsi-target" "$KVER" "$root/boot/vmlinuz-$KVER" >/dev/null
check "Debian postinst.d hook makes the record" test -f "$record"
"$REPO_DIR/debian-hooks/postrm.d-iscsi-target" "$KVER"
check "Debian postrm.d hook removes it" test ! -e "$record"
check "kernel and initramfs untouched by remove" test -s "$root/boot/vmlinuz-$KVER"

# ── a bad setting: one line, kernel-install still succeeds, nothing made ─────────────────────────────────
echo "port = 0" >>"$root/etc/iscsi-target/iscsi-target.conf"
out=$(ki "$plugins_ours" add "$KVER" "$root/boot/vmlinuz-$KVER" 2>&1) && status=0 || status=$?
check_eq "kernel-install add still succeeds with a bad setting" 0 "$status"
check_match "one line naming the setting and value" 'iscsi-target.conf:3: port=0: expected a number' "$out"
check "nothing made for the bad setting" test ! -e "$record"

# ── faults of the machine during a kernel installation: one line, kernel-install succeeds, nothing half-made ──
sed -i '/^port = 0$/d' "$root/etc/iscsi-target/iscsi-target.conf"
state=$root/var/lib/dracut/iscsi-target
fault_add() { # LABEL REGEX [ENV=VALUE ...]
    local label=$1 regex=$2 out status errors; shift 2
    out=$(env "$@" KERNEL_INSTALL_PLUGINS="$plugins_ours" kernel-install add "$KVER" "$root/boot/vmlinuz-$KVER" 2>&1) && status=0 || status=$?
    printf '== %s (exit %s)\n%s\n' "$label" "$status" "$out" >>"$RUN_DIR/faults.log"
    check_eq "$label: kernel-install add still succeeds" 0 "$status"
    check_match "$label: a line naming the cause" "$regex" "$out"
    errors=$(grep -c 'iscsi-target-boot: error:' <<<"$out" || true)
    check_eq "$label: exactly one error line" 1 "$errors"
    check "$label: no GRUB record left" test ! -e "$record"
    check "$label: no secrets initrd left" test ! -e "$root/boot/iscsi-target-$KVER.img"
    check "$label: no ISO left" test ! -e "$state/iscsi-boot-$KVER.iso"
}
# A full /var: the state directory (records, ISOs) on a 256 KiB tmpfs.
rm -rf "$state"
mkdir -p "$state"
mount -t tmpfs -o size=256k,mode=0700 itgt-full-var "$state" || die "cannot mount a tmpfs (root needed)"
at_exit "umount '$state' 2>/dev/null"
fault_add "a full /var" 'No space left on device'
umount "$state"
# A read-only /boot: a read-only bind mount of the throwaway /boot.
mount --bind "$root/boot" "$root/boot"
at_exit "umount '$root/boot' 2>/dev/null"
mount -o remount,ro,bind "$root/boot"
fault_add "a read-only /boot" 'Read-only file system'
umount "$root/boot"
# The ISO tools missing: a PATH with every command but xorriso.
nox=$RUN_DIR/path-without-xorriso
mkdir -p "$nox"
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    for f in "$dir"/*; do
        name=${f##*/}
        [[ $name == xorriso || -e $nox/$name ]] || ln -s "$f" "$nox/$name"
    done
done
fault_add "no xorriso" 'xorriso' PATH="$nox"
# Back to normal: the same add now succeeds.
ki "$plugins_ours" add "$KVER" "$root/boot/vmlinuz-$KVER" >"$RUN_DIR/add-after-faults.log" 2>&1 || true
check "after the faults, add makes the record again" test -f "$record"
check "after the faults, add writes the ISO" test -s "$state/iscsi-boot-$KVER.iso"
ki "$plugins_ours" remove "$KVER"

finish
