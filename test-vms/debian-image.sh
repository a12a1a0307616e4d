#!/bin/bash
# test-vms/debian-image.sh OUT.img — a Debian 12 (bookworm) disk image built from scratch, laid out and
# configured the way the Debian installer leaves a BIOS machine with GRUB and dracut:
#
#   GPT  p1  1 MiB  BIOS boot partition (GRUB's core.img)
#        p2  512 MiB ext4 /boot   (LABEL=itgt-boot)
#        p3  rest    ext4 /       (LABEL=itgt-root)      — both mounted by UUID in /etc/fstab
#   GRUB      grub-pc, installed by the image's own grub-install onto /dev/vda (core.img in the BIOS boot
#             partition), /boot/grub/grub.cfg by its own update-grub (root=UUID=…): both run on the image's
#             first boot in a VM, as the installer's last steps
#   packages  debootstrap minbase + systemd-sysv udev dbus ifupdown isc-dhcp-client iproute2 procps kmod
#             linux-image-amd64 dracut (the package: it replaces initramfs-tools and brings the
#             /etc/kernel/postinst.d hook; dracut-core alone would leave linux-image-amd64 to pull
#             initramfs-tools) dracut-network open-iscsi grub-pc, and what dracut-iscsi-target depends on
#             (xorriso isolinux syslinux-common grub-efi-amd64-bin mtools) so that installing it needs no
#             download
#   initramfs /boot/initrd.img-KVER built once by the image's dracut with Debian's defaults (generic, systemd,
#             systemd-networkd as dracut's network handler)
#   network   ifupdown with only `lo` configured (what the installer writes for a machine it did not
#             configure a network on): nothing on the booted system touches a NIC that the initramfs set up
#             for an iSCSI root.  No /etc/kernel/cmdline (Debian GRUB systems have none).
#   console   GRUB_CMDLINE_LINUX="console=ttyS0,115200", GRUB on serial + console, GRUB_TIMEOUT=1,
#             no "quiet" (the tests read kernel and systemd messages on the serial console);
#             root password "root" and autologin of root on ttyS0.
#
# Built as root: one `mount -o loop,offset=,sizelimit=` per filesystem (this sandbox has loop devices but
# no partition scanning, so no losetup -P), debootstrap into the mounted tree, apt and dracut in a chroot
# (proc, sysfs, a private /dev), then the first boot under qemu -accel tcg. Every mount and loop device is
# released on exit, by path; nothing else on the machine is touched.
#
# The result is cached as ${VM_WORKDIR:-/var/tmp/iscsi-target-vm}/cache/debian12-<hash of this script>.img
# (+ .env); a later call copies it (sparse).  DEBIAN_IMAGE_CACHE=0 forces a build.  Besides OUT.img the script
# writes OUT.env, shell assignments the tests source: KVER ROOT_UUID BOOT_UUID ROOT_OFFSET ROOT_SIZE
# BOOT_OFFSET BOOT_SIZE (bytes), IMAGE_HOSTNAME, ROOT_PASSWORD.
#
# Environment: DEBIAN_MIRROR (default: the Debian URI in this machine's own apt sources),
# DEBIAN_IMAGE_SIZE (default 4G), DEBIAN_IMAGE_CACHE (1), DEBIAN_IMAGE_KEEP_WORK=1 (keep the build directory on
# failure), DEBIAN_IMAGE_BOOT_TIMEOUT (900 s for the first boot).
set -euo pipefail

