# shellcheck shell=bash
# test-vms/lib.sh — shared helpers for the qemu VM tests.  Source it:  . "$(dirname "$0")/lib.sh"
#
# Everything here is generic (no knowledge of a particular test).  Rules it enforces: qemu runs with
# `-accel tcg` (KVM hangs on our machines) and always under `timeout`; only processes this shell started are
# ever killed, always by PID; the host side binds/forwards on 127.0.0.1 only.
#
# ── Environment ────────────────────────────────────────────────────────────────────────────────────────
#   VM_WORKDIR          artifacts root (default /var/tmp/iscsi-target-vm); each run gets its own
#                       $VM_WORKDIR/runs/<test>-<date>-<pid>, removed on success unless VM_KEEP=1
#   VM_KEEP=1           keep the run directory even when the test passed
#   VM_KVER / VM_KERNEL kernel release / kernel image (default: newest /boot/vmlinuz-* with /lib/modules/KVER)
#   VM_MEM              guest memory in MiB (default 1024)
#   VM_QEMU_TIMEOUT     hard limit in seconds for every qemu process (default 900)
#   VM_DRACUT_COMPRESS  dracut --compress value (default "cat": no compression; building a 80 MB image takes
#                       ~5 s instead of ~30 s with gzip, and the guest does not spend time decompressing)
#   VM_INITRD_CACHE=0   do not reuse a cached initramfs ($VM_WORKDIR/cache/initrd/, keyed by all inputs)
#   VM_DRACUT_MODULES_SYSTEMD / VM_DRACUT_MODULES_NOSYSTEMD   override the module lists below
#   VM_ISCSI_TARGET_MODULE_DIR  the iscsi-target dracut module to use (default <repo>/modules.d/95iscsi-target)
#   VM_VERBOSE=1        echo every command sent to a guest console
#
# ── Results ────────────────────────────────────────────────────────────────────────────────────────────
#   pass MSG / fail MSG            print "PASS: MSG" / "FAIL: MSG" and count it
#   check MSG CMD...               run CMD (output appended to $RUN_DIR/checks.log), PASS if it exits 0
#   check_eq MSG EXPECTED ACTUAL   PASS if the strings are equal (prints both on FAIL)
#   check_match MSG REGEX STRING   PASS if STRING matches the extended REGEX (bash =~)
#                                  The check_* functions always return 0 (safe under set -e, a failed check
#                                  does not end the test); CHECK_OK is 1 after a PASS, 0 after a FAIL.
#   info MSG / die MSG             "INFO: MSG" / "FAIL: MSG" and exit 1 (for broken infrastructure)
#   timer_start NAME / timer_end NAME   print "TIME: NAME N.Ns" and collect it for the summary
#   finish                         print the summary; returns 1 if anything failed or nothing was checked
#
# ── Setup ──────────────────────────────────────────────────────────────────────────────────────────────
#   lib_setup TESTNAME       create RUN_DIR, install the EXIT/INT/TERM trap (kills our VMs, removes RUN_DIR
#                            on success), find the kernel (KVER, KERNEL).  Call first.
#   at_exit 'CMD'            run CMD in the EXIT trap (before the VMs are killed)
#   find_kernel              sets KVER and KERNEL
#   free_port                print a free TCP port on 127.0.0.1
#   make_ext4_image FILE SIZE LABEL [UUID [SRCDIR]]   mkfs.ext4 a file (SIZE like 64M), filled from SRCDIR
#   build_initramfs OUT FLAVOUR [--target-bindir DIR] [--module-dir DIR] [--add-modules 'm ...']
#                   [--drivers 'd ...'] [--install 'file ...'] [--include SRC DST]
#                            FLAVOUR: systemd | nosystemd.  --target-bindir adds the iscsi-target dracut
#                            module (default module dir: <repo>/modules.d/95iscsi-target) with
#                            ISCSI_TARGET_BINDIR=DIR.  Prints "TIME: initramfs-FLAVOUR" and the image size.
#   dracut_modules FLAVOUR   print the module list used for FLAVOUR (found by experiment, see below)
#
# ── VMs (several may run at once; each has a NAME) ───────────────────────────────────────────────────────
#   vm_start NAME KERNEL INITRD CMDLINE [options]
#       KERNEL may be "" to boot firmware → disk/cdrom (INITRD and CMDLINE are then ignored).
#       --disk FILE[,serial=S][,format=F][,readonly=on][,snapshot=on][,cache=C]
#                          → -drive if=none + -device virtio-blk-pci,serial=S (guest: /dev/disk/by-id/virtio-S)
#       --net NETDEV_OPTS  → -netdev NETDEV_OPTS,id=nN + virtio-net-pci with MAC $(vm_mac NAME N), N=0,1,…
#                            e.g. "user,restrict=on,hostfwd=tcp:127.0.0.1:$port-:3260"
#                                 "socket,listen=127.0.0.1:$port"  /  "socket,connect=127.0.0.1:$port"
#       --cdrom FILE   --mem MIB   --qemu ARG (passed through, repeatable)
#       The serial console (ttyS0; put console=ttyS0 in CMDLINE) is a pipe chardev: the log is
#       $RUN_DIR/vm-NAME/console.log (raw, with \r), input goes through vm_send.
#   The VM the functions below act on: $VM if set, else the one last passed to vm_start / vm_use.
#   vm_use NAME                    make NAME the current VM
#   vm_alive                       true while its qemu runs
#   vm_wait_for REGEX TIMEOUT      wait until a console line (from the mark on) matches the extended REGEX;
#                                  sets VM_MATCH to the line (no \r) and moves the mark past it.
#                                  Returns 0 found, 1 timeout, 2 the VM died.  The mark starts at 0 and is
#                                  reset to the end of the log by vm_send/vm_mark.
#   vm_mark                        move the mark to the end of the console log
#   vm_send 'TEXT'                 mark, then type TEXT + newline on the console
#   vm_run [-t SECS] 'CMD'         run CMD in the guest shell, print its output (stdout+stderr, \r and
#                                  kernel/systemd console noise removed), return its exit status
#                                  (255: no answer within SECS, default 60).  CMD runs in the shell itself
#                                  (cd/variables persist); it also exports PAGER=cat SYSTEMD_PAGER=cat.
#   vm_wait_shell TIMEOUT          type probe commands until a shell answers (returns 1 on timeout)
#   vm_console_since OFFSET        print the console log from byte OFFSET (VM_SEND_OFFSET = last send)
#   vm_stop [POWEROFF_CMD [GRACE]] type POWEROFF_CMD (if given), wait up to GRACE s (default 60) for qemu to
#                                  exit, then kill it by PID.  Returns 0 if it exited by itself.
#   vm_kill                        kill the VM now (by PID)
#   vm_mac NAME N                  the MAC address vm_start gives NIC N of VM NAME
#   vm_dump_console [LINES]        print the last LINES (default 60) console lines, \r removed
#   vm_qmp COMMAND [JSON_ARGS]     run one QMP command on the VM's monitor (-qmp unix:…/qmp.sock), print its
#                                  "return" as JSON; returns 1 on an error answer or no answer within 10 s.
#                                  e.g. vm_qmp set_link '{"name": "n0", "up": false}' (NIC n0 = first --net)
#
# ── dracut module lists (dracut 059, Debian 12; found by experiment) ────────────────────────────────────
#   systemd:   systemd systemd-initrd dracut-systemd bash base rootfs-block udev-rules network-legacy network
#   nosystemd: bash base rootfs-block udev-rules network-legacy network
#   plus iscsi-target when --target-bindir is given.  Notes: `network` is needed next to `network-legacy`
#   (net-lib.sh, netroot) and pulls kernel-network-modules (≈250 NIC drivers with --no-hostonly; it cannot
#   be omitted).  `kernel-modules` is not needed: virtio_net virtio_blk virtio_pci ext4 come from --drivers,
#   LIO from the iscsi-target module.  Udev under systemd comes with the `systemd` module.  Network for a
#   user-mode (slirp) NIC: `net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off rd.neednet=1`.
#   Measured: build ≈ 5 s uncompressed (≈ 80 MB), ≈ 32 s with gzip (≈ 25 MB); kernel → dracut shell ≈ 7 s
#   (nosystemd) / ≈ 18 s (systemd) under TCG.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/.." && pwd)
VM_WORKDIR=${VM_WORKDIR:-/var/tmp/iscsi-target-vm}
VM_DRIVERS_DEFAULT="virtio_net virtio_blk virtio_pci ext4"
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}

