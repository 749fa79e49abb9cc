#!/usr/bin/env python3
"""tools/bench/page_write_cost.py: the kernel's CPU cost of rewriting one 4 KiB page of a file.

usage: tools/bench/page_write_cost.py [--dir /tmp] [--mib 2048] [--chunks 4,256,1024,map]

What a random-keyed B-tree put costs a process on LMDB without MDB_WRITEMAP, below LMDB: a
commit writes each dirty page with pwrite (contiguous runs with writev) and the log's commit then
fdatasyncs. For each chunk size C, the script writes a --mib MiB file in C KiB writes (the size of
a write decides the page-cache folio the kernel makes for it: on Linux >= 6.16, ext4 makes large
folios), then times 200 groups of 1,000 random 4 KiB pwrites + one fdatasync (a commit's shape)
and prints the system and user CPU per page. On ext4 with large folios, a page in a large folio
costs several times one in a 4 KiB folio (the per-block loops of write_begin and writeback run
over the whole folio). LMDB appends fresh pages in runs of up to 64 pages (256 KiB writev), so a
data file's page cache holds such folios, and every later single-page write inside them pays.

"map" is LMDB's MDB_WRITEMAP shape instead: a sparse file of --mib MiB, mapped shared with
MADV_RANDOM (as LMDB's MDB_NORDAHEAD), every page written once through the map and msync'd, then
the same random pages written through the map with one msync per 1,000.

Not a test: figures move with the load (printed); read the ratio between the chunk sizes.
"""
import argparse
import mmap
import os
import random
import resource


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--mib", type=int, default=2048)
    ap.add_argument("--chunks", default="4,256,1024,map")
    a = ap.parse_args()
    path = os.path.join(a.dir, "page_write_cost.%d" % os.getpid())
    print("# %s, Linux %s, load average %.2f %.2f %.2f" % (path, os.uname().release,
                                                         *os.getloadavg()))
    try:
        for chunk in a.chunks.split(","):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            pages = a.mib * 256
            page = os.urandom(4096)
            m = None
            if chunk == "map":
                os.ftruncate(fd, a.mib * 2**20)
                m = mmap.mmap(fd, a.mib * 2**20)
                m.madvise(mmap.MADV_RANDOM)
                for p in range(pages):
                    m[p * 4096:(p + 1) * 4096] = page
                m.flush()
            else:
                buf = os.urandom(int(chunk) * 1024)
                for off in range(0, a.mib * 2**20, len(buf)):
                    os.pwrite(fd, buf, off)
                os.fdatasync(fd)
            rng = random.Random(1)
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            n = 0
            for _ in range(200):
                for p in sorted(rng.randrange(pages) for _ in range(1000)):
                    if m is not None:
                        m[p * 4096:(p + 1) * 4096] = page
                    else:
                        os.pwrite(fd, page, p * 4096)
                    n += 1
                if m is not None:
                    m.flush()
                else:
                    os.fdatasync(fd)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            if m is not None:
                m.close()
            os.close(fd)
            os.unlink(path)
            how = ("sparse, written through a shared map (msync per 1,000)" if m is not None else
                   "written in %d KiB writes (pwrite, fdatasync per 1,000)" % int(chunk))
            print("file of %d MiB %s: %5.1f us system + %.1f us user per random 4 KiB page, "
                  "load %.2f" % (a.mib, how, (r1.ru_stime - r0.ru_stime) * 1e6 / n,
                                 (r1.ru_utime - r0.ru_utime) * 1e6 / n, os.getloadavg()[0]),
                  flush=True)
    finally:
        if os.path.exists(path):
            os.unlink(path)


if __name__ == "__main__":
    main()
