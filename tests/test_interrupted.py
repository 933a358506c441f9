"""A build killed at any moment leaves every PDF complete (the old one or the new
one) and a valid manifest: everything is written to a temporary file and renamed."""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import GERMAN, run_main, write_project
from handoutkit import PROJECT_ROOT, workers
from handoutkit.files import uninterrupted
from handoutkit.pipeline import Options, build
from handoutkit.workers import ctrl_c_blocked

LONG = "Ask your care team about each step of the treatment before you start. " * 40  # no word of 3+ syllables: under the SMOG limit


def test_sigkill_mid_build_leaves_complete_files(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md":
                                          f"## About {{#about}}\n{LONG}\n\n## When {{#when-to-call}}\n@include warning-signs\n"})
    out = tmp_path / "out"
    command = [sys.executable, str(PROJECT_ROOT / "build.py"), "--root", str(root), "--out", str(out), "--jobs", "1"]
    assert run_main(*command[2:]).returncode == 0  # the first build needs no process of its own
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")}
    # Rebuild everything and kill the build as soon as the first PDF is replaced.
    build = subprocess.Popen(command + ["--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(p.stat().st_mtime_ns == t for p, t in before.items()):
        time.sleep(0.005)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    changed = [p for p, t in before.items() if p.stat().st_mtime_ns != t]
    assert changed and len(changed) < len(before), "the kill did not land mid-build"
    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) >= 1  # complete: pypdf reads it to the end
    json.loads((out / "manifest.json").read_text())


# --- Ctrl-C ---------------------------------------------------------------------------

GERMAN_BRIEF = {**GERMAN, "handouts/demo/de/brief.md": "Einleitung.\n\n## Darum geht es {#about}\nSie lesen das. "
                "Es ist kurz.\n\n## Wann anrufen {#when-to-call}\n@include warning-signs\n"}


def pdfs(out):
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.pdf")}


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie, ended but not yet reaped by
    an init that may not reap at all in a container, does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError):  # ended meanwhile
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