declare -gA VM_DIR=() VM_QPID=() VM_TPID=() VM_RPID=() VM_MARKS=()
declare -ga VM_NAMES=() LIB_EXIT_CMDS=() LIB_TIMES=()
declare -g VM_CUR="" VM_MATCH="" VM_SEND_OFFSET=0
declare -g CHECKS_PASSED=0 CHECKS_FAILED=0 CHECK_OK=1 RUN_DIR="" TEST_NAME=""
declare -gA LIB_TIMER=()

# ── results ────────────────────────────────────────────────────────────────────────────────────────────
# shellcheck disable=SC2034 # CHECK_OK is read by the tests
pass() { CHECKS_PASSED=$((CHECKS_PASSED + 1)); CHECK_OK=1; echo "PASS: $*"; }
# shellcheck disable=SC2034
fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); CHECK_OK=0; echo "FAIL: $*"; }
info() { echo "INFO: $*"; }
die() { echo "FAIL: $*"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); exit 1; }

check() {
    local msg=$1; shift
    local log=${RUN_DIR:-/tmp}/checks.log
    echo "== $msg: $*" >>"$log"
    if "$@" >>"$log" 2>&1; then pass "$msg"; else fail "$msg (command: $*; see $log)"; fi
    return 0
}
check_eq() {
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1 (expected '$2', got '$3')"; fi
    return 0
}
check_match() {
    if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1 ('$3' does not match /$2/)"; fi
    return 0
}

