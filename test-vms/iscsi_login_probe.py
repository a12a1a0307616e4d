#!/usr/bin/env python3
"""iscsi_login_probe.py — log in to an iSCSI target's security stage with (mutual) CHAP and report exactly
what happened.  Independent of libiscsi/open-iscsi, so a test can tell a target fault from an initiator one.

usage: iscsi_login_probe.py HOST PORT TARGET_IQN INITIATOR_IQN [--user U --password P]
                            [--mutual-user MU --mutual-password MP] [--timeout S]
                            [--hold SECONDS | --write-lun N]

--hold SECONDS   after the login, go on to the full feature phase and keep the session open (answering the
                 target's NOP-Ins) for SECONDS, printing "HOLDING: …" once logged in; then log out.
--write-lun N    after the login, send one WRITE(10) of 512 bytes (0xA5) to LBA 0 of LUN N and report the SCSI
                 status and sense: exit 0 only when the target refuses it with sense key 7 (DATA PROTECT).

Exit status:  0  the target accepted the initiator (and, with --mutual-*, proved it knows the mutual secret)
              1  the target refused the login (status class/detail printed, e.g. 02/01 authentication
                 failure, 02/02 authorization failure = initiator not in the ACL, 02/03 target not found)
              2  mutual CHAP: the target's CHAP_N/CHAP_R is wrong or missing
              3  protocol or connection error
              4  --write-lun: the target accepted the write (status GOOD)
              5  --write-lun: the target failed the write otherwise than with DATA PROTECT
Prints one line "RESULT: …" plus the text keys the target sent (CHAP values included, no secrets).
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import time


def pdu(flags, itt, cmdsn, expstatsn, keys, isid):
    data = b"".join(k.encode() + b"\0" for k in keys)
    bhs = bytearray(48)
    bhs[0] = 0x43  # immediate + Login Request
    bhs[1] = flags
    bhs[5:8] = len(data).to_bytes(3, "big")
    bhs[8:14] = isid
    struct.pack_into(">I", bhs, 16, itt)
    struct.pack_into(">I", bhs, 24, cmdsn)
    struct.pack_into(">I", bhs, 28, expstatsn)
    return bytes(bhs) + data + b"\0" * (-len(data) % 4)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the target")
        buf += chunk
    return buf


def recv_pdu(sock):
    bhs = recv_exact(sock, 48)
    ahs = bhs[4] * 4
    dlen = int.from_bytes(bhs[5:8], "big")
    rest = recv_exact(sock, ahs + dlen + (-dlen % 4))
    data = rest[ahs:ahs + dlen]
    pad = rest[ahs + dlen:]
    if pad.strip(b"\0"):
        print("note: non-zero padding after the data segment: %r" % pad)
    return bhs, data


def parse_keys(data):
    out = {}
    for item in data.split(b"\0"):
        if not item:
            continue
        k, _, v = item.decode(errors="replace").partition("=")
        out[k] = v
    return out


def chap_response(ident, secret, challenge_hex):
    challenge = bytes.fromhex(challenge_hex[2:] if challenge_hex.lower().startswith("0x") else challenge_hex)
    return "0x" + hashlib.md5(bytes([ident]) + secret.encode() + challenge).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("target")
    ap.add_argument("initiator")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--mutual-user")
    ap.add_argument("--mutual-password")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--hold", type=float, metavar="SECONDS")
    ap.add_argument("--write-lun", type=int, metavar="N")
    a = ap.parse_args()
    full = a.hold is not None or a.write_lun is not None

    isid = bytes([0x80, 0, 0x23, 0x45]) + os.urandom(2)
    itt, cmdsn, expstatsn = 1, 1, 0
    sec_only = 0x00 | (0 << 2) | 1  # CSG=0 (security), NSG=1, T=0

    def exchange(flags, keys):
        nonlocal expstatsn
        sock.sendall(pdu(flags, itt, cmdsn, expstatsn, keys, isid))
        bhs, data = recv_pdu(sock)
        if bhs[0] & 0x3F != 0x23:
            raise ConnectionError("unexpected opcode 0x%02x" % bhs[0])
        expstatsn = struct.unpack_from(">I", bhs, 24)[0] + 1
        return bhs[36], bhs[37], bhs[1], data, bhs

    try:
        sock = socket.create_connection((a.host, a.port), a.timeout)
        sock.settimeout(a.timeout)
        auth = "CHAP" if a.user else "None"
        keys = ["InitiatorName=" + a.initiator, "TargetName=" + a.target, "SessionType=Normal",
                "AuthMethod=" + auth]
        if not a.user:
            # No CHAP: ask to leave the security stage at once.
            cls, det, flags, data, _ = exchange(0x80 | sec_only, keys)
            return report(cls, det, data, "login without CHAP")
        cls, det, flags, data, _ = exchange(sec_only, keys)
        if cls:
            return report(cls, det, data, "first login PDU")
        got = parse_keys(data)
        if got.get("AuthMethod") != "CHAP":
            print("RESULT: target did not choose CHAP: %r" % got)
            return 3
        cls, det, flags, data, _ = exchange(sec_only, ["CHAP_A=5"])
        if cls:
            return report(cls, det, data, "CHAP_A")
        got = parse_keys(data)
        ident = int(got["CHAP_I"], 0)
        keys = ["CHAP_N=" + a.user, "CHAP_R=" + chap_response(ident, a.password, got["CHAP_C"])]
        my_id, my_challenge = None, None
        if a.mutual_user:
            my_id = os.urandom(1)[0]
            my_challenge = "0x" + os.urandom(16).hex()
            keys += ["CHAP_I=%d" % my_id, "CHAP_C=" + my_challenge]
        cls, det, flags, data, bhs = exchange(0x80 | sec_only, keys)
        if cls:
            return report(cls, det, data, "CHAP response")
        got = parse_keys(data)
        print("target keys: " + " ".join("%s=%s" % kv for kv in got.items()))
        print("raw response data (%d bytes): %r" % (len(data), data))
        if a.mutual_user:
            want = chap_response(my_id, a.mutual_password, my_challenge)
            if got.get("CHAP_N") != a.mutual_user or got.get("CHAP_R", "").lower() != want:
                print("RESULT: mutual CHAP failed: target sent CHAP_N=%r CHAP_R=%r" %
                      (got.get("CHAP_N"), got.get("CHAP_R")))
                return 2
            if not full:
                print("RESULT: login accepted; target proved the mutual secret")
                return 0
        if not full:
            print("RESULT: login accepted")
            return 0
        # Operational stage → full feature phase. InitialR2T=Yes with ImmediateData=Yes: a small write travels
        # whole inside its command PDU.
        op_keys = ["HeaderDigest=None", "DataDigest=None", "InitialR2T=Yes", "ImmediateData=Yes",
                   "MaxRecvDataSegmentLength=262144", "MaxBurstLength=262144", "FirstBurstLength=65536",
                   "DefaultTime2Wait=0", "DefaultTime2Retain=0", "MaxOutstandingR2T=1", "MaxConnections=1",
                   "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes", "ErrorRecoveryLevel=0"]
        for _ in range(4):
            cls, det, flags, data, bhs = exchange(0x80 | (1 << 2) | 3, op_keys)  # T=1, CSG=1, NSG=3
            if cls:
                return report(cls, det, data, "operational negotiation")
            op_keys = []
            if flags & 0x80 and flags & 3 == 3:
                break
        else:
            print("RESULT: protocol/connection error: the target did not reach the full feature phase")
            return 3
        session = Session(sock, expstatsn, struct.unpack_from(">I", bhs, 28)[0])
        if a.write_lun is not None:
            return session.write_protected_check(a.write_lun)
        print("HOLDING: logged in as %s, holding the session for %g s" % (a.initiator, a.hold), flush=True)
        session.hold(a.hold)
        print("RESULT: held the session for %g s, logged out" % a.hold)
        return 0
    except (OSError, ConnectionError, KeyError, ValueError) as e:
        print("RESULT: protocol/connection error: %s" % e)
        return 3


SENSE_KEYS = {0: "NO SENSE", 2: "NOT READY", 3: "MEDIUM ERROR", 4: "HARDWARE ERROR", 5: "ILLEGAL REQUEST",
              6: "UNIT ATTENTION", 7: "DATA PROTECT", 0xB: "ABORTED COMMAND"}


class Session:
    """A logged-in session in the full feature phase (one connection, no digests)."""

    def __init__(self, sock, expstatsn, cmdsn):
        self.sock, self.expstatsn, self.cmdsn, self.itt = sock, expstatsn, cmdsn, 0x1000

    def send(self, bhs, data=b""):
        struct.pack_into(">I", bhs, 24, self.cmdsn)
        struct.pack_into(">I", bhs, 28, self.expstatsn)
        self.sock.sendall(bytes(bhs) + data + b"\0" * (-len(data) % 4))

    def answer_nop_in(self, bhs):
        """A NOP-In asking for an answer (TTT != 0xffffffff) gets a NOP-Out echoing its TTT and LUN."""
        # A NOP-In carries the next StatSN and does not advance it.
        self.expstatsn = max(self.expstatsn, struct.unpack_from(">I", bhs, 24)[0])
        ttt = struct.unpack_from(">I", bhs, 20)[0]
        if ttt == 0xFFFFFFFF:
            return
        out = bytearray(48)
        out[0] = 0x40  # immediate NOP-Out
        out[1] = 0x80
        out[8:16] = bhs[8:16]
        struct.pack_into(">I", out, 16, 0xFFFFFFFF)
        struct.pack_into(">I", out, 20, ttt)
        self.send(out)

    def hold(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
            try:
                bhs, _ = recv_pdu(self.sock)
            except socket.timeout:
                continue
            if bhs[0] & 0x3F == 0x20:
                self.answer_nop_in(bhs)
            elif bhs[0] & 0x3F == 0x32:
                raise ConnectionError("the target asked to log out (async message)")
        self.sock.settimeout(10)
        out = bytearray(48)
        out[0] = 0x46  # immediate Logout Request
        out[1] = 0x80  # close the session
        self.itt += 1
        struct.pack_into(">I", out, 16, self.itt)
        self.send(out)
        while True:
            bhs, _ = recv_pdu(self.sock)
            if bhs[0] & 0x3F == 0x26:
                return
            if bhs[0] & 0x3F == 0x20:
                self.answer_nop_in(bhs)

    def write_protected_check(self, lun):
        payload = b"\xa5" * 512
        out = bytearray(48)
        out[0] = 0x01  # SCSI Command
        out[1] = 0x80 | 0x20 | 0x01  # F, W, simple task
        out[5:8] = len(payload).to_bytes(3, "big")
        out[9] = lun  # single-level LUN, peripheral addressing
        self.itt += 1
        struct.pack_into(">I", out, 16, self.itt)
        struct.pack_into(">I", out, 20, len(payload))
        out[32:42] = bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0])  # WRITE(10) LBA 0, 1 block
        self.send(out, payload)
        self.cmdsn += 1
        while True:
            bhs, data = recv_pdu(self.sock)
            op = bhs[0] & 0x3F
            if op == 0x20:
                self.answer_nop_in(bhs)
            elif op == 0x31:
                print("RESULT: the target asked for the write's data (R2T): the write is not refused")
                return 4
            elif op == 0x21:
                break
            else:
                raise ConnectionError("unexpected opcode 0x%02x after WRITE(10)" % op)
        response, status = bhs[2], bhs[3]
        if response == 0 and status == 0:
            print("RESULT: WRITE(10) to LUN %d accepted (status GOOD)" % lun)
            return 4
        sense = data[2:2 + int.from_bytes(data[0:2], "big")] if len(data) >= 2 else b""
        if len(sense) >= 14 and sense[0] & 0x7F in (0x70, 0x71):
            key, asc, ascq = sense[2] & 0x0F, sense[12], sense[13]
        elif len(sense) >= 4 and sense[0] & 0x7F in (0x72, 0x73):
            key, asc, ascq = sense[1] & 0x0F, sense[2], sense[3]
        else:
            print("RESULT: WRITE(10) to LUN %d failed: response 0x%02x status 0x%02x, no sense data" % (lun, response, status))
            return 5
        what = "WRITE(10) to LUN %d refused: status 0x%02x, sense key %d (%s), ASC/ASCQ %02x/%02x%s" % (
            lun, status, key, SENSE_KEYS.get(key, "?"), asc, ascq, " (WRITE PROTECTED)" if (asc, ascq) == (0x27, 0) else "")
        print("RESULT: " + what)
        return 0 if key == 7 else 5


def report(cls, det, data, stage):
    if cls == 0:
        print("RESULT: login accepted (%s)" % stage)
        return 0
    print("RESULT: target refused the login at %s: status %02x/%02x %r" % (stage, cls, det, parse_keys(data)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
