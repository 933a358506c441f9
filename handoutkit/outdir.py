"""The output folder is the builder's own: it says so with a marker file, one build
writes it at a time, and what is read back from it is checked before it is used.

- MARKER marks a folder the builder made. A non-empty folder without it is refused
  (it is someone else's: `--out` at the wrong folder must not overwrite index.html or
  delete PNGs), except the output of a build from before the marker, recognised by its
  manifest.json, which is adopted (the marker is added) so that upgrading is painless.
- LOCK is locked (fcntl.flock) while a build writes: a second build of the same
  folder waits for the first one instead of interleaving with it.
- A manifest read back (the previous build's, a shard's) is data anyone could have
  edited: an entry whose path is not relative, normalised and inside the folder, or
  whose fields have the wrong types, is ignored with a warning.
- Nothing is written or deleted through a symbolic link inside the folder
  (check_no_links): a linked `thumbnails/` is left alone, and so is what it points to.
- WRITTEN records every file the builder wrote besides the PDFs the manifest lists
  (thumbnails, catalog pages, index.csv, font subsets, --html files). A stale file is
  deleted only if that record names it: a file someone put in the folder by hand
  (thumbnails/mine.png, index.zz.html) is never deleted, whatever its name. The record
  is read back as untrusted, as a manifest is.
- Nothing someone else put in the folder is overwritten either: before it writes, a build
  claims every name it may write (claim). A file at one of them that the record or the
  manifest does not name refuses the build, one line per file; otherwise the names are
  recorded first, so that the files a stopped build leaves are known to be the builder's.
"""

import errno
import fcntl
import json
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .files import write_atomically

MARKER = ".handoutkit-output"
LOCK = ".handoutkit-lock"
MANIFEST = "manifest.json"  # report.MANIFEST
WRITTEN = ".handoutkit-written.json"  # the files the builder wrote besides the manifest's PDFs
# What the record may name: the kinds of file it is kept for. An edited record naming a PDF,
# the manifest or anything else is not obeyed (a current PDF would be deleted as stale).
WRITTEN_SUFFIXES = (".png", ".html", ".csv", ".woff2")
MARKER_TEXT = ("This folder is written by handoutkit (build.py): the next build may replace or delete\n"
               "the files it wrote here. Keep your own files elsewhere.\n")
# The fields of a manifest entry that are read back, with their JSON types; "path" and
# "sha256" are what a merge needs, the rest what the catalog shows.
ENTRY_FIELDS = {"path": str, "sha256": str, "handout": str, "lang": str, "format": str, "paper": str,
                "title": str, "pages": int, "bytes": int}
MERGE_FIELDS = ("path", "sha256")
HEADER = ("schema_version", "generator")  # report.make_manifest: which layout, which builder
SHA256_RE = re.compile(r"[0-9a-f]{64}")


class UnsafeOutput(OSError):
    """A path in the output folder that goes through a symbolic link."""


# --- paths -----------------------------------------------------------------------------

def safe_relpath(value) -> str | None:
    """value if it is a relative, normalised POSIX path with no `..`: a path that stays
    inside the folder it is joined to (`folder / "/etc/x"` is /etc/x)."""
    if not isinstance(value, str) or not value or "\\" in value or "\0" in value:
        return None
    path = PurePosixPath(value)
    if path.is_absolute() or path.as_posix() != value or ".." in path.parts or "." in value.split("/"):
        return None
    return value


def is_pdf_path(value) -> bool:
    """A manifest lists PDFs only: an entry naming another file (notes.txt) must not make
    the builder delete or copy it."""
    return safe_relpath(value) is not None and value.endswith(".pdf")


def link_in(root: Path, path: Path) -> Path | None:
    """The first part of path below root that is a symbolic link, if any (what does not
    exist yet is made as a real folder or file)."""
    current = Path(root)
    for part in Path(path).relative_to(root).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(mode):
            return current
    return None


def check_no_links(root: Path, path: Path) -> Path:
    """path, if no part of it inside root is a symbolic link; else UnsafeOutput."""
    if link := link_in(root, path):
        raise UnsafeOutput(errno.ELOOP, f"{link} is a symbolic link: handoutkit does not write or delete "
                                        f"through links in its output folder (replace it with a folder)")
    return path


