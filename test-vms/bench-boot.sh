#!/bin/bash
# Benchmark: how soon a target boot serves, and where the time goes.
#
# One target VM (qemu TCG, 1 vCPU, systemd initramfs, one virtio disk, slirp with hostfwd 127.0.0.1:PORT →
# 3260) is booted ROUNDS times per variant, the variants alternating so the machine's drifting load hits all
# alike.  Boot-to-serve is measured from outside: qemu's start to the first login the host's own initiator
# (iscsi_login_probe.py, a fresh connection about every second) gets accepted.  After each boot
# the guest's journal (monotonic stamps, kernel start = 0) gives the phases:
#   kernel    kernel start → /init runs (the initramfs unpacked)
#   systemd   → systemd-udevd runs
#   udev      → udev trigger done (coldplug)
#   service   → `iscsi-target start` begins
#   modules   → LIO's kernel modules loaded
#   disks     → the exported disks resolved (and a portal's specific address usable)
#   configfs  → LIO configured ("ready:"; the start's phases come from its "start took …" line)
#   crng      → the kernel's CRNG is initialised (LIO's login waits for it: get_random_bytes_wait)
#   network   → the cable's address is up (our "cable address" line, or for ip= an initqueue/online hook
#               of the benchmark's)
#   login     → the first login accepted (host clock)
# Guest stamps are put on the host's clock (since qemu's start) by the console: the smallest difference between
# a kernel line's arrival and its own stamp.
# Variants, alternating within each round (each round starts with the next one):
#   own-address     the boot entry's way: iscsi-target.service starts once udev has triggered and sets the cable's
#                   address itself (rd.iscsi_target.address/.interface: ARP duplicate check, ioctls), then loads
#                   LIO's modules and writes configfs; dracut's network scripts have nothing to do
#   dracut-ip       the same service, the address from dracut's ip= (network-legacy in the initqueue)
#   initqueue-wait  ip=, and the service ordered after dracut-initqueue.service (as it was before)
# Usage: test-vms/bench-boot.sh BUILD_DIR [ROUNDS, default 3] [COMPRESS, default gzip (Debian's dracut default)]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-vms/lib.sh
. "$HERE/lib.sh"
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [ROUNDS] [COMPRESS]}" && pwd)
ROUNDS=${2:-3}
export VM_DRACUT_COMPRESS=${3:-gzip}
[[ -x $BUILD/tools/iscsi-target ]] || die "$BUILD/tools/iscsi-target not built"
bash "$HERE/deps.sh"
lib_setup bench-boot
PROBE=$HERE/iscsi_login_probe.py

VARIANTS=(own-address dracut-ip initqueue-wait)
# An initqueue/online hook stamps the moment dracut's network-legacy has the cable's address up (it sources
# these hooks right after configuring an interface); the same in both variants.
mkdir -p "$RUN_DIR/online-hook"
printf '%s\n' '#!/bin/sh' 'echo "<6>bench-boot: network online: $1" >/dev/kmsg' >"$RUN_DIR/online-hook/99-bench-online.sh"
hook=(--include "$RUN_DIR/online-hook/99-bench-online.sh" /lib/dracut/hooks/initqueue/online/99-bench-online.sh)
declare -A INITRD
INITRD[own-address]=$RUN_DIR/initrd-now.img
build_initramfs "${INITRD[own-address]}" systemd --target-bindir "$BUILD/tools" "${hook[@]}"
INITRD[dracut-ip]=${INITRD[own-address]}
moddir=$RUN_DIR/initqueue-wait/95iscsi-target  # dracut knows a module by its folder's name
mkdir -p "${moddir%/*}"
cp -r "$REPO_DIR/modules.d/95iscsi-target" "$moddir"
sed -i 's/^After=systemd-udev-trigger.service .*/& dracut-initqueue.service/' "$moddir/iscsi-target.service"
grep -q '^After=.*dracut-initqueue.service' "$moddir/iscsi-target.service" || die "could not make the initqueue-wait variant"
INITRD[initqueue-wait]=$RUN_DIR/initrd-initqueue-wait.img
build_initramfs "${INITRD[initqueue-wait]}" systemd --target-bindir "$BUILD/tools" --module-dir "$moddir" "${hook[@]}"

