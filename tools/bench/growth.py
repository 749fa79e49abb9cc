#!/usr/bin/env python3
"""tools/bench/growth.py: how the costs grow with the log (issue 17, "How the cost grows").

usage: tools/bench/growth.py [--bin build/tools/hooklog] [--events 1000000] [--step 250000]
                             [--conns 2] [--out /tmp/hooklog-growth] [--keep] [--resume]
                             [--endpoints queued|none|deliver] [--perf-record | --perf-stat EVENTS]
                             [--cyclic-times] [--random-ids] [--no-entity] [--no-rebuild] [--threads]

Starts `hooklog serve` on 127.0.0.1 with an empty data directory and batch-ingests --events events
(standard source, ~600-byte bodies, 12 types, 100,000 entities, batches of 500 over --conns
keep-alive connections). --endpoints says what the events are matched against:
  queued   (the default, the earlier runs): `serve --no-deliver` with four endpoints of the tenant,
           about 2.3 matching each event, never delivered: every match stays in the pending
           projection (2.3 items per event, without bound; no hub in production is in that state)
  none     no endpoint: the log, its indexes, timelines and stats only
  deliver  the four endpoints point at a hooklog-receiver (next to --bin) and deliveries run
           (`--allow-private-targets`): pending holds what the dispatcher has not sent yet
At every --step events it pauses ingest until the projections caught up, then measures: the ingest rate of the last step (events/s, wall), 200 reads each of
GET /v1/events?type=T&limit=50, GET /v1/events?entity_kind=order&entity_id=E&limit=50 and
GET /v1/entities/order/E/timeline (p50/p99 ms, one connection), the server's resident memory
(VmRSS, and VmHWM: the peak) and the data directory's bytes per event. At the end it stops the
server and times `hooklog rebuild --data DIR` (every projection from the log: records per second,
wall and CPU; --no-rebuild skips it). Prints a table (markdown), and writes <out>/growth.tsv (one
line per step: the figures of the table, the pending items and the load average; the input of
tools/bench/growth.gp, which draws docs/perf/growth.svg) and <out>/growth.json.

Event ids are g-<n> (a batch's ids sort together, so the log's idempotency index takes them
near its end); --random-ids sends 24 hex digits of sha1(n) instead, as producers that use UUIDs
or random ids do (every id a put at a random place). --no-entity sends the same events without
entity and status (the entity's id moves into data): no timeline transition and no by-entity
index key, to tell their share of the growth from the rest (the by-entity and timeline reads
are skipped: 0 in the table). --cyclic-times sends the earlier runs' timestamps (the 3,600
seconds of one hour, over and over) instead of increasing ones.

--keep keeps <out>/data; --resume starts the server on that kept directory and ingests --events
more, continuing its event numbering (from <out>/growth.json) and appending to its TSV.
--threads writes <out>/threads.tsv: per step and server thread, user and system CPU µs, minor
and major page faults and voluntary / involuntary context switches per event (/proc/PID/task),
each thread named by its role from one gdb backtrace at the start (writer, runner, http-io, ...);
with --perf-stat it also passes --per-thread to perf stat.
--perf-record runs `perf record -g -p SERVER` over the ingest of every step (not the reads) into
<out>/perf-<events>.data, for `perf report -i FILE --no-children`; --perf-stat EVENTS runs
`perf stat -e EVENTS -p SERVER` instead (<out>/perf-stat-<events>.txt), e.g.
syscalls:sys_enter_pwrite64,syscalls:sys_enter_writev,syscalls:sys_enter_fdatasync,page-faults
(tracepoints need root or perf_event_paranoid <= -1).

Not a test: figures on a shared machine move with the load; the ratios between steps of the same
run are what to read. Python's client costs CPU on the same cores as the server: the ingest rate is
a lower bound of the server's.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

KEY = "bench-admin-key-0123456789abcdef"
TYPES = ["order.created", "order.updated", "order.paid", "order.shipped", "order.delivered",
         "order.cancelled", "job.created", "job.pickup.updated", "job.delivery.updated",
         "shipment.created", "package.status.shipped", "folio.updated"]
STATUSES = ["open", "paid", "shipped", "delivered", "cancelled"]
ENTITIES = 100_000
NOTE = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 4)[:240]


T0 = 1714521600  # 2024-05-01T00:00:00Z
CYCLIC_TIMES = False  # --cyclic-times
RANDOM_IDS = False  # --random-ids
NO_ENTITY = False  # --no-entity


def event_id(i):
    if RANDOM_IDS:  # as most producers send them (UUIDs, evt_ + random): idem keys land anywhere
        return hashlib.sha1(b"%d" % i).hexdigest()[:24]
    return "g-%d" % i  # one batch's ids sort next to each other: idem keys are near-appends


def event(i):
    e = i % ENTITIES
    if CYCLIC_TIMES:  # the earlier runs: 3,600 timestamps of one hour, over and over
        ts = "2024-05-01T12:%02d:%02dZ" % ((i // 60) % 60, i % 60)
    else:  # as producers send them: increasing with the log (ten events a second)
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + i // 10))
    if NO_ENTITY:  # no entity, no status: no timeline transition and no by-entity index key
        return ('{"id":"%s","type":"%s","timestamp":"%s","tenant":"t1","data":{"amount":%d,'
                '"currency":"EUR","customer":{"name":"Ada Lovelace","country":"GB"},"note":"%s",'
                '"order":"ord-%d"}}' % (event_id(i), TYPES[i % len(TYPES)], ts, i % 5000, NOTE, e))
    return ('{"id":"%s","type":"%s","timestamp":"%s","tenant":"t1",'
            '"entity":{"kind":"order","id":"ord-%d"},"status":{"to":"%s"},'
            '"data":{"amount":%d,"currency":"EUR","customer":{"name":"Ada Lovelace",'
            '"country":"GB"},"note":"%s"}}' % (event_id(i), TYPES[i % len(TYPES)], ts, e,
                                                STATUSES[(i // ENTITIES) % len(STATUSES)],
                                                i % 5000, NOTE))


class client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.c = http.client.HTTPConnection(host, port, timeout=120)
        self.h = {"Authorization": "Bearer " + KEY}

    def call(self, method, path, body=None, headers=None):
        h = dict(self.h)
        h.update(headers or {})
        for attempt in (0, 1):  # the server closes a keep-alive connection idle past 60 s
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionError):
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body, ctype):
        return self.call("POST", path, body, {"Content-Type": ctype})[0]


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def proc_cpu(pid):
    """(user, system) CPU seconds of the process so far."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(parts[11]) / tck, int(parts[12]) / tck


