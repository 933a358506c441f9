"""Output files written in one step: a temporary file in the same folder, renamed over
the old one, so a reader (or a build killed midway) finds the old complete file or the
new one, never half of one.

No WeasyPrint here: the manifest, the cache and merged shards are written by builds
that never lay anything out.

Input files are read through read_input: only regular files inside their root (see
check_input).
"""

import errno
import os
import shutil
import stat
import tempfile
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
def replacing(path: Path):
    """A temporary path to write; renamed over `path` if the block succeeds, removed if not."""
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


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data in one step: a failed build never leaves half a file."""
    with replacing(path) as temporary:
        temporary.write_bytes(data)