def write_output(out_dir: Path, relpath: str, data: bytes) -> None:
    """Write a file of the output folder, atomically, never through a link."""
    write_atomically(check_no_links(out_dir, out_dir / relpath), data)


# --- manifests read back -----------------------------------------------------------------

@dataclass
class Checked:
    """A manifest with only its valid entries, and a line per entry left out."""

    manifest: dict = field(default_factory=lambda: {"targets": [], "failed": []})
    problems: list[str] = field(default_factory=list)


def entry_problem(entry, required=tuple(ENTRY_FIELDS)) -> str | None:
    """What is wrong with one "targets" entry, if anything."""
    if not isinstance(entry, dict):
        return "is not an object"
    if not is_pdf_path(entry.get("path")):
        return f"path {entry.get('path')!r} is not the relative path of a PDF inside the folder"
    for name, kind in ENTRY_FIELDS.items():
        if name not in entry:
            if name in required:
                return f"({entry['path']}) has no '{name}'"
        elif type(entry[name]) is not kind:
            return f"({entry['path']}) '{name}' is not a {'number' if kind is int else 'string'}"
    if "sha256" in entry and not SHA256_RE.fullmatch(entry["sha256"]):
        return f"({entry['path']}) 'sha256' is not 64 hexadecimal digits"
    return None


def failed_problem(entry) -> str | None:
    """What is wrong with one "failed" entry, if anything."""
    if not isinstance(entry, dict) or not is_pdf_path(entry.get("path")):
        return "is not an object with the relative path of a PDF inside the folder"
    problems = entry.get("problems", [])
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        return f"({entry['path']}) 'problems' is not a list of strings"
    return None


def check_manifest(data, where: str, required=tuple(ENTRY_FIELDS)) -> Checked:
    """The valid part of a manifest's data, and a line naming each entry left out."""
    lists = {key: data.get(key, []) for key in ("targets", "failed")} if isinstance(data, dict) else {}
    if not lists or not all(isinstance(value, list) for value in lists.values()):
        return Checked(problems=[f"{where}: not a manifest (an object with the lists 'targets' and 'failed')"])
    checked = Checked()
    for key, problem_of in (("targets", lambda e: entry_problem(e, required)), ("failed", failed_problem)):
        for number, entry in enumerate(lists[key], 1):
            if reason := problem_of(entry):
                checked.problems.append(f"{where}: '{key}' entry {number} {reason}")
            else:
                checked.manifest[key].append(entry)
    return checked


def read_manifest(path: Path, required=tuple(ENTRY_FIELDS)) -> Checked:
    """A manifest read back from disk: a missing one is empty; a link, a file that is not
    JSON or an entry that is wrong is left out, with a line saying so."""
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return Checked(problems=[f"{path}: is a symbolic link, not a manifest the builder wrote"])
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Checked()
    except (OSError, ValueError) as error:
        return Checked(problems=[f"{path}: cannot be read as JSON ({error})"])
    return check_manifest(data, str(path), required)


def manifest_warnings(out_dir: Path) -> list[str]:
    """The previous build's manifest and record entries that are ignored, one line each."""
    return [f"{problem} (ignored; this build writes the manifest anew)"
            for problem in read_manifest(out_dir / MANIFEST).problems] + read_written(out_dir)[1]


# --- the record of the files written -------------------------------------------------------

def written_problem(out_dir: Path, value, links: dict | None) -> str | None:
    """Why one entry of the record must not be obeyed, if it must not. links caches
    which folders are links (None: not looked at; deletion looks again, remove_written)."""
    if safe_relpath(value) is None:
        return f"{value!r} is not a relative path inside the folder"
    if not value.endswith(WRITTEN_SUFFIXES):
        return f"{value!r} is not a file the record is kept for ({', '.join(WRITTEN_SUFFIXES)})"
    if links is not None and (link := first_link(out_dir, value, links)):
        return f"{value!r} goes through the symbolic link {out_dir / link}"
    return None


def first_link(out_dir: Path, relpath: str, known: dict) -> str | None:
    """link_in for a record's entry, each folder looked at once for all entries (a record
    names hundreds of thumbnails in a few folders: lstat each file's path would be slow)."""
    parts = relpath.split("/")
    for end in range(1, len(parts) + 1):
        prefix = "/".join(parts[:end])
        if prefix not in known:
            try:
                known[prefix] = stat.S_ISLNK(os.lstat(os.path.join(out_dir, prefix)).st_mode)
            except OSError:
                known[prefix] = None  # missing: nothing below it exists
        if known[prefix] is None:
            return None
        if known[prefix]:
            return prefix
    return None


