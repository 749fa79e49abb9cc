#!/usr/bin/env python3
"""Checks of tools/bench/growth.py's helpers that need no server: the --no-entity events, the
thread roles read from a gdb backtrace and the per-thread /proc figures (--threads).
Run: python3 tools/bench/growth_test.py (ctest: "tools: growth.py helpers")."""
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import growth  # noqa: E402

GDB = """Thread 4 (Thread 0x7e3edfbff6c0 (LWP 30271) "hooklog"):
#11 hooklog::event_log::wait_for_commit_after (this=0x1, seq=0, timeout=...) at /work/main/engine/event_log.cpp:550
#12 0x0000560c0d056c42 in hooklog::projections::projection_runner::run (this=0x2) at /work/main/projections/runner.cpp:486
Thread 3 (Thread 0x7f3ee07fc6c0 (LWP 30268) "hooklog"):
#6  hooklog::log_writer::run (this=<optimized out>) at /work/main/engine/log_writer.cpp:136
Thread 2 (Thread 0x7f3ee0ffd6c0 (LWP 30267) "hooklog"):
#6  hooklog::log_writer::complete (this=0x3) at /work/main/engine/log_writer.cpp:96
Thread 9 (Thread 0x7e3edd3fa6c0 (LWP 30277) "hooklog"):
#6  std::__invoke_impl<void, hooklog::http::http_server::start()::<lambda()> > (__f=...) at /usr/include/c++/12/bits/invoke.h:61
Thread 7 (Thread 0x7e3ede3fc6c0 (LWP 30275) "hooklog"):
#10 boost::asio::detail::posix_thread::func<boost::asio::thread_pool::thread_function>::run (this=<optimized out>) at /usr/include/boost/asio/detail/posix_thread.hpp:86
Thread 5 (Thread 0x7e3edf3fe6c0 (LWP 30273) "hooklog"):
#6  hooklog::http::replay_manager::run (this=0x4) at /work/main/http/delivery/replay_manager.cpp:513
Thread 1 (Thread 0x7f3ee5b1df80 (LWP 30260) "hooklog"):
#0  0x00007f3ee5c2a0ba in __futex_abstimed_wait_common64 (private=0) at ./nptl/futex-internal.c:57
#2  0x0000560c0cd26b91 in hooklog::cli::cmd_serve (argc=<optimized out>, argv=0x7ffd) at /work/main/tools/cli_serve.cpp:332
Thread 6 (Thread 0x7e3edebfd6c0 (LWP 30274) "hooklog"):
#0  0x00007f3ee5c2a0ba in syscall () at ../sysdeps/unix/sysv/linux/x86_64/syscall.S:38
#1  0x0000560c0d0a1b2c in hooklog::wait_a_while (ms=5) at /work/wt-dispatcher2/engine/time_util.cpp:40
"""


class growth_helpers(unittest.TestCase):
    def test_roles_from_a_backtrace(self):
        # Source paths name no role: a worktree called wt-dispatcher2 makes no thread a dispatcher.
        self.assertEqual(growth.parse_roles(GDB), {
            30271: "runner", 30268: "writer", 30267: "writer-completer", 30277: "http-io",
            30275: "pool", 30273: "replay-manager", 30260: "main", 30274: "?"})

    def test_no_entity_events(self):
        growth.NO_ENTITY = False
        with_entity = json.loads(growth.event(100007))
        growth.NO_ENTITY = True
        try:
            bare = json.loads(growth.event(100007))
        finally:
            growth.NO_ENTITY = False
        self.assertEqual(with_entity["entity"], {"kind": "order", "id": "ord-7"})
        self.assertEqual(with_entity["status"], {"to": "paid"})
        self.assertNotIn("entity", bare)
        self.assertNotIn("status", bare)
        for k in ("id", "type", "timestamp", "tenant"):
            self.assertEqual(bare[k], with_entity[k])
        self.assertEqual(bare["data"]["order"], "ord-7")
        self.assertEqual(bare["data"]["note"], with_entity["data"]["note"])

    def test_thread_stats_of_this_process(self):
        done = threading.Event()
        t = threading.Thread(target=done.wait)
        t.start()
        try:
            st = growth.thread_stats(os.getpid())
            self.assertIn(os.getpid(), st)        # the main thread's tid is the pid
            self.assertIn(t.native_id, st)
            self.assertEqual(len(st), threading.active_count())
            for comm, user, system, minflt, majflt, vcs, nvcs in st.values():
                self.assertTrue(comm)
                self.assertGreaterEqual(min(user, system, minflt, majflt, vcs, nvcs), 0)
            self.assertGreater(st[os.getpid()][3], 0)  # this thread has taken page faults
        finally:
            done.set()
            t.join()


if __name__ == "__main__":
    unittest.main()