timer_start() { LIB_TIMER[$1]=$EPOCHREALTIME; }
timer_end() {
    local start=${LIB_TIMER[$1]:-$EPOCHREALTIME} secs
    secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    LIB_TIMES+=("$1 ${secs}s")
    echo "TIME: $1 ${secs}s"
}

finish() {
    local t
    echo "---- $TEST_NAME summary ----"
    for t in "${LIB_TIMES[@]}"; do echo "TIME: $t"; done
    echo "RESULT: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
    if ((CHECKS_FAILED > 0 || CHECKS_PASSED == 0)); then
        echo "FAIL: $TEST_NAME"
        return 1
    fi
    echo "PASS: $TEST_NAME"
}

# ── setup ──────────────────────────────────────────────────────────────────────────────────────────────
find_kernel() {
    if [[ -n ${VM_KVER:-} ]]; then
        KVER=$VM_KVER
        KERNEL=${VM_KERNEL:-/boot/vmlinuz-$KVER}
    else
        local k v best=""
        for k in /boot/vmlinuz-*; do
            [[ -e $k ]] || continue
            v=${k#/boot/vmlinuz-}
            [[ -d /lib/modules/$v ]] || continue
            best=$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n1)
        done
        [[ -n $best ]] || die "no /boot/vmlinuz-KVER with /lib/modules/KVER (Debian: linux-image-amd64)"
        KVER=$best
        KERNEL=${VM_KERNEL:-/boot/vmlinuz-$KVER}
    fi
    [[ -r $KERNEL ]] || die "kernel $KERNEL not readable"
    export KVER KERNEL
}