@dataclass
class Record:
    """The record read back: the files it names (deleted when stale), the PDFs it names
    (only ever overwritten: the manifest says which PDFs are current), and a line per
    entry left out. found is False when there is no record at all."""

    files: set = field(default_factory=set)
    pdfs: set = field(default_factory=set)
    problems: list = field(default_factory=list)
    found: bool = False


def read_record(out_dir: Path, check_links: bool = True) -> Record:
    """The record of the files the builder wrote (or set out to write). No record (a new
    folder, or one from a builder before it): nothing is known to be the builder's, so
    nothing is deleted as stale; the first build records its files."""
    path = out_dir / WRITTEN
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return Record(problems=[f"{path}: is a symbolic link, not a record the builder wrote (ignored)"])
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Record()
    except (OSError, ValueError) as error:
        return Record(problems=[f"{path}: cannot be read as JSON ({error}) (ignored: no file is deleted as stale)"])
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return Record(problems=[f"{path}: not a record (an object with the list 'files') (ignored)"])
    record, links = Record(found=True), {} if check_links else None
    for number, value in enumerate(data["files"], 1):
        if reason := written_problem(out_dir, value, links):
            record.problems.append(f"{path}: entry {number}: {reason} (ignored: it is not deleted)")
        else:
            record.files.add(value)
    pdfs = data.get("pdfs", [])  # a record without them (from before): none
    for number, value in enumerate(pdfs if isinstance(pdfs, list) else [], 1):
        if is_pdf_path(value):
            record.pdfs.add(value)
        else:
            record.problems.append(f"{path}: 'pdfs' entry {number}: {value!r} is not the relative path of a PDF "
                                   f"inside the folder (ignored)")
    return record


def read_written(out_dir: Path, check_links: bool = True) -> tuple[set[str], list[str]]:
    """The files the record says the builder wrote, and a line per entry left out."""
    record = read_record(out_dir, check_links)
    return record.files, record.problems


def write_written(out_dir: Path, files, pdfs) -> None:
    data = {"about": "files handoutkit wrote here besides the PDFs of manifest.json, which the next build "
                     "deletes only when they are stale; and the PDFs it wrote or set out to write here",
            "files": sorted(files), "pdfs": sorted(pdfs)}
    # Replaced, not written through: a link planted as the record is itself replaced.
    write_atomically(out_dir / WRITTEN, (json.dumps(data, indent=1) + "\n").encode())


def is_ours(out_dir: Path, relpath: str, recorded: set | None) -> bool:
    """Whether the builder may write relpath: nothing is there, or the record names it
    (recorded None: the folder has no record, and its files are adopted)."""
    return recorded is None or relpath in recorded or not os.path.lexists(out_dir / relpath)


def remove_written(out_dir: Path, relpaths) -> set[str]:
    """Delete these recorded files, never through a link nor a link itself (the builder
    writes none: a link there is someone else's); return those deleted or already gone."""
    gone = set()
    for relpath in relpaths:
        path = out_dir / relpath
        try:
            if link_in(out_dir, path) is None:
                path.unlink(missing_ok=True)
                gone.add(relpath)
        except OSError:  # a folder, or not ours to delete: left, and kept in the record
            continue
    return gone


def remove_stale(out_dir: Path, relpaths) -> None:
    """Delete those of relpaths that the record names (and only those), and forget them."""
    record = read_record(out_dir, check_links=False)  # quick; deletion looks at links
    if gone := remove_written(out_dir, record.files & set(relpaths)):
        write_written(out_dir, record.files - gone, record.pdfs)


# --- files in the way ----------------------------------------------------------------------

def in_the_way(out_dir: Path, relpaths, record: Record) -> list[str]:
    """A line for each of these files that exists but that the builder did not write: the
    record names neither it nor, for a PDF, does the manifest. A folder without a record
    (from a builder before it) has nothing in the way: its files are adopted."""
    if not record.found:
        return []
    ours = record.files | record.pdfs | {e["path"] for e in read_manifest(out_dir / MANIFEST).manifest["targets"]}
    return [f"{out_dir / relpath}: a file handoutkit did not write is where this build writes (it is not in "
            f"{WRITTEN} or {MANIFEST}) (move it out of the output folder, or delete it, then build again)"
            for relpath in sorted(relpaths) if relpath not in ours and os.path.lexists(out_dir / relpath)]


