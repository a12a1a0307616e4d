#!/bin/bash
# test-vms/bench-size.sh BUILD_DIR — what the iscsi-target dracut module adds to an initramfs, in bytes.
#
# Builds two images for the host kernel with the same dracut options (lib.sh build_initramfs: the systemd
# module list, --no-hostonly), without and with the `iscsi-target` module, uncompressed; then compresses
# both the way dracut does by default (pigz -9 -n -T -R when pigz is installed, else gzip -n -9 --rsyncable)
# and with plain gzip -9 (the goal, README "Size", is ≤ 0.6 MB gzip), and prints one table: totals, the
# delta, and where the delta goes (each file the module adds, raw and gzip -9 alone).
#
# The binary put in the image is BUILD_DIR/tools/iscsi-target stripped of its symbols, as the package ships
# it (CPACK_STRIP_FILES); dracut itself only strips debug info (strip -g), so the build tree's binary after
# that is shown too. BASELINE_BUILD_DIR=DIR (optional) also shows another build's binary and the shared
# libraries it needs that the image without the module lacks (e.g. a build from before the static link).
# Environment: FLAVOUR=systemd|nosystemd (default systemd); lib.sh's VM_WORKDIR, VM_KVER, VM_KEEP.
# Images are never cached (VM_INITRD_CACHE=0): the shared cache keeps only the 8 newest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

BUILD=${1:?usage: bench-size.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
FLAVOUR=${FLAVOUR:-systemd}
[[ -x $BUILD/tools/iscsi-target ]] || die "$BUILD/tools/iscsi-target missing (cmake --build $BUILD)"
export VM_INITRD_CACHE=0 VM_DRACUT_COMPRESS=cat
lib_setup bench-size

# The command dracut picks for its default compression (dracut.sh: the first of pigz, gzip, … installed).
if command -v pigz >/dev/null; then
    DEFAULT_COMPRESS=(pigz -9 -n -T -R)
elif gzip --help 2>&1 | grep -q rsyncable; then
    DEFAULT_COMPRESS=(gzip -n -9 --rsyncable)
else
    DEFAULT_COMPRESS=(gzip -n -9)
fi

gz_size() { gzip -9 -n -c "$1" | wc -c; }
default_size() { "${DEFAULT_COMPRESS[@]}" -c <"$1" | wc -c; }
row() { printf '%-58s %12s %12s\n' "$@"; }

mkdir -p "$RUN_DIR/bin"
strip --strip-all -o "$RUN_DIR/bin/iscsi-target" "$BUILD/tools/iscsi-target"
strip -g -p -o "$RUN_DIR/build-tree-strip-g" "$BUILD/tools/iscsi-target"

build_initramfs "$RUN_DIR/without.img" "$FLAVOUR"
build_initramfs "$RUN_DIR/with.img" "$FLAVOUR" --target-bindir "$RUN_DIR/bin"

for image in without with; do
    mkdir -p "$RUN_DIR/$image"
    (cd "$RUN_DIR/$image" && cpio -idm --quiet <"$RUN_DIR/$image.img")
done

declare -A total_raw total_default total_gz
for image in without with; do
    total_raw[$image]=$(stat -c %s "$RUN_DIR/$image.img")
    total_default[$image]=$(default_size "$RUN_DIR/$image.img")
    total_gz[$image]=$(gz_size "$RUN_DIR/$image.img")
done

echo
echo "initramfs for kernel $KVER, dracut modules: $(dracut_modules "$FLAVOUR") (--no-hostonly, same options both)"
echo "default compression: ${DEFAULT_COMPRESS[*]}"
echo
row "" "raw bytes" "gzip -9"
row "image without iscsi-target" "${total_raw[without]}" "${total_gz[without]}"
row "image with iscsi-target" "${total_raw[with]}" "${total_gz[with]}"
row "DELTA: what the module adds" "$((total_raw[with] - total_raw[without]))" "$((total_gz[with] - total_gz[without]))"
row "  same images, dracut's default compression: without/with" "${total_default[without]}" "${total_default[with]}"
row "  DELTA with dracut's default compression" "" "$((total_default[with] - total_default[without]))"
echo
echo "where the delta goes (each file alone; gzip -9 of one file is close to its share of the image):"
row "file added by the module" "raw bytes" "gzip -9"
declare -A group_raw=() group_gz=()
while IFS= read -r -d '' rel; do
    rel=${rel#./}
    [[ -e $RUN_DIR/without/$rel ]] && continue
    f=$RUN_DIR/with/$rel
    raw=$(stat -c %s "$f")
    gz=$(gz_size "$f")
    case $rel in
    usr/sbin/iscsi-target) group=binary ;;
    */lib/modules/*.ko*) group="kernel modules" ;;
    *.so | *.so.*) group="shared libraries" ;;
    *) group="scripts, units, other" ;;
    esac
    group_raw[$group]=$((${group_raw[$group]:-0} + raw))
    group_gz[$group]=$((${group_gz[$group]:-0} + gz))
    row "  ${rel/usr\/lib\/modules\/$KVER\/kernel\//…\/}" "$raw" "$gz"
done < <(cd "$RUN_DIR/with" && find . -type f -print0 | sort -z)
for group in binary "kernel modules" "shared libraries" "scripts, units, other"; do
    row "  sum: $group" "${group_raw[$group]:-0}" "${group_gz[$group]:-0}"
done
changed=0
while IFS= read -r -d '' rel; do
    [[ -f $RUN_DIR/without/$rel ]] || continue
    cmp -s "$RUN_DIR/without/$rel" "$RUN_DIR/with/$rel" && continue
    changed=$((changed + $(stat -c %s "$RUN_DIR/with/$rel") - $(stat -c %s "$RUN_DIR/without/$rel")))
done < <(cd "$RUN_DIR/with" && find . -type f -print0)
row "  files both images have, grown by (modules.dep, …)" "$changed" ""
echo
echo "the binary:"
row "  as shipped (strip --strip-all), in the image above" "$(stat -c %s "$RUN_DIR/bin/iscsi-target")" "$(gz_size "$RUN_DIR/bin/iscsi-target")"
row "  build tree after dracut's own strip -g (symbols kept)" "$(stat -c %s "$RUN_DIR/build-tree-strip-g")" "$(gz_size "$RUN_DIR/build-tree-strip-g")"
if [[ -n ${BASELINE_BUILD_DIR:-} ]]; then
    base=$BASELINE_BUILD_DIR/tools/iscsi-target
    strip --strip-all -o "$RUN_DIR/baseline" "$base"
    row "  BASELINE $base (strip --strip-all)" "$(stat -c %s "$RUN_DIR/baseline")" "$(gz_size "$RUN_DIR/baseline")"
    while read -r lib; do
        name=$(basename "$lib")
        [[ -n $(find "$RUN_DIR/without" -name "$name" -print -quit) ]] && continue
        real=$(readlink -f "$lib")
        row "  BASELINE also needs $name (not in the image without)" "$(stat -c %s "$real")" "$(gz_size "$real")"
    done < <(ldd "$base" | awk '$3 ~ /^\// {print $3}')
fi
