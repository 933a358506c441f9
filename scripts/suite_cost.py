"""Measure what the test suite costs: wall time, CPU time and bytes written to disk.

    .venv/bin/python scripts/suite_cost.py [pytest args ...]

Runs `python -m pytest -q -p no:cacheprovider [args]` as a foreground child (same
process group and terminal, so tests that send SIGINT behave as in a plain run) and
prints one line per figure.

How the whole process tree is counted: this script makes itself a child subreaper
(prctl PR_SET_CHILD_SUBREAPER), so any grandchild orphaned by its parent (a daemon,
a killed build's workers) is re-parented here instead of to init; after pytest
exits, the script reaps every remaining descendant. When the kernel reaps a child it
adds the child's CPU time to the parent's RUSAGE_CHILDREN and its I/O counters to the
parent's /proc/<pid>/io, and each child already carries the totals of the children it
reaped. So, with every descendant waited for by someone in the tree:

- CPU  = getrusage(RUSAGE_CHILDREN) user + system, read after all are reaped;
- disk = /proc/self/io write_bytes after minus before (this script writes nothing
  itself but its own output). write_bytes is charged when a page is dirtied, so a
  file deleted before it reaches the disk is still counted; cancelled_write_bytes
  (such deletions) is printed beside it but not subtracted.
"""
import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"suite_cost: prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


def read_io() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def reap_orphans() -> int:
    """Wait for every descendant left behind by pytest; returns how many."""
    reaped = 0
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return reaped
        reaped += 1


def main(args: list[str]) -> int:
    become_subreaper()
    io_before = read_io()
    start = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args])
    wall = time.monotonic() - start
    orphans = reap_orphans()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    io_after = read_io()
    written = io_after["write_bytes"] - io_before["write_bytes"]
    cancelled = io_after["cancelled_write_bytes"] - io_before["cancelled_write_bytes"]
    print(f"suite_cost: pytest exit code {code}")
    print(f"suite_cost: wall {wall:.1f} s")
    print(f"suite_cost: cpu {usage.ru_utime + usage.ru_stime:.1f} s "
          f"(user {usage.ru_utime:.1f} s, system {usage.ru_stime:.1f} s)")
    print(f"suite_cost: disk written {written / 1e6:.0f} MB "
          f"(of which cancelled by deletion before writeback {cancelled / 1e6:.0f} MB)")
    print(f"suite_cost: orphaned descendants reaped after pytest: {orphans}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