usage() { echo "usage: $0 OUT.img" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
out=$(realpath -m "$1")
self=$(realpath "$0")
start_time=$EPOCHREALTIME

VM_WORKDIR=${VM_WORKDIR:-/var/tmp/iscsi-target-vm}
cache_dir=$VM_WORKDIR/cache
key=$(sha256sum "$self" | cut -c1-16)
cached=$cache_dir/debian12-$key.img
log() { echo "debian-image: $*"; }
elapsed() { awk -v a="$start_time" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

if [[ ${DEBIAN_IMAGE_CACHE:-1} != 0 && -s $cached && -s $cached.env ]]; then
    cp --sparse=always "$cached" "$out.tmp" && mv -f "$out.tmp" "$out"
    cp "$cached.env" "$out.env"
    log "reused $cached ($(elapsed)s)"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "debian-image: must run as root (debootstrap, chroot, loop mounts)" >&2; exit 1; }
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v python3 >/dev/null || need+=(python3)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! losetup -f >/dev/null 2>&1; then
    echo "debian-image: no free loop device (losetup -f): this builder needs loop mounts" >&2
    exit 1
fi

# ── the mirror: the one this machine's apt uses ──────────────────────────────────────────────────────────
mirror_uris() {
    # deb822 "URIs:" fields and one-line "deb URI SUITE" entries, in file order
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        case $f in
        *.sources) awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" ;;
        *) awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }' "$f" ;;
        esac
    done
}
mirror=${DEBIAN_MIRROR:-$(mirror_uris | grep -E '/debian/?$' | head -n1 || true)}
security=$(mirror_uris | grep -E '/debian-security/?$' | head -n1 || true)
[[ -n $mirror ]] || { echo "debian-image: no Debian mirror in /etc/apt/sources* (set DEBIAN_MIRROR)" >&2; exit 1; }
mirror=${mirror%/}
security=${security%/}
log "mirror $mirror${security:+, security $security}"

# ── work area and cleanup ─────────────────────────────────────────────────────────────────────────────────
mkdir -p "$cache_dir"
work=$(mktemp -d "$cache_dir/debian-build.XXXXXX")
root=$work/root
disk=$work/disk.img

unmount_all() {
    # Everything mounted at or below $root, deepest first; loop devices go with their mount (autoclear).
    local m
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n ${qemu_pid:-} ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid"
        wait "$qemu_pid"
    fi
    unmount_all
    if awk -v r="$root" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        echo "debian-image: something is still mounted under $root; leaving $work alone" >&2
    elif ((rc != 0)) && [[ ${DEBIAN_IMAGE_KEEP_WORK:-0} == 1 ]]; then
        echo "debian-image: failed; work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ── disk, partitions, filesystems ───────────────────────────────────────────────────────────────────────
ROOT_UUID=3b9e7f0c-1d2a-4c5e-8f60-7a8b9c0d1e2f
BOOT_UUID=5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f
IMAGE_HOSTNAME=itgt-debian
ROOT_PASSWORD=root

truncate -s "${DEBIAN_IMAGE_SIZE:-4G}" "$disk"
sfdisk -q "$disk" <<'EOF'
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios
size=512MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
EOF
part() { # part N start|size → sectors
    sfdisk -J "$disk" | python3 -c "import json,sys; p=json.load(sys.stdin)['partitiontable']['partitions'][$1-1]; print(p['$2'])"
}
BOOT_OFFSET=$(($(part 2 start) * 512)) BOOT_SIZE=$(($(part 2 size) * 512))
ROOT_OFFSET=$(($(part 3 start) * 512)) ROOT_SIZE=$(($(part 3 size) * 512))
mkfs.ext4 -q -F -L itgt-boot -U "$BOOT_UUID" -b 4096 -E "offset=$BOOT_OFFSET" "$disk" "$((BOOT_SIZE / 1024))k"
mkfs.ext4 -q -F -L itgt-root -U "$ROOT_UUID" -E "offset=$ROOT_OFFSET" "$disk" "$((ROOT_SIZE / 1024))k"
mkdir -p "$root"
mount -o "loop,offset=$ROOT_OFFSET,sizelimit=$ROOT_SIZE" "$disk" "$root"
mkdir -p "$root/boot"
mount -o "loop,offset=$BOOT_OFFSET,sizelimit=$BOOT_SIZE" "$disk" "$root/boot"

# ── base system ─────────────────────────────────────────────────────────────────────────────────────────
t=$EPOCHREALTIME
log "debootstrap bookworm (minbase) …"
debootstrap --variant=minbase \
    --include=systemd-sysv,udev,dbus,ifupdown,isc-dhcp-client,iproute2,procps,kmod,e2fsprogs,less \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log"
    echo "debian-image: debootstrap failed" >&2
    exit 1
}
log "debootstrap done in $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s"

