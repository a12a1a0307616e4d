#!/bin/bash
# Benchmark: iSCSI negotiation parameters, LIO's defaults vs ours (target_plan.cc), in one target VM.
# qemu-img (libiscsi) on the host writes and reads through the loopback-forwarded portal; the target is
# restarted from its console between the two settings (rd.iscsi_target.tuning=lio-defaults|tuned).
#
# Under TCG + slirp the CPU, not the protocol, limits throughput, so MB/s alone hardly moves.  What the
# parameters change is deterministic: how many PDUs an I/O takes and how many R2T round trips a write waits
# for.  So per setting, one extra pass per workload is captured on the host loopback (tshark, capture filter
# `tcp port PORT` on lo, nothing else) and its PDUs are counted by opcode with tshark's iSCSI dissector,
# next to the values the target answered in its Login Response.  Only the PDUs of the benchmark's own I/Os
# are counted (commands whose ExpectedDataTransferLength is the request size, and the PDUs with their task
# tags), not login, INQUIRY & co.  The timed passes are not captured (capturing costs CPU).
# Workloads: writes of 1 MiB, 256 KiB and 64 KiB, reads of 1 MiB.  The 256 KiB write is the one the settings
# change most: with FirstBurstLength 262144 it goes out whole as immediate data in the command; with LIO's
# 65536 only 64 KiB does, the rest waits for an R2T.  A 64 KiB write fits in LIO's FirstBurstLength as well.
# Timed passes alternate the settings (and which goes first) for ROUNDS rounds, the machine's load drifts;
# the median is reported.  qemu-img bench: 8 requests in flight, cache=none; MB/s is taken from its "Run
# completed in N seconds" (without connecting and login).
# Usage: test-vms/bench-tuning.sh BUILD_DIR [MiB per timed pass, default 128] [ROUNDS, default 5]
#                                           [MiB per captured pass, default 16]
# Needs tshark (test-vms/install-deps.sh; installed here when missing and running as root).
# VM_KEEP=1 keeps the captures ($RUN_DIR/SETTING-WORKLOAD.pcapng).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-common.sh"
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [MiB per timed pass] [ROUNDS] [MiB per captured pass]}" && pwd)
MIB=${2:-128}
ROUNDS=${3:-5}
CAP_MIB=${4:-16}
SETTINGS=(lio-defaults tuned)
WORKLOADS=("write 1024" "write 256" "write 64" "read 1024")  # direction, request size in KiB
lib_setup bench-tuning

if ! command -v tshark >/dev/null; then
    ((EUID == 0)) || die "tshark is missing (test-vms/install-deps.sh installs it)"
    info "installing tshark"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends tshark || { apt-get update -qq && apt-get install -y -qq --no-install-recommends tshark; }; } \
        >"$RUN_DIR/apt.log" 2>&1 || { tail -n 20 "$RUN_DIR/apt.log"; die "could not install tshark"; }
fi

bench_target_boot "$BUILD" $((MIB + 64))

# ── capture: tshark on lo, only our port; stopped by its PID ───────────────────────────────────────────
cap_pid=""
capture_stop() {
    [[ -n $cap_pid ]] || return 0
    sleep 0.5  # the last ACKs, and dumpcap's read timeout
    kill -TERM "$cap_pid" 2>/dev/null || true
    wait "$cap_pid" 2>/dev/null || true
    cap_pid=""
}
at_exit capture_stop
capture_start() {  # capture_start FILE.pcapng
    local i
    tshark -i lo -f "tcp port $BENCH_PORT" -B 64 -a duration:300 -q -w "$1" 2>"$1.log" &
    cap_pid=$!
    # tshark prints "Capturing on" before dumpcap has opened lo; "Capture started." comes once it has.
    for ((i = 0; i < 300; i++)); do
        grep -q "Capture started" "$1.log" && { sleep 0.2; return 0; }
        kill -0 "$cap_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$1.log"
    die "tshark did not start capturing"
}

# ── one qemu-img bench pass ────────────────────────────────────────────────────────────────────────────
bench() { bench_pass "$1" "$2" $(($3 * 1024 / $2)) 8; }  # bench write|read KIB MIB → prints MB/s

