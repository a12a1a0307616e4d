#!/usr/bin/env python3
"""Host-side disk tools of the faults test (test-vms/faults.sh).

  faults_disk.py replay LOG IMAGE   apply a dm-log-writes log to IMAGE (a copy of the data disk as it was
                                    when the log started), up to and including the last FLUSH or FUA entry
                                    the log's super block counts: what a power cut leaves on a disk whose
                                    volatile cache is lost. Prints key=value statistics.
  faults_disk.py records FILE       check the writer's records (test-vms/rootfs.sh, test.mode=writer) in
                                    FILE: every line must be a whole, intact record; prints key=value lines.

The dm-log-writes format (Linux drivers/md/dm-log-writes.c, Documentation/admin-guide/device-mapper/
log-writes.rst): sector 0 holds the super (le64 magic, le64 version, le64 nr_entries, le32 sectorsize);
from the next sectorsize-block on, nr_entries entries, each one sectorsize block with
(le64 sector, le64 nr_sectors, le64 flags, le64 data_len) followed by nr_sectors blocks of data (none for
DISCARD and MARK entries; a MARK's text follows the entry header in the same block). Sectors and
nr_sectors count sectorsize blocks. The kernel logs a write only once a FLUSH covers it (or it was FUA),
so every entry up to the last FLUSH/FUA is data the disk had made durable.
"""
import hashlib
import struct
import sys

FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8
MAGIC = 0x6A736677736872


def replay(log_path, image_path):
    with open(log_path, "rb") as log:
        magic, version, nr_entries, sectorsize = struct.unpack("<QQQI", log.read(28))
        if magic != MAGIC:
            sys.exit(f"{log_path}: no dm-log-writes super block (magic {magic:#x})")
        if version != 1 or sectorsize not in (512, 1024, 2048, 4096):
            sys.exit(f"{log_path}: unsupported log version {version} or sector size {sectorsize}")
        entries = []  # (flags, sector, nr_sectors, offset of the data in the log, mark text)
        pos = sectorsize
        for _ in range(nr_entries):
            log.seek(pos)
            sector, nr_sectors, flags, data_len = struct.unpack("<QQQQ", log.read(32))
            mark = ""
            if flags & MARK:
                log.seek(pos + 32)
                mark = log.read(min(data_len, sectorsize - 32)).decode(errors="replace")
            entries.append((flags, sector, nr_sectors, pos + sectorsize, mark))
            pos += sectorsize
            if not flags & (DISCARD | MARK):
                pos += nr_sectors * sectorsize
        last = max((i for i, e in enumerate(entries) if e[0] & (FLUSH | FUA)), default=-1)
        stats = {"entries": nr_entries, "flushes": 0, "fua": 0, "writes": 0, "discards": 0, "marks": 0,
                 "replayed": last + 1, "written_bytes": 0}
        with open(image_path, "r+b") as img:
            for i, (flags, sector, nr_sectors, data_pos, _) in enumerate(entries):
                stats["flushes"] += bool(flags & FLUSH)
                stats["fua"] += bool(flags & FUA)
                stats["marks"] += bool(flags & MARK)
                if flags & DISCARD:
                    stats["discards"] += 1
                elif nr_sectors and not flags & MARK:
                    stats["writes"] += 1
                if i > last:
                    continue
                if flags & DISCARD:
                    img.seek(sector * sectorsize)
                    img.write(bytes(nr_sectors * sectorsize))
                elif nr_sectors and not flags & MARK:
                    log.seek(data_pos)
                    data = log.read(nr_sectors * sectorsize)
                    img.seek(sector * sectorsize)
                    img.write(data)
                    stats["written_bytes"] += len(data)
    for key, value in stats.items():
        print(f"{key}={value}")


def records(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    numbers, bad, tokens = [], 0, {}
    for line in lines:
        words = line.split(b" ")
        ok = len(line) == 4095 and len(words) >= 6 and words[0] == b"REC" and words[1].isdigit()
        if ok:
            body = b" ".join(words[:4])
            ok = hashlib.md5(body + b"\n").hexdigest().encode() == words[4]
        if not ok:
            bad += 1
            continue
        numbers.append(int(words[1]))
        token = words[2].decode()
        tokens[token] = tokens.get(token, 0) + 1
    gaps = sum(1 for a, b in zip(numbers, numbers[1:]) if b != a + 1)
    print(f"lines={len(lines)}")
    print(f"valid={len(numbers)}")
    print(f"invalid={bad}")
    print(f"first={numbers[0] if numbers else 0}")
    print(f"last={numbers[-1] if numbers else 0}")
    print(f"gaps={gaps}")
    print("tokens=" + ",".join(f"{t}:{n}" for t, n in tokens.items()))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "records":
        records(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