# The chroot gets its own small /dev (not the host's): the usual character devices, a private devpts, the
# two loop devices its filesystems are on and /dev/disk/by-uuid links to them, as udev would make them.
# grub-mkconfig writes root=UUID=… only when /dev/disk/by-uuid/<uuid> exists.
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=0755,size=16m itgt-dev "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/full" c 1 7
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
mknod -m 666 "$root/dev/tty" c 5 0
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/disk/by-uuid"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
for mp_uuid in "$root:$ROOT_UUID" "$root/boot:$BOOT_UUID"; do
    src=$(findmnt -n -o SOURCE --mountpoint "${mp_uuid%%:*}")
    [[ $src == /dev/loop* ]] || { echo "debian-image: ${mp_uuid%%:*} is on '$src', not a loop device" >&2; exit 1; }
    mknod -m 660 "$root$src" b "$((0x$(stat -c %t "$src")))" "$((0x$(stat -c %T "$src")))"
    ln -s "../../${src#/dev/}" "$root/dev/disk/by-uuid/${mp_uuid#*:}"
done
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

{
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [[ -n $security ]] && echo "deb $security bookworm-security main"
} >"$root/etc/apt/sources.list"

cat >"$root/etc/fstab" <<EOF
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=$ROOT_UUID /     ext4 errors=remount-ro 0 1
UUID=$BOOT_UUID /boot ext4 defaults          0 2
EOF
echo "$IMAGE_HOSTNAME" >"$root/etc/hostname"
cat >"$root/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$IMAGE_HOSTNAME
::1		localhost ip6-localhost ip6-loopback
EOF
cat >"$root/etc/network/interfaces" <<'EOF'
# The installer configured no network: only the loopback interface. A NIC that the initramfs brought up
# (iSCSI root) is left alone.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat >"$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
# Test image: log root in on the serial console.
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
echo "root:$ROOT_PASSWORD" | in_root chpasswd
in_root debconf-set-selections <<'EOF'
grub-pc grub-pc/install_devices_empty boolean true
grub-pc grub-pc/install_devices multiselect
EOF

# ── kernel, dracut, iSCSI, GRUB ────────────────────────────────────────────────────────────────────────
t=$EPOCHREALTIME
log "apt-get install kernel, dracut, open-iscsi, grub-pc …"
# INITRD=No: the kernel's and dracut's hooks skip the initramfs here; it is built once below.
in_root apt-get update -qq >"$work/apt.log" 2>&1
if ! in_root env INITRD=No apt-get install -y -q --no-install-recommends \
    linux-image-amd64 dracut dracut-network open-iscsi grub-pc \
    xorriso isolinux syslinux-common grub-efi-amd64-bin mtools >>"$work/apt.log" 2>&1; then
    tail -n 40 "$work/apt.log"
    echo "debian-image: apt-get install failed" >&2
    exit 1
fi
in_root apt-get clean
log "packages installed in $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s"
KVER=$(basename "$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n1)")
[[ -e $root/boot/vmlinuz-$KVER ]] || { echo "debian-image: no /boot/vmlinuz-$KVER" >&2; exit 1; }
if dpkg --root="$root" -l initramfs-tools 2>/dev/null | grep -q '^ii'; then
    echo "debian-image: initramfs-tools got installed next to dracut" >&2
    exit 1
fi

# GRUB's settings as an installer with a serial console leaves them.
sed -i -e 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=1/' \
    -e 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT=""/' \
    -e 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=ttyS0,115200"/' "$root/etc/default/grub"
cat >>"$root/etc/default/grub" <<'EOF'
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
EOF

t=$EPOCHREALTIME
log "dracut (Debian defaults) for $KVER …"
in_root dracut --force --kver "$KVER" >"$work/dracut.log" 2>&1 || {
    tail -n 30 "$work/dracut.log"
    echo "debian-image: dracut failed" >&2
    exit 1
}
log "initramfs built in $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s ($(du -h "$root/boot/initrd.img-$KVER" | cut -f1))"

# The installer's last steps (grub-install onto the disk, update-grub) need the disk as the installed system
# sees it: grub-install cannot work on loop devices without partition scanning, and update-grub's 10_linux
# skips a root on a loop device altogether. So the image's first boot does them, in a VM (direct kernel
# boot, like the installer's own kernel), with a one-shot unit that removes itself and powers off.
in_root debconf-set-selections <<'EOF2'
grub-pc grub-pc/install_devices multiselect /dev/vda
EOF2
cat >"$root/usr/local/sbin/itgt-firstboot" <<'EOF2'
#!/bin/sh
# First boot of the test image: what the Debian installer does last. Removes itself; powers off.
if grub-install /dev/vda && update-grub && grub-script-check /boot/grub/grub.cfg; then
    result=OK
