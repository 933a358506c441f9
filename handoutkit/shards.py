"""Sharding for CI matrices: `--shard K/N` builds a stable, balanced 1/N of the
targets, and `python build.py merge DIR...` joins the shards' outputs into one dist/.

Every shard plans the same full target list and splits it the same way, so the
shards are disjoint and together cover everything. The split balances expected
cost, not the number of targets: a booklet is several times a card, and Chinese
text costs more than Latin (larger fonts to subset). The cost model is static, so
every machine of a CI matrix computes the same split without sharing any history.
"""

import argparse
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import PROJECT_ROOT
from .files import write_atomically
from .incremental import MANIFEST, CACHE, Cache, read_cache, write_cache
from .outdir import (LOCK, MARKER, MERGE_FIELDS, WRITTEN, foreign, link_in, mark, owning, read_manifest, read_record,
                     safe_relpath, unwritable, write_written)
from .report import make_manifest

# Relative cost of laying out and checking one target (a card is 1): the format's and
# the script's `cost` in the settings (defaults.toml), times the variants'.
VARIANT_COST = {"large_print": 1.8, "print_shop": 1.2, "fillable": 1.1}
# The builder's own files, by their fixed names; what else it wrote, its record names (WRITTEN).
BUILDER_FILES = (MANIFEST, CACHE, MARKER, LOCK, WRITTEN)


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4): the second of four shards, counted from 1."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"'{text}': K must be between 1 and N")
    return k, n


def expected_cost(target, settings=None) -> float:
    from .languages import language  # Babel: only when shards are planned
    from .settings import DEFAULTS
    settings = settings or DEFAULTS
    fmt, script = settings.formats.get(target.format), settings.scripts.get(language(target.lang).script)
    cost = (fmt.cost if fmt else 2.0) * (script.cost if script else 1.0)
    for variant, factor in VARIANT_COST.items():
        cost *= factor if getattr(target, variant, False) else 1.0
    return cost


def assign_shards(targets: list, count: int, settings=None) -> dict:
    """Target -> shard number (1..count): the dearest first, each to the least loaded
    shard (longest processing time first). Ties break on the path, so the split
    depends only on the target list."""
    loads = [0.0] * count
    assigned = {}
    cost = {t: expected_cost(t, settings) for t in targets}
    for target in sorted(targets, key=lambda t: (-cost[t], t.relpath)):
        shard = min(range(count), key=lambda i: (loads[i], i))
        loads[shard] += cost[target]
        assigned[target] = shard + 1
    return assigned


def select_shard(targets: list, shard: tuple[int, int] | None, settings=None) -> list:
    """The targets of shard K of N, in plan order; all of them without a shard."""
    if not shard:
        return targets
    k, n = shard
    assigned = assign_shards(targets, n, settings)
    return [t for t in targets if assigned[t] == k]


# --- merge -------------------------------------------------------------------------
#
# A shard's folder may come from another machine (a CI artifact): its manifest is
# data. Everything is checked first, every problem said at once, and the result is
# assembled in a temporary folder beside --out and renamed into place: a merge that
# finds a problem, or fails midway, leaves --out as it was.

@dataclass
class Shard:
    folder: Path
    manifest: dict
    files: list[str] = field(default_factory=list)  # relative paths to copy: PDFs and their --html files


@dataclass
class Merged:
    manifest: dict
    problems: list[str] = field(default_factory=list)
    cache: Cache = field(default_factory=Cache)


def read_shard(folder: Path) -> tuple[Shard, list[str]]:
    """A shard's manifest and the files it lists, each checked: a regular file, reached
    without a link, inside the folder, whose SHA-256 is the one its entry records."""
    checked = read_manifest(folder / MANIFEST, required=MERGE_FIELDS)
    shard, problems = Shard(folder, checked.manifest), [f"{p} (build the shard again)" for p in checked.problems]
    for entry in checked.manifest["targets"]:
        problem = check_listed(folder, entry["path"], entry["sha256"])
        problems += [problem] if problem else []
        html = Path(entry["path"]).with_suffix(".html").as_posix()
        if os.path.lexists(folder / html):
            problems += filter(None, [check_listed(folder, html)])
            shard.files.append(html)
        shard.files.append(entry["path"])
    return shard, problems