def thread_stats(pid):
    """{tid: (comm, utime s, stime s, minflt, majflt, voluntary cs, involuntary cs)} of every
    thread of the process (/proc/PID/task/TID/stat and status)."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, _, rest = f.read().rpartition(")")
            p = rest.split()
            cs = {}
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                        cs[k] = int(v)
        except FileNotFoundError:  # the thread ended between listdir and open
            continue
        out[int(tid)] = (head.split("(", 1)[1], int(p[11]) / tck, int(p[12]) / tck, int(p[7]),
                         int(p[9]), cs.get("voluntary_ctxt_switches", 0),
                         cs.get("nonvoluntary_ctxt_switches", 0))
    return out


# Frames that name a thread's role in a gdb backtrace, first match wins (--threads).
ROLES = [("log_writer::complete", "writer-completer"), ("log_writer::run", "writer"),
         ("projection_runner::", "runner"), ("head_publisher::", "head-publisher"),
         ("replay_manager::", "replay-manager"), ("dispatcher", "dispatcher"),
         ("http_server::start", "http-io"), ("thread_pool", "pool"), ("cmd_serve", "main")]


def parse_roles(gdb_text):
    """{tid: role} from the text of gdb's `thread apply all bt` (ROLES; "?" when none matches)."""
    roles, tid, frames = {}, None, []

    def close():
        if tid is not None:
            text = "\n".join(frames)
            roles[tid] = next((r for key, r in ROLES if key in text), "?")

    for line in gdb_text.splitlines():
        if line.startswith("Thread ") and "(LWP " in line:
            close()
            tid, frames = int(line.split("(LWP ", 1)[1].split(")", 1)[0]), []
        elif line.startswith("#"):
            frames.append(line.split(" at /", 1)[0])  # not the source path (a directory may match)
    close()
    return roles


