#!/bin/bash
# test-vms/harness-selftest.sh — proves the VM harness (lib.sh) without the product: builds a plain dracut
# initramfs of each flavour (systemd / nosystemd), boots it to a dracut shell with rd.break=pre-mount and
# checks console interaction, the virtio disk serial, the network, hostfwd and poweroff.
# Usage: test-vms/harness-selftest.sh [systemd|nosystemd|both]   (default both; runs both VMs at once)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"

flavours=(systemd nosystemd)
case ${1:-both} in
both) ;;
systemd | nosystemd) flavours=("$1") ;;
*) echo "usage: $0 [systemd|nosystemd|both]" >&2; exit 2 ;;
esac

bash "$HERE/deps.sh"
lib_setup harness-selftest

make_ext4_image "$RUN_DIR/root.img" 32M selftest-root

declare -A port
for f in "${flavours[@]}"; do
    build_initramfs "$RUN_DIR/$f.img" "$f"
done
for f in "${flavours[@]}"; do
    port[$f]=$(free_port)
    timer_start "boot-$f"
    vm_start "$f" "$KERNEL" "$RUN_DIR/$f.img" \
        "console=ttyS0 root=LABEL=selftest-root rd.break=pre-mount rd.shell net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1 rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0" \
        --disk "$RUN_DIR/root.img,serial=selftest0,snapshot=on" \
        --net "user,restrict=on,hostfwd=tcp:127.0.0.1:${port[$f]}-:3260"
done

for f in "${flavours[@]}"; do
    vm_use "$f"
    # systemd's emergency shell first asks to "Press Enter for maintenance"; the probes answer that.
    if vm_wait_for 'Break before pre-mount|Press Enter for maintenance|dracut:/# ' 180; then
        pass "$f: reached the pre-mount break"
    else
        fail "$f: no pre-mount break"; vm_dump_console; continue
    fi
    if vm_wait_shell 60; then pass "$f: shell answers on the serial console"; else fail "$f: no shell"; vm_dump_console; continue; fi
    timer_end "boot-$f"

    out=$(vm_run 'echo hello; echo err >&2; (exit 3)') && rc=0 || rc=$?
    check_eq "$f: vm_run returns the command's exit status" 3 "$rc"
    check_eq "$f: vm_run prints stdout and stderr" $'hello\nerr' "$out"
    out=$(vm_run 'readlink -f /dev/disk/by-id/virtio-selftest0') || true
    check_eq "$f: disk serial gives /dev/disk/by-id/virtio-selftest0" /dev/vda "$out"
    out=$(vm_run 'ip -4 -o addr show dev eth0 | awk "{print \$4}"') || true
    check_eq "$f: eth0 configured by ip=" 10.0.2.15/24 "$out"
    out=$(vm_run 'cat /proc/1/comm') || true
    if [[ $f == systemd ]]; then check_eq "$f: pid 1" systemd "$out"; else check_eq "$f: pid 1" init "$out"; fi
    out=$(vm_run 'grep -c " /sysroot " /proc/mounts') || true
    check_eq "$f: /sysroot not mounted at pre-mount" 0 "$out"
    # hostfwd: nothing listens on 3260 in the guest, so the host's connect must be accepted by slirp and
    # closed at once (proves the forward exists on 127.0.0.1:PORT and on no other address).
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).close()' "${port[$f]}"; then
        pass "$f: hostfwd listens on 127.0.0.1:${port[$f]}"
    else
        fail "$f: hostfwd 127.0.0.1:${port[$f]}"
    fi
done

for f in "${flavours[@]}"; do
    vm_use "$f"
    vm_alive || continue
    if [[ $f == systemd ]]; then cmd="systemctl poweroff"; else cmd="echo o >/proc/sysrq-trigger"; fi
    timer_start "poweroff-$f"
    if vm_stop "$cmd" 60; then pass "$f: '$cmd' powers the VM off"; else fail "$f: '$cmd' did not power off"; vm_dump_console 20; fi
    timer_end "poweroff-$f"
done

finish