lib_setup() {
    TEST_NAME=$1
    mkdir -p "$VM_WORKDIR/runs"
    RUN_DIR=$(mktemp -d "$VM_WORKDIR/runs/$TEST_NAME-$(date +%Y%m%d-%H%M%S)-XXXX")
    export RUN_DIR
    trap lib_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    find_kernel
    info "$TEST_NAME: run directory $RUN_DIR, kernel $KERNEL"
}

at_exit() { LIB_EXIT_CMDS+=("$1"); }

lib_exit() {
    local rc=$? c n
    set +e
    for c in "${LIB_EXIT_CMDS[@]}"; do eval "$c"; done
    for n in "${VM_NAMES[@]}"; do VM=$n vm_kill; done
    if [[ -n $RUN_DIR && -d $RUN_DIR ]]; then
        if ((rc == 0 && CHECKS_FAILED == 0)) && [[ ${VM_KEEP:-0} != 1 ]]; then
            rm -rf "$RUN_DIR"
        else
            echo "INFO: artifacts kept in $RUN_DIR"
        fi
    fi
    exit "$rc"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

make_ext4_image() {
    local file=$1 size=$2 label=$3 uuid=${4:-} src=${5:-}
    rm -f "$file"
    truncate -s "$size" "$file"
    local args=(-q -F -L "$label")
    [[ -n $uuid ]] && args+=(-U "$uuid")
    [[ -n $src ]] && args+=(-d "$src")
    mkfs.ext4 "${args[@]}" "$file"
}

# ── initramfs ──────────────────────────────────────────────────────────────────────────────────────────
dracut_modules() {
    case $1 in
    systemd) echo "${VM_DRACUT_MODULES_SYSTEMD:-systemd systemd-initrd dracut-systemd bash base rootfs-block udev-rules network-legacy network}" ;;
    nosystemd) echo "${VM_DRACUT_MODULES_NOSYSTEMD:-bash base rootfs-block udev-rules network-legacy network}" ;;
    *) die "dracut_modules: unknown flavour '$1' (systemd|nosystemd)" ;;
    esac
}