# ── PDU counts from a capture ──────────────────────────────────────────────────────────────────────────
TSHARK_ISCSI=(-n -o "iscsi.target_ports:$BENCH_PORT" -o iscsi.bogus_pdu_max_data_len:16777216 -d "tcp.port==$BENCH_PORT,iscsi")
# analyze FILE.pcapng REQUEST_BYTES → "key value" lines: the keys of the target's Login Response (login.KEY)
# and of the initiator's Login Request (offer.KEY); then for the I/Os of REQUEST_BYTES and their PDUs: ios,
# writes, imm (commands with immediate data), imm_bytes, dataout, dataout_bytes, r2t, datain, resp, pdus,
# hdr_bytes (BHS 48 + AHS per PDU; digests are checked to be None); session_pdus (all); bad_frames.
analyze() {
    local f=$1 bytes=$2
    timeout 120 tshark -r "$f" "${TSHARK_ISCSI[@]}" -c 400 -Y 'iscsi.opcode == 0x03 || iscsi.opcode == 0x23' \
        -T fields -E separator=';' -E occurrence=a -E aggregator='|' -e iscsi.opcode -e iscsi.keyvalue 2>/dev/null |
        awk -F';' '{ who = ($1 ~ /0x23/) ? "login." : "offer."; n = split($2, kv, "|")
                     for (i = 1; i <= n; i++) if ((p = index(kv[i], "=")) > 0) v[who substr(kv[i], 1, p - 1)] = substr(kv[i], p + 1) }
                   END { for (k in v) print k, v[k] }'
    # One line per frame; a frame may carry several PDUs, their occurrences comma-separated, in order.  Every
    # PDU has opcode, task tag, TotalAHSLength and DataSegmentLength (checked); W and
    # ExpectedDataTransferLength only SCSI Commands, so their k-th values belong to the frame's k-th command.
    timeout 300 tshark -r "$f" "${TSHARK_ISCSI[@]}" -Y iscsi -T fields -E separator=';' -E occurrence=a -E aggregator=',' \
        -e iscsi.opcode -e iscsi.initiatortasktag -e iscsi.datasegmentlength -e iscsi.totalahslength \
        -e iscsi.scsicommand.W -e iscsi.scsicommand.expecteddatatransferlength 2>/dev/null |
        awk -F';' -v bytes="$bytes" '
        function hex(s,   i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v }
        { n = split($1, op, ","); nt = split($2, itt, ","); nd = split($3, dl, ","); na = split($4, ahs, ",")
          split($5, w, ","); split($6, edtl, ",")
          if (nt != n || nd != n || na != n) { bad++; next }
          c = 0
          for (i = 1; i <= n; i++) {
              o = hex(op[i]) % 64; len = dl[i] + 0; session++
              if (o == 1) {
                  c++
                  if (edtl[c] + 0 != bytes) continue
                  mine[itt[i]] = 1; ios++
                  if (w[c] ~ /^(1|True)$/) writes++
                  if (len > 0) { imm++; imm_bytes += len }
              } else if (!(itt[i] in mine)) continue
              else if (o == 5) { dataout++; dataout_bytes += len }
              else if (o == 49) r2t++
              else if (o == 37) datain++
              else if (o == 33) resp++
              else other++
              pdus++; hdr += 48 + 4 * ahs[i]
          } }
        END { printf "ios %d\nwrites %d\nimm %d\nimm_bytes %d\ndataout %d\ndataout_bytes %d\nr2t %d\ndatain %d\nresp %d\nother %d\npdus %d\nhdr_bytes %d\nsession_pdus %d\nbad_frames %d\n",
                ios, writes, imm, imm_bytes, dataout, dataout_bytes, r2t, datain, resp, other, pdus, hdr, session, bad }'
}

# ── the run ────────────────────────────────────────────────────────────────────────────────────────────
wl_name() { echo "$1-$2k"; }
declare -A samples st v  # samples[setting-workload]: MB/s; st[setting,workload,key]: counts; v: formatted
capture_workload() {  # capture_workload SETTING DIR KIB: capture a pass, count its PDUs (3 tries)
    local setting=$1 dir=$2 kib=$3 name try k val pcap
    name=$(wl_name "$dir" "$kib")
    pcap=$RUN_DIR/$setting-$name.pcapng
    for try in 1 2 3; do
        capture_start "$pcap"
        bench "$dir" "$kib" "$CAP_MIB" >/dev/null
        capture_stop
        while read -r k val; do st[$setting,$name,$k]=$val; done < <(analyze "$pcap" $((kib * 1024)))
        if grep -q 'dropped' "$pcap.log"; then
            info "$pcap: $(grep dropped "$pcap.log")"
        elif ((${st[$setting,$name,bad_frames]:-1} != 0)); then
            info "$pcap: ${st[$setting,$name,bad_frames]} frames whose PDU fields do not pair up"
        elif [[ ${st[$setting,$name,ios]:-0} != $((CAP_MIB * 1024 / kib)) || -z ${st[$setting,$name,login.InitialR2T]:-} ]]; then
            info "$pcap: incomplete capture (${st[$setting,$name,ios]:-0} of $((CAP_MIB * 1024 / kib)) I/Os, login ${st[$setting,$name,login.InitialR2T]:+seen}${st[$setting,$name,login.InitialR2T]:-missing})"
        else
            return 0
        fi
        for k in "${!st[@]}"; do [[ $k != "$setting,$name,"* ]] || unset "st[$k]"; done
        info "capture $setting $name: try $try failed, again"
    done
    die "could not capture $setting $name"
}

