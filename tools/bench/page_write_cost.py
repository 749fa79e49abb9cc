#!/usr/bin/env python3
"""tools/bench/page_write_cost.py: the kernel's CPU cost of rewriting one 4 KiB page of a file.

usage: tools/bench/page_write_cost.py [--dir /tmp] [--mib 2048] [--chunks 4,256,1024]

What a random-keyed B-tree put costs a process on LMDB without MDB_WRITEMAP, below LMDB: a
commit writes each dirty page with pwrite (contiguous runs with writev) and the log's commit then
fdatasyncs. For each chunk size C, the script writes a --mib MiB file in C KiB writes (the size of
a write decides the page-cache folio the kernel makes for it: on Linux >= 6.16, ext4 makes large
folios), then times 200 groups of 1,000 random 4 KiB pwrites + one fdatasync (a commit's shape)
and prints the system and user CPU per page. On ext4 with large folios, a page in a large folio
costs several times one in a 4 KiB folio (the per-block loops of write_begin and writeback run
over the whole folio). LMDB appends fresh pages in runs of up to 64 pages (256 KiB writev), so a
data file's page cache holds such folios, and every later single-page write inside them pays.

Not a test: figures move with the load (printed); read the ratio between the chunk sizes.
"""
import argparse
import os
import random
import resource


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--mib", type=int, default=2048)
    ap.add_argument("--chunks", default="4,256,1024")
    a = ap.parse_args()
    path = os.path.join(a.dir, "page_write_cost.%d" % os.getpid())
    print("# %s, Linux %s, load average %.2f %.2f %.2f" % (path, os.uname().release,
                                                         *os.getloadavg()))
    try:
        for chunk_kib in (int(c) for c in a.chunks.split(",")):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            buf = os.urandom(chunk_kib * 1024)
            for off in range(0, a.mib * 2**20, len(buf)):
                os.pwrite(fd, buf, off)
            os.fdatasync(fd)
            pages = a.mib * 256
            rng = random.Random(1)
            page = os.urandom(4096)
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            n = 0
            for _ in range(200):
                for p in sorted(rng.randrange(pages) for _ in range(1000)):
                    os.pwrite(fd, page, p * 4096)
                    n += 1
                os.fdatasync(fd)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            os.close(fd)
            os.unlink(path)
            print("file of %d MiB written in %4d KiB writes: %5.1f us system + %.1f us user per "
                  "random 4 KiB page (pwrite, one fdatasync per 1,000)"
                  % (a.mib, chunk_kib, (r1.ru_stime - r0.ru_stime) * 1e6 / n,
                     (r1.ru_utime - r0.ru_utime) * 1e6 / n), flush=True)
    finally:
        if os.path.exists(path):
            os.unlink(path)


if __name__ == "__main__":
    main()
