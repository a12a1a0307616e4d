#!/usr/bin/env python3
"""iscsi_login_probe.py — log in to an iSCSI target's security stage with (mutual) CHAP and report exactly
what happened.  Independent of libiscsi/open-iscsi, so a test can tell a target fault from an initiator one.

usage: iscsi_login_probe.py HOST PORT TARGET_IQN INITIATOR_IQN [--user U --password P]
                            [--mutual-user MU --mutual-password MP] [--timeout S]

Exit status:  0  the target accepted the initiator (and, with --mutual-*, proved it knows the mutual secret)
              1  the target refused the login (status class/detail printed, e.g. 02/01 authentication
                 failure, 02/02 authorization failure = initiator not in the ACL, 02/03 target not found)
              2  mutual CHAP: the target's CHAP_N/CHAP_R is wrong or missing
              3  protocol or connection error
Prints one line "RESULT: …" plus the text keys the target sent (CHAP values included, no secrets).
"""
import argparse
import hashlib
import os
import socket
import struct
import sys


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
    a = ap.parse_args()

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
        return bhs[36], bhs[37], bhs[1], data

    try:
        sock = socket.create_connection((a.host, a.port), a.timeout)
        sock.settimeout(a.timeout)
        auth = "CHAP" if a.user else "None"
        keys = ["InitiatorName=" + a.initiator, "TargetName=" + a.target, "SessionType=Normal",
                "AuthMethod=" + auth]
        if not a.user:
            # No CHAP: ask to leave the security stage at once.
            cls, det, flags, data = exchange(0x80 | sec_only, keys)
            return report(cls, det, data, "login without CHAP")
        cls, det, flags, data = exchange(sec_only, keys)
        if cls:
            return report(cls, det, data, "first login PDU")
        got = parse_keys(data)
        if got.get("AuthMethod") != "CHAP":
            print("RESULT: target did not choose CHAP: %r" % got)
            return 3
        cls, det, flags, data = exchange(sec_only, ["CHAP_A=5"])
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
        cls, det, flags, data = exchange(0x80 | sec_only, keys)
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
            print("RESULT: login accepted; target proved the mutual secret")
            return 0
        print("RESULT: login accepted")
        return 0
    except (OSError, ConnectionError, KeyError, ValueError) as e:
        print("RESULT: protocol/connection error: %s" % e)
        return 3


def report(cls, det, data, stage):
    if cls == 0:
        print("RESULT: login accepted (%s)" % stage)
        return 0
    print("RESULT: target refused the login at %s: status %02x/%02x %r" % (stage, cls, det, parse_keys(data)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