def as_from_a_terminal() -> None:
    """The build starts as from a shell: SIGINT neither ignored nor blocked. A test process
    can hand on either: a command a non-interactive shell starts in the background
    (`pytest ... &`, as a run longer than a tool's foreground limit is started) inherits
    SIGINT ignored, so do pytest, its workers and every build they start. (That is why both
    Ctrl-C tests of one full run in four failed: the other three ran in the foreground.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """Ctrl-C raises KeyboardInterrupt in this process, whatever the test run inherited
    (see as_from_a_terminal); afterwards SIGINT is as it was, with nothing left pending."""
    handler, mask = signal.signal(signal.SIGINT, signal.default_int_handler), signal.pthread_sigmask(signal.SIG_BLOCK, ())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    yield
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # drops a Ctrl-C that a failed test left pending
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    signal.signal(signal.SIGINT, handler)


def test_ctrl_c_stops_the_workers_and_the_manifest_describes_the_pdfs_on_disk(tmp_path):
    """Ten targets on two workers; Ctrl-C, as a terminal sends it (to the whole process
    group: the build, its forkserver and its workers), once the first PDF is written."""
    root, out = write_project(tmp_path / "p", GERMAN_BRIEF), tmp_path / "out"
    command = [sys.executable, str(PROJECT_ROOT / "build.py"), "--root", str(root), "--out", str(out),
               "--jobs", "2", "--large-print"]
    build = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=as_from_a_terminal)
    assert wait_for(lambda: pdfs(out), 120), "no PDF was written"
    os.killpg(build.pid, signal.SIGINT)
    interrupted = time.monotonic()
    _, stderr = build.communicate(timeout=30)
    assert time.monotonic() - interrupted < 5
    assert build.returncode == 130
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1 and stderr.startswith("interrupted: "), stderr
    assert wait_for(lambda: not group_alive(build.pid), 5), "a worker or the forkserver outlived the build"
    on_disk = pdfs(out)
    assert 0 < len(on_disk) < 10, "the interrupt did not land mid-build"
    assert f" {len(on_disk)} of 10 targets built" in f" {stderr}"
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["path"]: e["sha256"] for e in manifest["targets"]} == {
        path: hashlib.sha256((out / path).read_bytes()).hexdigest() for path in on_disk}
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    time.sleep(2)
    assert pdfs(out) == on_disk  # no worker wrote anything after the interrupt


# --- a full disk ----------------------------------------------------------------------

BRIEF_A4 = "demo/en/demo-brief-a4.pdf"


def fill_disk_on(monkeypatch, name: str) -> None:
    """Writing the temporary file of `name` fails halfway, as on a full disk."""
    write_bytes = Path.write_bytes

    def write(path, data):
        if path.name.startswith(f".{name}."):
            write_bytes(path, data[:len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_bytes(path, data)
    monkeypatch.setattr(Path, "write_bytes", write)


def change_every_text(root) -> None:
    for path in (root / "handouts/demo/en").glob("*.md"):
        path.write_text(path.read_text().replace("## ", "Read this.\n\n## ", 1))


@pytest.fixture
def built_once(tiny, tmp_path):
    out = tmp_path / "out"
    assert run_main("--root", tiny, "--out", out, "--jobs", "1").returncode == 0
    change_every_text(tiny)
    return tiny, out, (out / BRIEF_A4).read_bytes(), (out / "manifest.json").read_bytes()


def no_temporary_files(out) -> bool:
    return not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_pdf_that_cannot_be_written_fails_alone_naming_the_file(built_once, monkeypatch):
    root, out, old_pdf, _ = built_once
    fill_disk_on(monkeypatch, "demo-brief-a4.pdf")
    completed = run_main("--root", root, "--out", out, "--jobs", "1")
    assert completed.returncode == 1
    assert completed.stderr == (f"FAIL  {BRIEF_A4}: cannot write {out / BRIEF_A4}: No space left on device "
                                "(the disk is full: free some space, then build again)\n")
    assert "ok    demo/en/demo-brief-letter.pdf" in completed.stdout  # the others are built and reported
    assert "ok    demo/en/demo-card-card.pdf" in completed.stdout
    assert no_temporary_files(out)
    assert (out / BRIEF_A4).read_bytes() == old_pdf
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["failed"]] == [BRIEF_A4]
    for entry in manifest["targets"]:  # the old brief's entry, the new card's and letter's
        assert entry["sha256"] == hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["manifest.json", "index.html"])
def test_a_manifest_or_catalog_that_cannot_be_written_is_one_line_naming_it(built_once, monkeypatch, name):
    root, out, _, old_manifest = built_once
    fill_disk_on(monkeypatch, name)
    completed = run_main("--root", root, "--out", out, "--jobs", "1", "-q")
    assert completed.returncode == 1
    assert completed.stderr == (f"error: cannot write {out / name}: No space left on device "
                                "(the disk is full: free some space, then build again)\n")
    assert no_temporary_files(out)
    if name == "manifest.json":
        assert (out / name).read_bytes() == old_manifest
    json.loads((out / "manifest.json").read_text())


def test_ctrl_c_in_this_process_records_what_was_built_and_the_next_build_finishes_the_rest(tiny, ctrl_c_as_in_a_terminal):
    """--jobs 1: Ctrl-C while the first PDF is written and reported waits until that is
    done, then stops the build. The catalog is left to the next build, which is not a
    no-op: it builds the rest and writes the catalog."""
    out = tiny / "out"

    def press_ctrl_c(result):
        os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        build(Options(tiny, out, jobs=1), on_result=press_ctrl_c)
    on_disk = pdfs(out)
    assert len(on_disk) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["path"]: e["sha256"] for e in manifest["targets"]} == {
        path: hashlib.sha256((out / path).read_bytes()).hexdigest() for path in on_disk}
    assert not (out / "index.html").exists() and no_temporary_files(out)
    results = build(Options(tiny, out, jobs=1))
    assert sorted(r.status for r in results) == ["built", "built", "up-to-date"]
    assert (out / "index.html").is_file()


# --- Ctrl-C inside the windows where this process holds it back --------------------------

def test_ctrl_c_as_the_forkserver_block_begins_leaves_ctrl_c_working(ctrl_c_as_in_a_terminal, monkeypatch):
    """pthread_sigmask sets the mask, then runs the handler of a Ctrl-C that arrived just
    before: KeyboardInterrupt comes out of the call that blocked SIGINT. The block must
    not outlive it, or every later Ctrl-C of the build is lost."""
    sigmask = signal.pthread_sigmask

    def ctrl_c_pending(how, mask):
        previous = sigmask(how, mask)
        if how == signal.SIG_BLOCK and signal.SIGINT in mask:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # the handler, run as the call runs it
        return previous
    monkeypatch.setattr(signal, "pthread_sigmask", ctrl_c_pending)
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c_blocked():
            pytest.fail("the block ran after Ctrl-C")
    monkeypatch.undo()
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, ())


def test_ctrl_c_taken_by_another_thread_while_this_one_blocks_it_still_interrupts(ctrl_c_as_in_a_terminal):
    """A process-wide SIGINT goes to any thread that does not block it; the handler runs
    in the main thread. The Ctrl-C an uninterrupted block held back is handled when the
    block ends even if this thread has SIGINT blocked (re-sent to this thread alone, it
    stayed pending: a lost Ctrl-C)."""
    def take_ctrl_c():  # as a pool's thread does when the Ctrl-C lands on it
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    with pytest.raises(KeyboardInterrupt):
        with uninterrupted():
            other = threading.Thread(target=take_ctrl_c)
            other.start()
            other.join()


def test_ctrl_c_while_the_workers_start_kills_them(tiny, ctrl_c_as_in_a_terminal, monkeypatch):
    """Ctrl-C while submit starts the workers waits until each is known (uninterrupted),
    then stops the build, and the workers with it: none goes on building."""
    started = []

    class Pool(workers.ProcessPoolExecutor):
        def submit(self, *args, **named):
            if not started:
                os.kill(os.getpid(), signal.SIGINT)  # held back by the block around submit
            future = super().submit(*args, **named)
            started.extend(p for p in self._processes.values() if p not in started)
            return future
    monkeypatch.setattr(workers, "ProcessPoolExecutor", Pool)
    try:
        with pytest.raises(KeyboardInterrupt):
            build(Options(tiny, tiny / "out", jobs=2))
        assert started and not [p for p in started if p.is_alive()], "a worker outlived the Ctrl-C"
    finally:
        for process in started:
            process.kill()


def test_ctrl_c_after_the_run_has_ended_changes_nothing():
    """Once the run has said how it ended, a Ctrl-C during the interpreter's teardown (up to
    a second) neither prints a traceback nor changes the exit code, nor kills the process
    without its line. Sent from an exit handler: inside the teardown, every time."""
    code = ("import atexit, os, runpy, signal, sys; "
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT)); "
            f"sys.argv = ['build.py', '--version']; runpy.run_path({str(PROJECT_ROOT / 'build.py')!r}, run_name='__main__')")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               preexec_fn=as_from_a_terminal)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout.startswith("handoutkit ")


HALF_A_RESULT = """
import gc, multiprocessing.queues, struct, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from handoutkit.workers import kill_workers