disk=$RUN_DIR/disk.raw
truncate -s 64M "$disk"
port=$(free_port)
iqn=iqn.2024-01.org.example:bench-boot
ini=iqn.2024-01.org.example:host
# As the boot entry has it (tools/boot/boot_settings.cc target_options): the cable NIC named iscsi0 by its MAC,
# the portal on the cable's address.  Without CHAP by the explicit opt-in: a CHAP exchange costs the same in
# every variant.
mac=$(vm_mac bench 0)
declare -A CMDLINE
common="console=ttyS0 ifname=iscsi0:$mac rd.lvm=0 rd.luks=0 rd.md=0 rd.dm=0 rd.multipath=0"
common+=" rd.systemd.unit=iscsi-target.target rd.iscsi_target.dev=/dev/disk/by-id/virtio-bench"
common+=" rd.iscsi_target.iqn=$iqn rd.iscsi.initiator=$ini rd.iscsi_target.portal=10.0.2.15 rd.iscsi_target.auth=none"
CMDLINE[own-address]="$common rd.iscsi_target.address=10.0.2.15/24 rd.iscsi_target.interface=iscsi0"
CMDLINE[dracut-ip]="$common ip=10.0.2.15:::255.255.255.0::iscsi0:off rd.neednet=1"
CMDLINE[initqueue-wait]=${CMDLINE[dracut-ip]}

# First stamp (guest monotonic seconds) of a journal line matching the ERE $2 in file $1; empty when none.
# The journal's lines come prefixed with "J " (vm_run drops console lines that start with a kernel stamp).
stamp() { sed -n -E "s#^J \[ *([0-9]+\.[0-9]+)\] .*($2).*#\1#p" "$1" | head -n 1; }

PHASES=(kernel systemd udev service modules disks configfs crng network login)
declare -A cold_samples warm_samples samples  # samples[variant,phase]: "s s s", cumulative seconds since qemu's start
boot_once() {  # boot_once VARIANT ROUND
    local v=$1 r=$2 t0 probe_pid login_file journal
    login_file=$RUN_DIR/login-$v-$r journal=$RUN_DIR/journal-$v-$r.txt
    t0=$EPOCHREALTIME
    vm_start "$v-$r" "$KERNEL" "${INITRD[$v]}" "${CMDLINE[$v]}" --disk "$disk,serial=bench" --mem 1024 \
        --qemu -netdev --qemu "user,id=cable,restrict=on,hostfwd=tcp:127.0.0.1:$port-:3260" \
        --qemu -device --qemu "virtio-net-pci,netdev=cable,mac=$mac"
    # Every console line with the host's clock: kernel lines carry the guest's stamp "[ 12.345678]", so the
    # smallest (host − guest) over them places the guest's time 0 on the host's clock.  Ends with qemu.
    tail -n +1 -F --pid="${VM_QPID[$v-$r]}" "$(vm_log)" 2>/dev/null |
        while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$RUN_DIR/console-stamped-$v-$r" &
    # The host's first accepted login, timed from qemu's start.
    (
        while ((${EPOCHREALTIME%.*} - ${t0%.*} < 240)); do
            # A short timeout: slirp retries a connection to a guest without its address only at TCP's SYN
            # back-off, so a fresh connection every ~1 s sees the portal sooner than one waiting long.
            if timeout 10 python3 "$PROBE" 127.0.0.1 "$port" "$iqn" "$ini" --timeout 1 >>"$login_file.log" 2>&1; then
                awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }' >"$login_file"
                exit 0
            fi
            sleep 0.1
        done
    ) &
    probe_pid=$!
    vm_wait_for 'iscsi-target: ready:|iscsi-target: error:' 240 || die "$v-$r: no ready line"
    [[ $VM_MATCH == *ready:* ]] || die "$v-$r: $VM_MATCH"
    wait "$probe_pid" || true
    [[ -s $login_file ]] || die "$v-$r: no login accepted within 240 s"
    vm_wait_shell 60 || die "$v-$r: no console shell"
    vm_run -t 60 "journalctl -b -o short-monotonic --no-pager | sed 's/^/J /'" >"$journal" || die "$v-$r: could not read the journal"
    # `iscsi-target start` again, the modules now loaded (the shell's own command line: the kernel's).
    local warm
    warm=$(vm_run -t 60 "iscsi-target stop >/dev/null 2>&1; iscsi-target start 2>&1 | grep 'start took'") || true
    warm=$(sed -n -E 's/.*start took ([0-9.]+) s.*/\1/p' <<<"$warm")
    [[ -n $warm ]] || die "$v-$r: the warm restart printed no 'start took'"
    warm_samples[$v]+="$warm "
    vm_stop "systemctl poweroff" 60 || true

    # Guest time 0 (the kernel's start) on the host's clock, counted from qemu's start: qemu, firmware and
    # loading kernel + initramfs come before it.
    local login_host offset
    login_host=$(<"$login_file")
    offset=$(sed -n -E 's/^([0-9.]+) \[ *([0-9]+\.[0-9]+)\] .*/\1 \2/p' "$RUN_DIR/console-stamped-$v-$r" |
        awk -v t0="$t0" 'NR == 1 || $1 - $2 < m { m = $1 - $2 } END { if (NR) printf "%.2f", m - t0 }')
    [[ -n $offset ]] || die "$v-$r: no kernel line on the console"
    local -A at=(
        [kernel]=$(stamp "$journal" 'Run /init as init process')
        [systemd]=$(stamp "$journal" 'Started (Rule-based Manager for Device Events|systemd-udevd)')
        [udev]=$(stamp "$journal" 'Finished (Coldplug All udev Devices|systemd-udev-trigger)')
        [configfs]=$(stamp "$journal" 'iscsi-target: ready:')
        [network]=$(stamp "$journal" 'bench-boot: network online|iscsi-target: cable address')
        [crng]=$(stamp "$journal" 'random: crng init done')
    )
    # The ready line's "start took T s (modules M s, disks and address D s, configfs C s)" places the start's
    # own phases before its stamp.
    local took
    took=$(sed -n -E 's/^J .*iscsi-target: ready:.*start took ([0-9.]+) s \(since its start: modules loaded at ([0-9.]+) s, .*disks and address at ([0-9.]+) s.*/\1 \2 \3/p' "$journal" | head -n 1)
    if [[ -n $took && -n ${at[configfs]} ]]; then
        read -r t m d <<<"$took"
        cold_samples[$v]+="$t "
        at[modules]=$(awk -v r="${at[configfs]}" -v t="$t" -v m="$m" 'BEGIN { printf "%.2f", r - t + m }')
        at[disks]=$(awk -v r="${at[configfs]}" -v t="$t" -v d="$d" 'BEGIN { printf "%.2f", r - t + d }')
        at[service]=$(awk -v r="${at[configfs]}" -v t="$t" 'BEGIN { printf "%.2f", r - t }')
    fi
    local p line="$v round $r:"
    for p in "${PHASES[@]}"; do
        local val
        if [[ $p == login ]]; then val=$login_host
        elif [[ -n ${at[$p]:-} ]]; then val=$(awk -v a="${at[$p]}" -v o="$offset" 'BEGIN { printf "%.2f", a + o }')
        else val=-; fi
        samples[$v,$p]+="$val "
        line+=" $p $val"
    done
    info "$line"
}