def claim(out_dir: Path, relpaths, adoptable=set) -> None:
    """Before anything is written: refuse, one line per file, if a file someone else put
    there has the name of one this build writes (it would be overwritten); else record
    every name this build may write, so that what a stopped build leaves is the builder's.
    adoptable(): files at the builder's names that a folder without a record keeps as its
    own (asked only then: it reads the folder)."""
    record = read_record(out_dir, check_links=False)
    if lines := in_the_way(out_dir, relpaths, record):
        raise UsageError(lines)
    adopted = set() if record.found else {p for p in adoptable() if os.path.lexists(out_dir / p)}
    pdfs = {p for p in record.pdfs if os.path.lexists(out_dir / p)} | {p for p in relpaths if p.endswith(".pdf")}
    files = record.files | adopted | {p for p in relpaths if not p.endswith(".pdf")}
    write_written(out_dir, {p for p in files if not written_problem(out_dir, p, None)}, pdfs)


# --- whose folder ------------------------------------------------------------------------

def foreign(out_dir: Path) -> str | None:
    """Why out_dir must not be written, if it is someone else's folder."""
    try:
        names = set(os.listdir(out_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None  # unwritable() says why a file cannot be the output folder
    if not names - {LOCK} or MARKER in names or is_older_output(out_dir):
        return None
    return (f"cannot use {out_dir} as the output folder: it is not empty and handoutkit did not make it "
            f"(it has no {MARKER} file) (empty it, or choose another folder with --out)")


def is_older_output(out_dir: Path) -> bool:
    """The output of a build from before the marker: its manifest.json, as builds wrote it."""
    path = out_dir / MANIFEST
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    # Its two lists, and (since schema_version 1) its header: nothing else.
    return (isinstance(data, dict) and {"targets", "failed"} <= set(data) <= {"targets", "failed", *HEADER}
            and all(isinstance(data[key], list) for key in ("targets", "failed")))


def unwritable(out_dir: Path) -> str | None:
    """Why the output folder cannot be written, if it cannot: said before any work,
    and without creating anything (content is validated before anything is written)."""
    existing = next(p for p in [out_dir, *out_dir.parents] if p.exists())
    if not existing.is_dir():
        reason = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f"no permission to write in {existing}"
    else:
        return None
    return f"cannot write to the output folder {out_dir}: {reason} (choose another with --out)"


def refuse_foreign(out_dir: Path) -> None:
    if reason := foreign(out_dir):
        raise UsageError([reason])


def mark(out_dir: Path) -> None:
    """Claim the folder (adopting an older build's output)."""
    if not (out_dir / MARKER).is_file():
        write_atomically(out_dir / MARKER, MARKER_TEXT.encode())


@contextmanager
def owning(out_dir: Path, on_notice):
    """Hold the folder's lock while the block writes it: a second build (or merge) waits,
    saying so. The folder is checked and claimed under the lock."""
    refuse_foreign(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    descriptor = lock(out_dir, on_notice)
    try:
        refuse_foreign(out_dir)
        mark(out_dir)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def lock(out_dir: Path, on_notice) -> int:
    """The folder's lock file, locked: the one in the folder now. A merge replaces the
    whole folder, its lock file with it, while a build may wait on the old one; that
    build then locks the new folder's instead of writing beside a second one."""
    while True:
        # O_NOFOLLOW: a link planted as the lock file is not followed. The lock file stays:
        # deleting it would let a third build lock a new file while the second holds the old.
        descriptor = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            wait_for_lock(descriptor, out_dir, on_notice)
            if is_same_file(descriptor, out_dir / LOCK):
                return descriptor
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # replaced meanwhile: lock the new one
        out_dir.mkdir(parents=True, exist_ok=True)


def is_same_file(descriptor: int, path: Path) -> bool:
    try:
        here, there = os.fstat(descriptor), os.lstat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def wait_for_lock(descriptor: int, out_dir: Path, on_notice) -> None:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        on_notice(f"waiting for another build of {out_dir}/ to finish (it holds {out_dir / LOCK})")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