build_initramfs() {
    local out=$1 flavour=$2; shift 2
    local bindir="" moddir="${VM_ISCSI_TARGET_MODULE_DIR:-$REPO_DIR/modules.d/95iscsi-target}" add="" drivers=$VM_DRIVERS_DEFAULT
    local -a install=() include=()
    while (($#)); do
        case $1 in
        --target-bindir) bindir=$2; shift 2 ;;
        --module-dir) moddir=$2; shift 2 ;;
        --add-modules) add="$add $2"; shift 2 ;;
        --drivers) drivers="$drivers $2"; shift 2 ;;
        --install) install+=("$2"); shift 2 ;;
        --include) include+=("$2" "$3"); shift 3 ;;
        *) die "build_initramfs: unknown option $1" ;;
        esac
    done
    local modules compress=${VM_DRACUT_COMPRESS:-cat}
    modules="$(dracut_modules "$flavour")$add"
    [[ -n $bindir ]] && modules+=" iscsi-target"

    # Cache key: every input of the image.
    local key
    key=$({
        echo "$flavour|$modules|$drivers|$compress|$KVER|${install[*]}|${include[*]}"
        sha256sum "$KERNEL"
        dpkg-query -W dracut-core 2>/dev/null || true
        if [[ -n $bindir ]]; then
            sha256sum "$bindir/iscsi-target"
            (cd "$moddir" && find -L . -type f -print0 | sort -z | xargs -0 sha256sum)
        fi
        local f
        for f in "${install[@]}"; do sha256sum "$f" 2>/dev/null || echo "$f"; done
        for ((f = 0; f < ${#include[@]}; f += 2)); do
            find -L "${include[f]}" -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum
        done
    } | sha256sum | cut -c1-16)
    local cachedir="$VM_WORKDIR/cache/initrd" cache
    cache="$cachedir/initrd-$flavour-$key.img"
    timer_start "initramfs-$flavour"
    if [[ ${VM_INITRD_CACHE:-1} != 0 && -s $cache ]]; then
        cp "$cache" "$out"
        info "initramfs $flavour: reused $cache"
    else
        local base="$RUN_DIR/dracut-base-$flavour" empty="$RUN_DIR/dracut-empty-conf"
        rm -rf "$base"
        mkdir -p "$empty"
        cp -rs /usr/lib/dracut "$base"
        if [[ -n $bindir ]]; then
            [[ -f $moddir/module-setup.sh ]] || die "build_initramfs: $moddir/module-setup.sh missing"
            [[ -x $bindir/iscsi-target ]] || die "build_initramfs: $bindir/iscsi-target missing"
            rm -rf "$base/modules.d/95iscsi-target"
            ln -s "$(cd "$moddir" && pwd)" "$base/modules.d/95iscsi-target"
        fi
        local -a args=(--no-hostonly --no-hostonly-cmdline --conf /dev/null --confdir "$empty"
            -m "$modules" --drivers "$drivers" --no-early-microcode --compress "$compress" --force)
        local i
        for i in "${install[@]}"; do args+=(--install "$i"); done
        for ((i = 0; i < ${#include[@]}; i += 2)); do args+=(--include "${include[i]}" "${include[i + 1]}"); done
        local log="$RUN_DIR/dracut-$flavour.log"
        if ! ISCSI_TARGET_BINDIR=${bindir:+$(cd "$bindir" && pwd)} dracutbasedir="$base" \
            dracut "${args[@]}" "$out" "$KVER" >"$log" 2>&1; then
            tail -n 30 "$log"
            die "dracut ($flavour) failed, log: $log"
        fi
        if grep -E "dracut module '.*' (cannot be found|depends on)" "$log"; then
            die "dracut ($flavour) dropped a module, log: $log"
        fi
        if [[ ${VM_INITRD_CACHE:-1} != 0 ]]; then
            mkdir -p "$cachedir"
            # keep only the 8 newest cached images (this directory only: others keep trees in cache/)
            find "$cachedir" -maxdepth 1 -name 'initrd-*.img' -printf '%T@ %p\n' 2>/dev/null | sort -rn \
                | tail -n +9 | cut -d' ' -f2- | xargs -r rm -f || true
            cp "$out" "$cache.tmp.$$" && mv -f "$cache.tmp.$$" "$cache"
        fi
    fi
    timer_end "initramfs-$flavour"
    info "initramfs $flavour: $(du -h "$out" | cut -f1) ($(stat -c %s "$out") bytes), modules: $modules"
}

# ── VMs ────────────────────────────────────────────────────────────────────────────────────────────────
vm__name() { local n=${VM:-$VM_CUR}; [[ -n $n ]] || die "no current VM"; echo "$n"; }
vm_use() { VM_CUR=$1; }

vm_mac() {
    local h
    h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
    printf '52:54:00:%02x:%02x:%02x\n' $(((h >> 8) & 255)) $((h & 255)) "$2"
}

vm_start() {
    local name=$1 kernel=$2 initrd=$3 cmdline=$4; shift 4
    local dir="$RUN_DIR/vm-$name" mem=${VM_MEM:-1024} ndisk=0 nnet=0
    [[ -z ${VM_QPID[$name]:-} ]] || ! VM=$name vm_alive || die "vm_start: VM $name already running"
    rm -rf "$dir"
    mkdir -p "$dir"
    local -a q=("$QEMU_BIN" -accel tcg -nodefaults -display none -no-reboot -smp 1
        -chardev "pipe,id=con,path=$dir/con" -serial chardev:con
        -qmp "unix:$dir/qmp.sock,server=on,wait=off" -pidfile "$dir/qemu.pid")
    if [[ -n $kernel ]]; then
        q+=(-kernel "$kernel" -append "$cmdline")
        [[ -n $initrd ]] && q+=(-initrd "$initrd")
    fi
    while (($#)); do
        case $1 in
        --disk)
            local spec=$2 file serial="" fmt=raw extra="" cache=unsafe kv
            IFS=, read -r -a kvs <<<"$spec"
            file=${kvs[0]}
            for kv in "${kvs[@]:1}"; do
                case $kv in
                serial=*) serial=${kv#serial=} ;;
                format=*) fmt=${kv#format=} ;;
                cache=*) cache=${kv#cache=} ;;
                readonly=* | snapshot=*) extra+=",$kv" ;;
                *) die "vm_start --disk: unknown option $kv" ;;
                esac
            done
            q+=(-drive "file=$file,if=none,id=d$ndisk,format=$fmt,cache=$cache$extra"
                -device "virtio-blk-pci,drive=d$ndisk${serial:+,serial=$serial}")
            ndisk=$((ndisk + 1)); shift 2 ;;
        --net)
            q+=(-netdev "$2,id=n$nnet" -device "virtio-net-pci,netdev=n$nnet,mac=$(vm_mac "$name" "$nnet")")
            nnet=$((nnet + 1)); shift 2 ;;
        --cdrom) q+=(-drive "file=$2,media=cdrom,readonly=on"); shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --qemu) q+=("$2"); shift 2 ;;
        *) die "vm_start: unknown option $1" ;;
        esac
    done
    q+=(-m "$mem")
    mkfifo "$dir/con.in" "$dir/con.out"
    : >"$dir/console.log"
    printf '%q ' "${q[@]}" >"$dir/qemu.cmd"
    echo >>"$dir/qemu.cmd"
    # Reader: copies the guest's serial output to the log; ends when qemu closes the pipe.
    cat "$dir/con.out" >>"$dir/console.log" &
    VM_RPID[$name]=$!
    timeout --kill-after=10 "${VM_QEMU_TIMEOUT:-900}" "${q[@]}" </dev/null >"$dir/qemu.stdout" 2>&1 &
    VM_TPID[$name]=$!
    VM_DIR[$name]=$dir
    VM_MARKS[$name]=0
    VM_NAMES+=("$name")
    VM_CUR=$name
    # Wait for the pid file (qemu writes it once its options are parsed).
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ -s $dir/qemu.pid ]]; then
            VM_QPID[$name]=$(<"$dir/qemu.pid")
            info "VM $name started (qemu pid ${VM_QPID[$name]}), console $dir/console.log"
            return 0
        fi
        kill -0 "${VM_TPID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$dir/qemu.stdout" >&2
    VM=$name vm_kill
    die "vm_start: qemu for $name did not start (command in $dir/qemu.cmd)"
}

