#!/bin/bash
# rootfs.sh OUT.img — build a tiny bootable ext4 root filesystem image for the VM tests.
#
# The image holds a static busybox and an /sbin/init script. Booted (locally or over iSCSI) it prints
#   ROOTFS: booted over iSCSI on <kernel>      (or "booted from a local disk on <kernel>")
# writes the value of `test.token=` from the kernel command line into /initiator-was-here, prints
#   ROOTFS: wrote token
# remounts / read-only and powers the machine off. It is the target VM's exported disk in the chain test.
#
# With `test.mode=writer` on the kernel command line (the faults test) it instead remounts / read-write,
# prints each SCSI disk's identity (wwid, VPD unit serial, cache type), then appends one 4096-byte record
# every 0.5 s to /records, fsyncs it and prints "ROOTFS: synced N", for ever. A record is one line
#   REC <n> <test.token> <unix time> <md5 of the words before it> xxxx…
# numbered on from the last record on the disk, so a rebooted writer continues the sequence.
#
# Environment: ROOTFS_SIZE (default 64M), ROOTFS_LABEL (default itgt-root), ROOTFS_UUID (default: fixed, so
# two builds give the same filesystem identity), BUSYBOX (default /bin/busybox; must be statically linked).
# No root needed: mkfs.ext4 -d copies the staging tree into the image.
set -euo pipefail

usage() { echo "usage: $0 OUT.img" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
out=$1
size=${ROOTFS_SIZE:-64M}
label=${ROOTFS_LABEL:-itgt-root}
uuid=${ROOTFS_UUID:-6f1c2a8e-7d0b-4c35-9a41-1d2e3f405061}
busybox=${BUSYBOX:-/bin/busybox}

for tool in mkfs.ext4 file; do
    command -v "$tool" >/dev/null || { echo "rootfs.sh: '$tool' not found (Debian: e2fsprogs, file)" >&2; exit 1; }
done
[[ -x $busybox ]] || { echo "rootfs.sh: $busybox not found (Debian: busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would need its libraries in the image; refuse instead of booting into a panic.
if ! file -L "$busybox" | grep -q 'statically linked'; then
    echo "rootfs.sh: $busybox is not statically linked (Debian: busybox-static)" >&2
    exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,etc,dev,proc,sys,run,tmp,root}
chmod 1777 "$stage/tmp"
cp "$busybox" "$stage/bin/busybox"
chmod 0755 "$stage/bin/busybox"
# One relative symlink per applet, like `busybox --install -s`, but without running anything in the image.
while read -r applet; do
    [[ -n $applet && $applet != busybox ]] || continue
    [[ -e $stage/bin/$applet ]] || ln -s busybox "$stage/bin/$applet"
done < <("$busybox" --list)

cat >"$stage/sbin/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the test root filesystem: leave a trace on the disk and power off.
# No `set -e`: PID 1 must reach the poweroff at the end whatever fails on the way.
export PATH=/bin:/sbin

# dracut's switch_root moves /proc, /sys, /dev and /run along; mount only what is missing.
# (busybox `mountpoint` misjudges the moved /sys and /dev, so ask /proc/mounts.)
[ -e /proc/self/mounts ] || mount -t proc proc /proc
grep -q '^[^ ]* /sys ' /proc/mounts || mount -t sysfs sysfs /sys
grep -q '^[^ ]* /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

token= mode=
for arg in $(cat /proc/cmdline); do
    case $arg in
        test.token=*) token=${arg#test.token=} ;;
        test.mode=*) mode=${arg#test.mode=} ;;
    esac
done

transport="from a local disk"
for s in /sys/class/iscsi_session/session*; do
    [ -e "$s/targetname" ] && transport="over iSCSI"
done
echo "ROOTFS: booted $transport on $(uname -r)"
for s in /sys/class/iscsi_session/session*; do
    [ -e "$s/targetname" ] || continue
    echo "ROOTFS: iscsi session ${s##*/} target $(cat "$s/targetname") initiator $(cat "$s/initiatorname")"
done
echo "ROOTFS: root mount: $(grep ' / ' /proc/mounts | grep -v '^rootfs ')"

# The faults test's writer: records until the VM is killed (see the header of rootfs.sh).
writer() {
    mount -o remount,rw / || { echo "ROOTFS: ERROR: cannot remount / read-write"; return; }
    for d in /sys/block/sd*; do
        [ -e "$d/device/wwid" ] || continue
        echo "ROOTFS: lun ${d##*/} wwid $(cat "$d/device/wwid") serial $(tail -c +5 "$d/device/vpd_pg80" | tr -d '\000')" \
            "cache $(cat "$d"/device/scsi_disk/*/cache_type)"
    done
    echo "ROOTFS: iscsid pid $(pidof iscsid)"
    n=0
    if [ -s /records ]; then
        last=$(tail -n 1 /records | cut -d' ' -f2)
        case $last in
            '' | *[!0-9]*) echo "ROOTFS: ERROR: the last record of /records is unreadable"; return ;;
        esac
        n=$last
    fi
    echo "ROOTFS: writer starts after record $n"
    pad=$(printf '%4096s' '' | tr ' ' x)
    while :; do
        n=$((n + 1))
        body="REC $n $token $(date +%s)"
        line="$body $(echo "$body" | md5sum | cut -c1-32) $pad"
        if printf '%.4095s\n' "$line" | dd of=/records bs=4096 oflag=append conv=notrunc,fsync 2>/dev/null; then
            echo "ROOTFS: synced $n"
        else
            echo "ROOTFS: ERROR: record $n: write or fsync failed"
            grep -q '^[^ ]* / [^ ]* ro[ ,]' /proc/mounts && echo "ROOTFS: ERROR: / is read-only"
        fi
        sleep 0.5
    done
}

if [ -z "$token" ]; then
    echo "ROOTFS: ERROR: no test.token= on the kernel command line"
elif [ "$mode" = writer ]; then
    writer
elif ! mount -o remount,rw /; then
    echo "ROOTFS: ERROR: cannot remount / read-write"
elif ! echo "$token" >/initiator-was-here; then
    echo "ROOTFS: ERROR: cannot write /initiator-was-here"
else
    sync
    echo "ROOTFS: wrote token"
fi

# A read-only root leaves a clean filesystem (no journal to replay) for the host's e2fsck.
sync
mount -o remount,ro / || echo "ROOTFS: WARNING: cannot remount / read-only"
sync
echo "ROOTFS: powering off"
poweroff -f
# Not reached unless poweroff failed; PID 1 must not exit.
while :; do sleep 3600; done
EOF
chmod 0755 "$stage/sbin/init"

cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
EOF
echo "itgt-rootfs" >"$stage/etc/hostname"
# os-release lets dracut's rootfs checks (and a human) recognise the image.
cat >"$stage/etc/os-release" <<'EOF'
NAME="iscsi-target test rootfs"
ID=itgt-rootfs
PRETTY_NAME="iscsi-target test rootfs (busybox)"
EOF

rm -f "$out"
truncate -s "$size" "$out"
# root_owner: files belong to root in the image whoever runs this script.
mkfs.ext4 -q -F -L "$label" -U "$uuid" -E root_owner=0:0 -d "$stage" "$out"
echo "rootfs.sh: wrote $out (ext4, $size, LABEL=$label UUID=$uuid)"