def thread_roles(pid):
    """{tid: role} from one `gdb -batch` backtrace of every thread (the server is paused for it)."""
    try:
        r = subprocess.run(["gdb", "-batch", "-p", str(pid), "-ex", "thread apply all bt"],
                           capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_roles(r.stdout)


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for n in files:
            try:
                total += os.stat(os.path.join(root, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def wait_listening(path, what):
    for _ in range(600):
        with open(path) as f:
            for line in f.read().splitlines():
                if line.startswith("listening on "):
                    return line[len("listening on "):].strip()
        time.sleep(0.1)
    sys.exit(what + " did not start")


COLUMNS = ["events", "ingest_rate", "cpu_us_per_event", "sys_us_per_event", "type_p50_ms", "type_p99_ms",
           "entity_p50_ms", "entity_p99_ms", "timeline_p50_ms", "timeline_p99_ms", "rss_mib",
           "peak_rss_mib", "disk_per_event", "pending_items", "load1"]


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(root, "build", "tools", "hooklog"))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--step", type=int, default=250_000)
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--out", default="/tmp/hooklog-growth")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--endpoints", choices=("queued", "none", "deliver"), default="queued")
    ap.add_argument("--perf-record", action="store_true")
    ap.add_argument("--perf-stat", default="", metavar="EVENTS")
    ap.add_argument("--no-rebuild", action="store_true")
    ap.add_argument("--cyclic-times", action="store_true")
    ap.add_argument("--random-ids", action="store_true")
    ap.add_argument("--threads", action="store_true")
    ap.add_argument("--no-entity", action="store_true")
    a = ap.parse_args()
    global CYCLIC_TIMES, RANDOM_IDS, NO_ENTITY
    CYCLIC_TIMES, RANDOM_IDS, NO_ENTITY = a.cyclic_times, a.random_ids, a.no_entity
    data = os.path.join(a.out, "data")
    rows, base = [], 0
    if a.resume and a.endpoints == "deliver":
        sys.exit("--resume with --endpoints deliver: the kept endpoints name the first run's "
                 "receiver port")
    if a.resume:
        with open(os.path.join(a.out, "growth.json")) as f:
            rows = json.load(f)["steps"]
        base = rows[-1]["events"] if rows else 0
        if not os.path.isdir(data):
            sys.exit("--resume: no kept data directory in " + a.out)
    else:
        shutil.rmtree(a.out, ignore_errors=True)
        os.makedirs(a.out)
    rcv = None
    args = [a.bin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--admin-key", KEY,
            "--sources", os.path.join(root, "data", "sources")]
    target = "https://hooks.example.com/in"
    if a.endpoints == "deliver":
        rcv_out = os.path.join(a.out, "receiver.out")
        rcv = subprocess.Popen([os.path.join(os.path.dirname(a.bin), "hooklog-receiver"),
                                "--listen", "127.0.0.1:0", "--threads", "1"],
                               stdout=open(rcv_out, "w"), stderr=subprocess.DEVNULL)
        target = "http://%s/in" % wait_listening(rcv_out, "hooklog-receiver")
        args.append("--allow-private-targets")
    else:
        args.append("--no-deliver")
    so_path = os.path.join(a.out, "serve.out")
    srv = subprocess.Popen(args, stdout=open(so_path, "w"),
                           stderr=open(os.path.join(a.out, "serve.err"), "a"))
    done = base
    try:
        addr = wait_listening(so_path, "hooklog serve (see serve.err)")
        host, port = addr.rsplit(":", 1)
        port = int(port)
        q = client(host, port)

        def metric(m, name):
            for line in m.decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        def caught_up():
            for _ in range(3000):
                s, m = q.get("/metrics")
                if b"\nhooklog_projection_lag_records 0\n" in m:
                    return
                time.sleep(0.1)

        # Four endpoints of tenant t1, as a hub that delivers has them.
        if a.endpoints != "none" and not a.resume:
            for spec in ({"events": ["*"]}, {"events": ["order.updated"]}, {"events": ["job.*"]},
                         {"events": ["*"], "filter": {"all": [{"path": "/data/currency",
                                                               "op": "eq", "value": "EUR"}]}}):
                spec.update({"url": target, "tenant": "t1"})
                st = q.post("/v1/endpoints", json.dumps(spec), "application/json")
                if st != 201:
                    sys.exit("POST /v1/endpoints answered %d" % st)

        roles = thread_roles(srv.pid) if a.threads else {}
        rng = random.Random(1 + base)
        print("# growth.py --endpoints %s%s%s, %s" % (a.endpoints,
                                                     " --cyclic-times" if a.cyclic_times else "",
                                                     " --random-ids" if a.random_ids else "",
                                                   time.strftime("%F %H:%M UTC", time.gmtime())))
        print("| events | ingest events/s (last step) | server CPU µs/event (last step) | "
              "by type p50/p99 ms | by entity p50/p99 ms | timeline p50/p99 ms | RSS MiB | "
              "peak RSS MiB | disk bytes/event | pending items | load 1 min |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        while done < base + a.events:
            n = min(a.step, base + a.events - done)
            batches = [(done + b, min(500, n - b)) for b in range(0, n, 500)]
            batches.reverse()  # pop() from the end: the log is filled in id order
            lock = threading.Lock()
            errors = []

            def worker():
                c = client(host, port)
                while True:
                    with lock:
                        if not batches:
                            return
                        first, count = batches.pop()
                    body = "\n".join(event(i) for i in range(first, first + count)).encode()
                    st = c.post("/v1/sources/standard/events:batch", body, "application/x-ndjson")
                    if st != 200:
                        errors.append(st)

            perf = None
            if a.perf_record or a.perf_stat:
                cmd = (["record", "-g", "-q", "-o", os.path.join(a.out, "perf-%d.data" % (done + n))]
                       if a.perf_record else
                       ["stat"] + (["--per-thread"] if a.threads else []) + ["-e", a.perf_stat, "-o",
                        os.path.join(a.out, "perf-stat-%d.txt" % (done + n))])
                perf = subprocess.Popen(["perf"] + cmd + ["-p", str(srv.pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            cpu0 = proc_cpu(srv.pid)
            th0 = thread_stats(srv.pid) if a.threads else {}
            t0 = time.monotonic()
            ts = [threading.Thread(target=worker) for _ in range(a.conns)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            caught_up()
            wall = time.monotonic() - t0
            cpu1 = proc_cpu(srv.pid)
            if a.threads:
                th1 = thread_stats(srv.pid)
                new = not os.path.exists(os.path.join(a.out, "threads.tsv"))
                with open(os.path.join(a.out, "threads.tsv"), "a") as f:
                    if new:
                        f.write("events\ttid\trole\tcomm\tuser_us_per_event\tsys_us_per_event\t"
                                "minflt_per_event\tmajflt_per_event\tvcsw_per_event\t"
                                "nvcsw_per_event\n")
                    for tid, v1 in sorted(th1.items()):
                        v0 = th0.get(tid, (v1[0], 0, 0, 0, 0, 0, 0))
                        d = [b - a0 for a0, b in zip(v0[1:], v1[1:])]
                        if not any(d):
                            continue
                        f.write("%d\t%d\t%s\t%s\t%.3f\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f\n"
                                % (done + n, tid, roles.get(tid, "?"), v1[0], d[0] * 1e6 / n,
                                   d[1] * 1e6 / n, d[2] / n, d[3] / n, d[4] / n, d[5] / n))
            cpu, cpu_sys = sum(cpu1) - sum(cpu0), cpu1[1] - cpu0[1]
            if perf:
                perf.send_signal(2)
                perf.wait()
            if errors:
                sys.exit("ingest answered %s" % sorted(set(errors)))
            done += n
            lat = {"type": [], "entity": [], "timeline": []}
            for k in range(200):
                e = "ord-%d" % rng.randrange(min(done, ENTITIES))
                for what, path in (("type", "/v1/events?type=%s&limit=50" % TYPES[k % len(TYPES)]),
                                   ("entity", "/v1/events?entity_kind=order&entity_id=%s&limit=50" % e),
                                   ("timeline", "/v1/entities/order/%s/timeline" % e)):
                    if NO_ENTITY and what != "type":  # no entities: nothing to read (0 in the table)
                        continue
                    t = time.perf_counter()
                    st, body = q.get(path)
                    lat[what].append((time.perf_counter() - t) * 1000)
                    if st != 200:
                        sys.exit("%s answered %d: %s" % (path, st, body[:200]))
            ps = proc_status(srv.pid)
            disk = du(data)
            _, m = q.get("/metrics")
            row = {"events": done, "ingest_rate": n / wall, "cpu_us_per_event": cpu * 1e6 / n,
                   "sys_us_per_event": cpu_sys * 1e6 / n,
                   "rss_mib": ps.get("VmRSS", 0) / 2**20, "peak_rss_mib": ps.get("VmHWM", 0) / 2**20,
                   "disk_per_event": disk / done,
                   "pending_items": metric(m, "hooklog_delivery_queue_items"),
                   "load1": os.getloadavg()[0]}
            for w, v in lat.items():
                row[w + "_p50_ms"] = pct(v, 50)
                row[w + "_p99_ms"] = pct(v, 99)
            rows.append(row)
            print("| %d | %.0f | %.1f (%.1f) | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.0f | %.0f | %.0f "
                  "| %.0f | %.2f |"
                  % (done, row["ingest_rate"], row["cpu_us_per_event"], row["sys_us_per_event"],
                     row["type_p50_ms"],
                     row["type_p99_ms"], row["entity_p50_ms"], row["entity_p99_ms"],
                     row["timeline_p50_ms"], row["timeline_p99_ms"], row["rss_mib"],
                     row["peak_rss_mib"], row["disk_per_event"], row["pending_items"],
                     row["load1"]), flush=True)
            with open(os.path.join(a.out, "growth.tsv"), "w") as f:
                f.write("\t".join(COLUMNS) + "\n")
                for r in rows:
                    f.write("\t".join("%d" % r[c] if c in ("events", "pending_items") else "%.6g" % r.get(c, 0)
                                      for c in COLUMNS) + "\n")
            with open(os.path.join(a.out, "growth.json"), "w") as f:
                json.dump({"endpoints": a.endpoints, "cyclic_times": a.cyclic_times, "random_ids": a.random_ids, "steps": rows}, f, indent=1)
    finally:
        srv.terminate()
        srv.wait(timeout=120)
        if rcv:
            rcv.terminate()
            rcv.wait(timeout=60)
    if not a.no_rebuild:
        # The rebuild runs under a fork of this script that execs it, so its own peak RSS is
        # read from wait4's rusage (RUSAGE_CHILDREN would report the server's, the largest child).
        t0 = time.monotonic()
        rb = subprocess.Popen([a.bin, "rebuild", "--data", data], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        _, status, ru = os.wait4(rb.pid, 0)
        wall = time.monotonic() - t0
        rb.returncode = os.waitstatus_to_exitcode(status)
        if rb.returncode != 0:
            sys.exit("hooklog rebuild failed: " + rb.stderr.read())
        cpu = ru.ru_utime + ru.ru_stime
        records = done  # plus a handful of management records
        print("\nrebuild of every projection over %d events: %.1f s wall, %.1f s CPU: %.0f events/s, "
              "%.0f events/CPU-s; peak RSS of the rebuild %.0f MiB (the log's pages it read count)"
              % (records, wall, cpu, records / wall, records / cpu, ru.ru_maxrss / 1024))
        with open(os.path.join(a.out, "growth.json"), "w") as f:
            json.dump({"endpoints": a.endpoints, "cyclic_times": a.cyclic_times, "random_ids": a.random_ids, "steps": rows,
                       "rebuild": {"events": records, "wall_s": wall, "cpu_s": cpu,
                                   "peak_rss": ru.ru_maxrss * 1024}}, f, indent=1)
    if not a.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