timer_start benchmark
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SETTINGS[@]}")
    ((round % 2)) || order=("${SETTINGS[1]}" "${SETTINGS[0]}")
    for setting in "${order[@]}"; do
        bench_restart_target "$setting"
        if ((round == 1)); then
            bench write 1024 "$MIB" >/dev/null  # warm-up (first touch of the image file on the host)
            for wl in "${WORKLOADS[@]}"; do
                read -r dir kib <<<"$wl"
                capture_workload "$setting" "$dir" "$kib"
            done
        fi
        line=""
        for wl in "${WORKLOADS[@]}"; do
            read -r dir kib <<<"$wl"
            mbs=$(bench "$dir" "$kib" "$MIB")
            samples[$setting-$(wl_name "$dir" "$kib")]+="$mbs "
            line+=" $(wl_name "$dir" "$kib") $mbs"
        done
        info "round $round, $setting (MB/s):$line"
    done
done
timer_end benchmark
vm_stop "systemctl poweroff" 60 || true

# ── report ─────────────────────────────────────────────────────────────────────────────────────────────
a=${SETTINGS[0]} b=${SETTINGS[1]}
first=$(wl_name write 1024)
for s in "$a" "$b"; do
    for k in HeaderDigest DataDigest; do
        [[ ${st[$s,$first,login.$k]:-} == None ]] || die "$s: $k=${st[$s,$first,login.$k]:-?}, header byte counts assume None"
    done
done
num() { awk -v x="$1" 'BEGIN { printf (x == int(x) ? "%d" : (x < 10 ? "%.2f" : "%.1f")), x }'; }
row() { printf '  %-44s %13s %13s %8s\n' "$1" "$2" "$3" "${4-$(ratio "$2" "$3")}"; }
echo
printf '%-46s %13s %13s %8s\n' "libiscsi (qemu-img bench) -> LIO" "LIO defaults" "tuned" "ratio"
echo "negotiated: the target's Login Response"
for k in MaxRecvDataSegmentLength FirstBurstLength MaxBurstLength InitialR2T ImmediateData MaxOutstandingR2T; do
    row "$k" "${st[$a,$first,login.$k]:-?}" "${st[$b,$first,login.$k]:-?}" ""
done
offer=""
for k in MaxRecvDataSegmentLength FirstBurstLength MaxBurstLength InitialR2T ImmediateData; do offer+=" $k=${st[$a,$first,offer.$k]:-?}"; done
echo "  (the initiator offered$offer)"
for wl in "${WORKLOADS[@]}"; do
    read -r dir kib <<<"$wl"
    name=$(wl_name "$dir" "$kib")
    size=$((kib >= 1024 ? kib / 1024 : kib))$( ((kib >= 1024)) && echo " MiB" || echo " KiB")
    per_mib=$((1024 / kib))
    echo "$dir, $size requests"
    for s in "$a" "$b"; do
        ios=${st[$s,$name,ios]}
        for k in pdus hdr_bytes dataout r2t datain; do
            v[$s,$k]=$(num "$(awk -v n="${st[$s,$name,$k]}" -v i="$ios" -v p="$per_mib" 'BEGIN { print n / i * p }')")
            v[$s,$k/io]=$(num "$(awk -v n="${st[$s,$name,$k]}" -v i="$ios" 'BEGIN { print n / i }')")
        done
        v[$s,imm]="${st[$s,$name,imm]} of $ios"
        v[$s,immkib]=$(awk -v n="${st[$s,$name,imm_bytes]}" -v i="$ios" 'BEGIN { printf "%g", n / i / 1024 }')
        v[$s,mbs]=$(median "${samples[$s-$name]}")
    done
    row "PDUs per MiB (all of the I/Os' PDUs)" "${v[$a,pdus]}" "${v[$b,pdus]}"
    ((kib == 1024)) || row "  per ${size} I/O" "${v[$a,pdus/io]}" "${v[$b,pdus/io]}"
    row "  header bytes per MiB (BHS 48 B each)" "${v[$a,hdr_bytes]}" "${v[$b,hdr_bytes]}"
    if [[ $dir == write ]]; then
        row "  SCSI Data-Out PDUs per MiB" "${v[$a,dataout]}" "${v[$b,dataout]}"
        row "  R2T PDUs per MiB" "${v[$a,r2t]}" "${v[$b,r2t]}"
        row "  R2T round trips per write" "${v[$a,r2t/io]}" "${v[$b,r2t/io]}"
        row "  write commands carrying immediate data" "${v[$a,imm]}" "${v[$b,imm]}" ""
        row "  immediate data per write (KiB)" "${v[$a,immkib]}" "${v[$b,immkib]}"
    else
        row "  SCSI Data-In PDUs per MiB" "${v[$a,datain]}" "${v[$b,datain]}"
    fi
    row "MB/s (median of $ROUNDS x $MIB MiB)" "${v[$a,mbs]}" "${v[$b,mbs]}"
done
echo "(PDU counts: one captured pass of $CAP_MIB MiB per setting and workload; ratio = tuned / LIO defaults)"
pass "benchmark ran"
finish