def send_half_a_result(sent):
    queue = next(o for o in gc.get_objects() if isinstance(o, multiprocessing.queues.SimpleQueue))
    queue._writer._send(struct.pack("!i", 100000) + b"x" * 10)  # a PDF's 100 kB announced, 10 bytes sent
    Path(sent).touch()
    time.sleep(120)

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=get_context("fork"))
    pool.submit(send_half_a_result, sys.argv[1])
    while not Path(sys.argv[1]).exists():
        time.sleep(0.01)
    kill_workers(pool)  # Ctrl-C: the worker dies mid-message
    pool.shutdown(wait=True, cancel_futures=True)
    print("shut down")
"""


def test_a_worker_killed_while_it_sends_a_result_does_not_hang_the_build(tmp_path):
    """Ctrl-C kills the workers; one killed halfway through sending a PDF back left the
    pool's thread waiting for the rest of the message, and the build hung after Ctrl-C
    (seen once in 50 builds of the hammer, scripts/ctrl_c_hammer.py)."""
    script = tmp_path / "half_a_result.py"
    script.write_text(HALF_A_RESULT)
    build = subprocess.Popen([sys.executable, str(script), str(tmp_path / "sent")], stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        stdout, _ = build.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(build.pid, signal.SIGKILL)
        stdout, _ = build.communicate()
    assert stdout == "shut down\n", "the pool hung after its worker was killed"