def check_listed(folder: Path, relpath: str, sha256: str | None = None) -> str | None:
    """What is wrong with one file a shard's manifest lists, if anything."""
    path = folder / relpath
    if link := link_in(folder, path):
        return f"{folder}: {relpath}: {link} is a symbolic link (a shard holds the files themselves; build it again)"
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return f"{folder}: {relpath}: not a regular file (build the shard again)"
        with open(path, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
    except FileNotFoundError:
        return f"{folder}: {relpath}: listed in {MANIFEST} but missing (copy the whole shard, or build it again)"
    except OSError as error:
        return f"{folder}: {relpath}: cannot be read: {error.strerror}"
    if sha256 and digest != sha256:
        return f"{folder}: {relpath}: its SHA-256 is not the one {MANIFEST} records (changed after the build? build the shard again)"
    return None


def join(shards: list[Shard]) -> Merged:
    """The merged manifest (what one unsharded build would have written) and cache, and
    each path that two shards hold with different contents."""
    entries, owner, failed, merged = {}, {}, {}, Merged({})
    for shard in shards:
        for entry in shard.manifest["targets"]:
            other = entries.setdefault(entry["path"], entry)
            owner.setdefault(entry["path"], shard.folder)
            if other["sha256"] != entry["sha256"]:
                merged.problems.append(f"{entry['path']} differs between shards {owner[entry['path']]} and "
                                       f"{shard.folder} (is one shard out of date? build it again)")
        failed |= {f["path"]: f for f in shard.manifest["failed"]}
        join_caches(merged.cache, read_cache(shard.folder))
    merged.manifest = make_manifest([entries[k] for k in sorted(entries)], [failed[k] for k in sorted(failed)])
    return merged


def join_caches(into: Cache, cache: Cache) -> None:
    """Input hashes recorded by each shard; mtimes from other machines only mean
    that a file is hashed again once, never that a changed file is trusted."""
    into.files.update(cache.files)
    into.plans.update(cache.plans)
    into.targets.update({k: v for k, v in cache.targets.items() if safe_relpath(k)})
    into.checked_ns = max(into.checked_ns, cache.checked_ns)


def assemble(shards: list[Shard], merged: Merged, out_dir: Path, root: Path) -> str | None:
    """Write the merged output in a temporary folder beside out_dir, then put it in
    out_dir's place; return a note if the old folder kept files the builder did not write."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.merging-"))
    try:
        for shard in shards:
            for relpath in shard.files:
                (temporary / relpath).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(shard.folder / relpath, temporary / relpath, follow_symlinks=False)
        # The --html files copied are recorded as written; write_catalog adds its own files.
        write_written(temporary, {p for shard in shards for p in shard.files if not p.endswith(".pdf")}, set())
        write_json(temporary / MANIFEST, merged.manifest)
        if merged.cache.targets:
            write_cache(temporary, merged.cache)
        mark(temporary)
        write_catalog(temporary, merged.manifest, root)
        os.chmod(temporary, 0o755)  # mkdtemp makes it private; output is for everyone to read
        return swap(temporary, out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def swap(new: Path, out_dir: Path) -> str | None:
    """Rename new to out_dir; an old out_dir is moved aside first, then what the builder
    wrote in it is deleted (discard)."""
    if not os.path.lexists(out_dir):
        os.rename(new, out_dir)
        return None
    aside = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
    os.rename(out_dir, aside / out_dir.name)
    os.rename(new, out_dir)
    try:
        left = discard(aside / out_dir.name)
    except OSError as error:  # the merge is in place: say what is left, do not fail it
        return f"note: {aside / out_dir.name}: the old output could not all be deleted ({error.strerror}); delete it by hand"
    if left:
        return f"note: {aside / out_dir.name} keeps {left} file(s) handoutkit did not write (look through them, then delete it)"
    os.rmdir(aside)
    return None


def discard(old: Path) -> int:
    """Delete from an old output folder only what a build wrote there (the PDFs its
    manifest lists, the files and PDFs its record names, its own manifest, caches, marker and
    record), never following a link; then the folders left empty. Returns how many files
    are left. An old folder with no record (from a builder before it) keeps its catalog
    files, and the note says so: nothing is deleted by its name alone."""
    manifest = read_manifest(old / MANIFEST).manifest
    record = read_record(old)
    ours = {e["path"] for e in manifest["targets"]} | record.files | record.pdfs | set(BUILDER_FILES)
    left = 0
    for parent, dirs, names in os.walk(old, topdown=False):  # followlinks=False
        for path in (Path(parent, name) for name in names + [d for d in dirs if Path(parent, d).is_symlink()]):
            if not path.is_symlink() and path.relative_to(old).as_posix() in ours:
                path.unlink()
            else:
                left += 1
        if parent != str(old) and not os.listdir(parent):
            os.rmdir(parent)
    if not left:
        os.rmdir(old)
    return left


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


def write_catalog(out_dir: Path, manifest: dict, root: Path) -> str:
    """The catalog page of the merged output."""
    from .catalog import write_catalog as write  # here: merging needs Pillow and PDFium only for this
    return str(write(out_dir, manifest, root=root))


def merge_main(argv, out=sys.stdout, err=sys.stderr) -> int:
    """`python build.py merge DIR... [--out DIR]`: 0 merged, every target built;
    1 a shard failed a target, or nothing was merged because of the problems it says
    (a shard that disagrees with its manifest or another shard); 2 a DIR is not a build
    output, or --out cannot be written or is someone else's folder."""
    args = parse_merge_args(argv)
    out_dir = (args.out or args.root / "dist").resolve()  # a linked dist/ stays a link: its target is replaced
    if usage := usage_problems(args.dirs, out_dir):
        return say_problems(usage, out_dir, err, 2)
    read = [read_shard(folder) for folder in args.dirs]
    merged = join([shard for shard, _ in read])
    if problems := [p for _, found in read for p in found] + merged.problems:
        return say_problems(problems, out_dir, err, 1)
    try:
        with locked(out_dir, err):
            note = assemble([shard for shard, _ in read], merged, out_dir, args.root.resolve())
    except OSError as error:
        return say_problems([f"cannot write {error.filename or out_dir}: {error.strerror or error}"], out_dir, err, 1)
    except Exception as error:  # a bug: one line, as cli.main says it
        return say_problems([f"unexpected {type(error).__name__}: {error}"], out_dir, err, 1)
    return report_merge(merged, len(args.dirs), out_dir, note, out, err)


@contextmanager
def locked(out_dir: Path, err):
    """An existing --out is held as a build holds it (outdir.owning) while the merge
    replaces it: a build writing it finishes first, and one that starts meanwhile waits.
    A new --out needs no lock: nothing can be writing it."""
    if not os.path.isdir(out_dir):
        yield
        return
    with owning(out_dir, lambda notice: print(notice, file=err, flush=True)):
        yield


def parse_merge_args(argv):
    parser = argparse.ArgumentParser(prog="build.py merge",
                                     description="Join the outputs of `build.py --shard K/N` runs into one folder.")
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="output folder of one shard")
    parser.add_argument("--out", type=Path, help="merged output folder (default: dist/)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def usage_problems(dirs: list[Path], out_dir: Path) -> list[str]:
    """A DIR that is not a build's output; an --out that is a file, or someone else's."""
    problems = [f"{folder}: no {MANIFEST} (not the output of a build)" for folder in dirs
                if not (folder / MANIFEST).is_file()]
    return problems + list(filter(None, [unwritable(out_dir) or foreign(out_dir)]))


def say_problems(problems: list[str], out_dir: Path, err, code: int) -> int:
    for problem in problems:
        print(f"error: {problem}", file=err)
    print(f"nothing was merged: {out_dir} is unchanged", file=err)
    return code


def report_merge(merged: Merged, count: int, out_dir: Path, note: str | None, out, err) -> int:
    for failure in merged.manifest["failed"]:
        print(f"failed: {failure['path']}: " + "; ".join(failure.get("problems", [])), file=err)
    if note:
        print(note, file=err)
    print(f"merged {count} shards: {len(merged.manifest['targets'])} PDFs, "
          f"{len(merged.manifest['failed'])} failed, into {out_dir}", file=out)
    return 1 if merged.manifest["failed"] else 0
