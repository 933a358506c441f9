"""Output files written in one step: a temporary file in the same folder, renamed over
the old one, so a reader (or a build killed midway) finds the old complete file or the
new one, never half of one.

No WeasyPrint here: the manifest, the cache and merged shards are written by builds
that never lay anything out.

Only the main process writes output (workers.save): a worker hands back what it made,
so Ctrl-C can stop the workers at any moment. A write and the record of it are not
split by Ctrl-C either (uninterrupted), so the manifest describes the PDFs on disk.

Input files are read through read_input: only regular files inside their root (see
check_input).
"""

import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import Problem


class UnsafeInput(OSError):
    """An input the builder will not open: a link out of its folder, a FIFO, a device."""

    def __init__(self, reason: str, hint: str):
        super().__init__(errno.EPERM, reason)
        self.reason, self.hint = reason, hint


def check_input(path: Path, root: Path) -> Path:
    """The resolved path of `path` if it is a regular file inside `root` (both resolved,
    links followed), else UnsafeInput. Checked with stat before anything is opened: a
    FIFO blocks its reader forever and /dev/zero never ends."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(root).resolve()):
        raise UnsafeInput(f"leads to {resolved}, outside {Path(root).name}/",
                          f"put the file itself inside {Path(root).name}/ instead of a link")
    mode = os.stat(resolved).st_mode  # FileNotFoundError: the caller says it is missing
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise UnsafeInput("is not a regular file (a FIFO, device or socket)", "replace it with an ordinary file")
    return resolved


def read_input(path: Path, root: Path) -> bytes:
    """The bytes of an input file that check_input allows. Opened without blocking and
    checked again once open, so a file swapped for a FIFO in between is refused too."""
    resolved = check_input(path, root)
    descriptor = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise UnsafeInput("is not a regular file (a FIFO, device or socket)", "replace it with an ordinary file")
        return stream.read()


def is_regular_input(path: Path, root: Path) -> bool:
    """Whether check_input allows path (for listings that skip what they cannot read)."""
    try:
        check_input(path, root)
    except OSError:
        return False
    return True


def unreadable(path: Path, error: OSError) -> Problem:
    """The problem to report for an input that could not be read."""
    if isinstance(error, UnsafeInput):
        return Problem(path, error.reason, error.hint)
    if isinstance(error, FileNotFoundError):
        return Problem(path, "file is missing")
    return Problem(path, f"cannot read the file: {error.strerror}", "check that it is a readable file")


@contextmanager
def uninterrupted():
    """Ctrl-C waits until the block is done, then interrupts: a file, a PDF and the
    record of it, or the manifest and the cache, are written whole. A SIGINT handler,
    not a signal mask: the worker pool's threads would take a masked signal instead.
    Signals reach only the main thread, so elsewhere there is nothing to wait for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:  # now handled as it would have been: KeyboardInterrupt, or an outer block's wait
            handle_ctrl_c(previous)


def handle_ctrl_c(handler) -> None:
    """Run the SIGINT handler that was in place, here and now. Not raise_signal: that
    sends SIGINT to this thread alone, and a thread with SIGINT blocked (in a process
    whose other threads took the Ctrl-C) would hold it pending for good: a lost Ctrl-C."""
    if callable(handler):
        handler(signal.SIGINT, None)
    elif handler == signal.SIG_DFL:  # ended by Ctrl-C, as without a handler
        signal.raise_signal(signal.SIGINT)


@contextmanager
def replacing(path: Path):
    """A temporary path to write; renamed over `path` if the block succeeds, removed if not.
    Ctrl-C waits until then (a few milliseconds): it never leaves a temporary file."""
    with uninterrupted():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        try:
            yield Path(temporary)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; output is for everyone to read
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class WriteError(OSError):
    """An output file that could not be written (a full disk, a folder made read-only):
    says which file, and what to do."""

    def __init__(self, path: Path, error: OSError):
        super().__init__(error.errno, error.strerror or str(error))
        self.path = path

    def __str__(self) -> str:
        hint = WRITE_HINTS.get(self.errno, "check that the output folder can be written")
        return f"cannot write {self.path}: {self.strerror} ({hint})"


WRITE_HINTS = {errno.ENOSPC: "the disk is full: free some space, then build again",
               errno.EDQUOT: "the disk quota is used up: free some space, then build again",
               errno.EROFS: "the disk is read-only: choose another folder with --out"}


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data in one step: a failed build never leaves half a file,
    nor a temporary one. A failure is a WriteError naming path (not the temporary)."""
    try:
        with replacing(path) as temporary:
            temporary.write_bytes(data)
    except OSError as error:
        raise WriteError(path, error) from error