else
    result=FAILED
fi
rm -f /etc/systemd/system/multi-user.target.wants/itgt-firstboot.service \
    /etc/systemd/system/itgt-firstboot.service /usr/local/sbin/itgt-firstboot
sync
echo "itgt-firstboot: $result" >/dev/console
systemctl --no-block poweroff
EOF2
chmod 0755 "$root/usr/local/sbin/itgt-firstboot"
cat >"$root/etc/systemd/system/itgt-firstboot.service" <<'EOF2'
[Unit]
Description=Test image first boot: grub-install, update-grub, power off
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/itgt-firstboot
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF2
ln -s ../itgt-firstboot.service "$root/etc/systemd/system/multi-user.target.wants/itgt-firstboot.service"
cp "$root/boot/vmlinuz-$KVER" "$work/vmlinuz"
cp "$root/boot/initrd.img-$KVER" "$work/initrd.img"

# ── finish ──────────────────────────────────────────────────────────────────────────────────────────────
du -sh --exclude=proc --exclude=sys --exclude=dev "$root" | sed 's/^/debian-image: size of the tree: /'
unmount_all
for off in "$ROOT_OFFSET" "$BOOT_OFFSET"; do
    e2fsck -fn "$disk?offset=$off" >"$work/fsck.log" 2>&1 || { cat "$work/fsck.log"; exit 1; }
done
t=$EPOCHREALTIME
log "first boot (grub-install /dev/vda, update-grub) in a VM …"
qemu_pid=""
timeout --kill-after=10 "${DEBIAN_IMAGE_BOOT_TIMEOUT:-900}" qemu-system-x86_64 -accel tcg -nodefaults -display none \
    -no-reboot -m 1024 -smp 1 -serial "file:$work/firstboot.log" -monitor none \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" -append "root=UUID=$ROOT_UUID ro console=ttyS0,115200" \
    -drive "file=$disk,format=raw,if=virtio,cache=unsafe" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=""
if ! grep -a -q 'itgt-firstboot: OK' "$work/firstboot.log"; then
    cat "$work/qemu.out" >&2
    tr -d '\r' <"$work/firstboot.log" | tail -n 40 >&2
    echo "debian-image: the first boot did not install GRUB (console: $work/firstboot.log)" >&2
    exit 1
fi
log "first boot done in $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s"
for off in "$ROOT_OFFSET" "$BOOT_OFFSET"; do
    e2fsck -fn "$disk?offset=$off" >"$work/fsck.log" 2>&1 || { cat "$work/fsck.log"; exit 1; }
done
grub_cfg=$(debugfs -R 'cat /grub/grub.cfg' "$disk?offset=$BOOT_OFFSET" 2>/dev/null)
grep -q "linux.*/vmlinuz-$KVER root=UUID=$ROOT_UUID ro console=ttyS0,115200" <<<"$grub_cfg" ||
    { echo "debian-image: grub.cfg has no 'root=UUID=$ROOT_UUID' entry for $KVER" >&2; exit 1; }
grep -q "initrd.*/initrd.img-$KVER" <<<"$grub_cfg" || { echo "debian-image: grub.cfg lacks the initramfs" >&2; exit 1; }

cat >"$work/disk.env" <<EOF
KVER=$KVER
ROOT_UUID=$ROOT_UUID
BOOT_UUID=$BOOT_UUID
ROOT_OFFSET=$ROOT_OFFSET
ROOT_SIZE=$ROOT_SIZE
BOOT_OFFSET=$BOOT_OFFSET
BOOT_SIZE=$BOOT_SIZE
IMAGE_HOSTNAME=$IMAGE_HOSTNAME
ROOT_PASSWORD=$ROOT_PASSWORD
EOF
mv -f "$work/disk.env" "$cached.env"
mv -f "$disk" "$cached"
# keep only the newest two images
find "$cache_dir" -maxdepth 1 -name 'debian12-*.img' -printf '%T@ %p\n' | sort -rn | tail -n +3 | cut -d' ' -f2- |
    while read -r old; do rm -f "$old" "$old.env"; done
cp --sparse=always "$cached" "$out.tmp" && mv -f "$out.tmp" "$out"
cp "$cached.env" "$out.env"
log "built $cached (kernel $KVER) in $(elapsed)s; copied to $out"
