#!/bin/bash
# tools/bench/iso-bench.sh BUILD_DIR [KERNEL INITRD] — size, overhead over kernel+initrd and build time of the
# initiator ISO, our method (xorriso + isolinux + FAT image with a grub-mkimage core; and with shim + signed
# GRUB when installed) against grub-mkrescue (minimal and all modules), side by side, from the same inputs.
# Build time: median wall time of ISO_BENCH_RUNS builds (default 5). "same bytes" compares two builds.
# Default inputs: the newest /boot/vmlinuz-* and its /boot/initrd.img-*. Needs test-vms/iso-deps.sh.
set -euo pipefail

build_dir=${1:?usage: iso-bench.sh BUILD_DIR [KERNEL INITRD]}
kernel=${2:-}
initrd=${3:-}
if [[ -z $kernel ]]; then
    kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
    initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
fi
[[ -r $kernel && -r $initrd ]] || { echo "iso-bench: need a readable kernel and initrd ($kernel, $initrd)" >&2; exit 1; }
iso_tool=("$build_dir/tools/iscsi-target-boot" iso)
[[ -x ${iso_tool[0]} ]] || { echo "iso-bench: ${iso_tool[0]} missing: build first" >&2; exit 1; }
runs=${ISO_BENCH_RUNS:-5}
work=$(mktemp -d /var/tmp/iso-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
cmdline="console=ttyS0 quiet"
payload=$(($(stat -c %s "$kernel") + $(stat -c %s "$initrd")))

cat >"$work/grub.cfg" <<CFG
set timeout=3
menuentry 'iSCSI boot' {
  linux /vmlinuz $cmdline
  initrd /initrd.img
}
CFG
minimal_modules="linux normal iso9660 search configfile echo test part_msdos part_gpt"

build() {  # METHOD OUTPUT
    case $1 in
    ours) "${iso_tool[@]}" build --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --secure-boot no --output "$2" ;;
    ours-sb) "${iso_tool[@]}" build --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --secure-boot yes --output "$2" ;;
    mkrescue-minimal)
        grub-mkrescue -o "$2" --fonts= --locales= --themes= --install-modules="$minimal_modules" \
            /vmlinuz="$kernel" /initrd.img="$initrd" /boot/grub/grub.cfg="$work/grub.cfg" ;;
    mkrescue-all)
        grub-mkrescue -o "$2" /vmlinuz="$kernel" /initrd.img="$initrd" /boot/grub/grub.cfg="$work/grub.cfg" ;;
    esac
}

methods=(ours)
if [[ -e /usr/lib/shim/shimx64.efi.signed && -e /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed ]]; then
    methods+=(ours-sb)
fi
methods+=(mkrescue-minimal mkrescue-all)
declare -A label=([ours]="ours: isolinux + GRUB core" [ours-sb]="ours: isolinux + shim + signed GRUB"
    [mkrescue-minimal]="grub-mkrescue, minimal modules" [mkrescue-all]="grub-mkrescue, all modules")

echo "kernel $kernel + initrd $initrd = $(awk -v b="$payload" 'BEGIN { printf "%.2f MB", b / 1e6 }'); $runs builds each"
printf '%-38s %10s %10s %9s %10s\n' method "ISO MB" "over MB" "build s" "same bytes"
for m in "${methods[@]}"; do
    times=()
    for ((i = 0; i < runs; i++)); do
        rm -f "$work/$m.iso"
        start=$EPOCHREALTIME
        build "$m" "$work/$m.iso" >"$work/$m.log" 2>&1 || { echo "$m failed:"; tail -n 5 "$work/$m.log"; exit 1; }
        times+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')")
        if ((i == 0)); then cp "$work/$m.iso" "$work/$m.first"; fi
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
    size=$(stat -c %s "$work/$m.iso")
    same=no
    cmp -s "$work/$m.iso" "$work/$m.first" && same=yes
    awk -v l="${label[$m]}" -v s="$size" -v p="$payload" -v t="$median" -v y="$same" \
        'BEGIN { printf "%-38s %10.2f %10.2f %9.3f %10s\n", l, s / 1e6, (s - p) / 1e6, t, y }'
    rm -f "$work/$m.iso" "$work/$m.first"
done
