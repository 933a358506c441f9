"""Output files written in one step: a temporary file in the same folder, renamed over
the old one, so a reader (or a build killed midway) finds the old complete file or the
new one, never half of one.

No WeasyPrint here: the manifest, the cache and merged shards are written by builds
that never lay anything out.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


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


def copy_atomically(source: Path, destination: Path) -> None:
    """Replace destination with a copy of source, its modification time kept."""
    with replacing(destination) as temporary:
        shutil.copy2(source, temporary)