timer_start benchmark
for ((round = 1; round <= ROUNDS; round++)); do
    k=$(((round - 1) % ${#VARIANTS[@]}))  # each round starts with the next variant
    order=("${VARIANTS[@]:k}" "${VARIANTS[@]:0:k}")
    for v in "${order[@]}"; do boot_once "$v" "$round"; done
done
timer_end benchmark

# ── report ─────────────────────────────────────────────────────────────────────────────────────────────
# median and spread of the samples "a b c" (non-numbers, i.e. a phase not seen, are left out)
med() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END {
    if (!NR) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'; }
medval() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "Target boot, seconds since qemu's start (median, min–max of $ROUNDS boots each; qemu TCG, 1 vCPU, $VM_DRACUT_COMPRESS initramfs):"
row() { printf '  %-36s' "$1"; shift; printf ' %-22s' "$@"; echo; }
row phase "${VARIANTS[@]}"
declare -A label=(
    [kernel]="kernel + initramfs unpacked (/init)" [systemd]="systemd-udevd running" [udev]="udev coldplug done"
    [service]="iscsi-target start begins" [modules]="LIO modules loaded" [disks]="disks resolved" [configfs]="LIO configured (ready)"
    [crng]="kernel CRNG ready" [network]="cable address up" [login]="first login accepted (host)")
for p in "${PHASES[@]}"; do
    cells=()
    for v in "${VARIANTS[@]}"; do cells+=("$(med <<<"${samples[$v,$p]}")"); done
    row "${label[$p]}" "${cells[@]}"
done
cells=()
for v in "${VARIANTS[@]}"; do cells+=("$(med <<<"${cold_samples[$v]:-}")"); done
row "iscsi-target start at boot (cold)" "${cells[@]}"
cells=()
for v in "${VARIANTS[@]}"; do cells+=("$(med <<<"${warm_samples[$v]}")"); done
row "iscsi-target start, modules loaded" "${cells[@]}"
echo "  (a start at boot includes its waits for the disks and the address; its phases: the \"start took\" lines in the journals)"
a=$(medval <<<"${samples[${VARIANTS[0]},login]}")
for v in "${VARIANTS[@]:1}"; do
    b=$(medval <<<"${samples[$v,login]}")
    awk -v a="$a" -v b="$b" -v na="${VARIANTS[0]}" -v nb="$v" 'BEGIN { printf "  boot-to-serve %s / %s: %.2f\n", na, nb, a / b }'
done
echo "  (journals: $RUN_DIR/journal-*.txt with VM_KEEP=1)"
pass "benchmark ran"
finish