vm_alive() {
    local n; n=$(vm__name)
    local p=${VM_TPID[$n]:-}
    [[ -n $p ]] && kill -0 "$p" 2>/dev/null
}

vm_log() { local n; n=$(vm__name); echo "${VM_DIR[$n]}/console.log"; }

vm_mark() {
    local n; n=$(vm__name)
    VM_MARKS[$n]=$(stat -c %s "${VM_DIR[$n]}/console.log")
}

vm_wait_for() {
    local re=$1 timeout=$2 n; n=$(vm__name)
    local log="${VM_DIR[$n]}/console.log" deadline=$((SECONDS + timeout)) hit mark dead=0
    while :; do
        mark=${VM_MARKS[$n]}
        hit=$(tail -c +"$((mark + 1))" "$log" | LC_ALL=C grep -a -m1 -b -E -e "$re" || true)
        if [[ -n $hit ]]; then
            local off=${hit%%:*} line=${hit#*:}
            VM_MARKS[$n]=$((mark + off + $(LC_ALL=C; echo "${#line}") + 1))
            VM_MATCH=${line//$'\r'/}
            return 0
        fi
        ((dead)) && return 2
        if ! VM=$n vm_alive; then dead=1; sleep 0.3; continue; fi   # one more look at the final output
        ((SECONDS >= deadline)) && return 1
        sleep 0.5
    done
}

vm_send() {
    local n; n=$(vm__name)
    vm_mark
    VM_SEND_OFFSET=${VM_MARKS[$n]}
    [[ ${VM_VERBOSE:-0} == 1 ]] && echo "SEND[$n]: $1" >&2
    VM=$n vm_alive || return 1
    # A fifo write blocks only while nobody reads; qemu holds it open read-write, so this returns at once.
    timeout 10 bash -c 'printf "%s\n" "$1" >"$2"' _ "$1" "${VM_DIR[$n]}/con.in"
}

vm_console_since() {
    local n; n=$(vm__name)
    tail -c +"$(($1 + 1))" "${VM_DIR[$n]}/console.log" | tr -d '\r'
}

# Remove console noise that is not command output: kernel messages ("[   12.345678] …") and systemd
# status lines ("[  OK  ] …", colour escapes).
vm__denoise() {
    sed -E -e 's/\x1b\[\?2004[hl]//g' \
        -e '/^\[ *[0-9]+\.[0-9]+\] /d' -e '/^\x1b\[/d' -e '/^\[ *(OK|FAILED|DEPEND|TIME) *\]/d'
}

vm_run() {
    local timeout=60
    if [[ $1 == -t ]]; then timeout=$2; shift 2; fi
    local cmd=$1 n; n=$(vm__name)
    # A random token, not a counter: vm_run is often called in $(…), where counters would not advance.
    local s=$SRANDOM
    # The quotes keep the typed (echoed) line from matching the markers.  PAGER/SYSTEMD_PAGER=cat: a pager
    # (systemctl, journalctl on a tty) would wait for keys and swallow the next commands.
    VM=$n vm_send "echo @@\"\"B$s; export PAGER=cat SYSTEMD_PAGER=cat; { $cmd
} 2>&1; echo @@\"\"E$s:\$?" || return 255
    local start=$VM_SEND_OFFSET
    if ! VM=$n vm_wait_for "^@@E$s:[0-9]+" "$timeout"; then
        echo "vm_run: no answer from VM $n within ${timeout}s to: $cmd" >&2
        return 255
    fi
    local rc=${VM_MATCH#@@E"$s":}
    rc=${rc%%[^0-9]*}
    vm_console_since "$start" | awk -v b="@@B$s" -v e="@@E$s:" '
        index($0, e) == 1 { exit }
        on { print }
        $0 == b { on = 1 }' | vm__denoise
    return "$rc"
}

vm_wait_shell() {
    local timeout=$1 n; n=$(vm__name)
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        local s=$SRANDOM
        VM=$n vm_send "echo @@\"\"R$s" || return 1
        if VM=$n vm_wait_for "^@@R$s([^0-9]|$)" 5; then return 0; fi
        VM=$n vm_alive || return 1
    done
    return 1
}

vm_kill() {
    local n; n=$(vm__name)
    local qp=${VM_QPID[$n]:-} t=${VM_TPID[$n]:-} r=${VM_RPID[$n]:-} i
    if [[ -n $qp ]] && kill -0 "$qp" 2>/dev/null; then
        kill "$qp" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$qp" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$qp" 2>/dev/null || true
    fi
    if [[ -n $t ]] && kill -0 "$t" 2>/dev/null; then
        [[ -z $qp ]] && kill "$t" 2>/dev/null
        for ((i = 0; i < 50; i++)); do kill -0 "$t" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$t" 2>/dev/null || true
    fi
    [[ -n $t ]] && wait "$t" 2>/dev/null
    if [[ -n $r ]] && kill -0 "$r" 2>/dev/null; then
        # the reader ends on its own when qemu is gone; give it a moment to drain the pipe
        for ((i = 0; i < 20; i++)); do kill -0 "$r" 2>/dev/null || break; sleep 0.1; done
        kill "$r" 2>/dev/null || true
    fi
    [[ -n $r ]] && wait "$r" 2>/dev/null
    return 0
}

vm_stop() {
    local cmd=${1:-} grace=${2:-60} n; n=$(vm__name)
    local deadline
    if [[ -n $cmd ]] && VM=$n vm_alive; then VM=$n vm_send "$cmd" || true; fi
    deadline=$((SECONDS + grace))
    while VM=$n vm_alive && ((SECONDS < deadline)); do sleep 0.5; done
    if VM=$n vm_alive; then
        VM=$n vm_kill
        return 1
    fi
    VM=$n vm_kill
    return 0
}

vm_qmp() {
    local n; n=$(vm__name)
    python3 - "${VM_DIR[$n]}/qmp.sock" "$1" "${2:-"{}"}" <<'PY'
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(sys.argv[1])
f = sock.makefile("rw")
def call(cmd, args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:  # skip asynchronous events
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
json.loads(f.readline())  # the greeting
call("qmp_capabilities", {})
r = call(sys.argv[2], json.loads(sys.argv[3]))
if "error" in r:
    sys.exit(f"qmp {sys.argv[2]}: {r['error'].get('desc', r['error'])}")
print(json.dumps(r["return"]))
PY
}

vm_dump_console() {
    local lines=${1:-60} n; n=$(vm__name)
    echo "---- last $lines console lines of VM $n (${VM_DIR[$n]}/console.log) ----"
    tail -n "$lines" "${VM_DIR[$n]}/console.log" | tr -d '\r' | sed -E 's/\x1b\[[0-9;?]*[a-zA-Z]//g'
    echo "---- end of console of VM $n ----"
}

# ── shared by the tests ─────────────────────────────────────────────────────────────────────────────────
# Common start of the target tests: BUILD_DIR must hold tools/iscsi-target; sets BUILD, PROBE, BOOT_END_RE.
target_test_setup() { # target_test_setup NAME BUILD_DIR
    [[ -n ${2:-} ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
    BUILD=$(cd "$2" && pwd)
    [[ -x $BUILD/tools/iscsi-target ]] || { echo "$0: $BUILD/tools/iscsi-target not built" >&2; exit 2; }
    bash "$LIB_DIR/deps.sh"
    lib_setup "$1"
    # shellcheck disable=SC2034 # PROBE and BOOT_END_RE are for the sourcing test
    PROBE="$LIB_DIR/iscsi_login_probe.py"
    # The end of a target boot: our ready/error line, or dracut giving up (fail fast instead of waiting 300 s).
    # shellcheck disable=SC2034
    BOOT_END_RE='iscsi-target: (ready|error):|dracut: FATAL|Dropping to debug shell|Entering emergency mode'
}

# Waits for the end of the current VM's target boot. Its "iscsi-target: ready:" line — printed by the tool
# itself, or with systemd through journald as "[ 19.5] iscsi-target[316]: iscsi-target: ready: …" — is a
# PASS and returns 0. An error line, dracut or systemd giving up, the timeout or the VM's death is a FAIL with
# the console's tail, and returns 1.
target_boot_result() { # target_boot_result LABEL TIMEOUT
    local fail_re='iscsi-target: (error|failed|FAIL)|dracut: FATAL|Dropping to debug shell|Entering emergency mode'
    fail_re+='|Kernel panic|dracut Warning: Could not boot|Give root password'
    local rc=0
    vm_wait_for "^(\[ *[0-9.]+\] )?(iscsi-target\[[0-9]+\]: )?iscsi-target: ready:|$fail_re" "$2" || rc=$?
    if ((rc == 0)) && [[ $VM_MATCH =~ iscsi-target:\ ready: ]]; then
        pass "$1: ${VM_MATCH#*iscsi-target: }"
        return 0
    fi
    case $rc in 1) fail "$1: no 'iscsi-target: ready:' within ${2}s" ;; 2) fail "$1: the VM died" ;;
    *) fail "$1: $VM_MATCH" ;; esac
    vm_dump_console 100
    return 1
}

# target_boot_result for a test that cannot go on without its target.
wait_target_ready() { # wait_target_ready TIMEOUT
    target_boot_result target "$1" || die "target never became ready"
}
