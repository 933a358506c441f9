"""Sharding for CI matrices: `--shard K/N` builds a stable, balanced 1/N of the
targets, and `python build.py merge DIR...` joins the shards' outputs into one dist/.

Every shard plans the same full target list and splits it the same way, so the
shards are disjoint and together cover everything. The split balances expected
cost, not the number of targets: a booklet is several times a card, and Chinese
text costs more than Latin (larger fonts to subset). The cost model is static, so
every machine of a CI matrix computes the same split without sharing any history.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import PROJECT_ROOT
from .files import copy_atomically, write_atomically
from .incremental import MANIFEST, CACHE, Cache, read_cache, read_json, write_cache
from .report import make_manifest

# Relative cost of laying out and checking one target (a card is 1): the format's and
# the script's `cost` in the settings (defaults.toml), times the variants'.
VARIANT_COST = {"large_print": 1.8, "print_shop": 1.2, "fillable": 1.1}
CATALOG_FILES = ("index.html", "index.ar.html", "index.de.html", "index.es.html", "index.fr.html", "index.zh-Hans.html", "index.csv", "thumbnails", ".handoutkit-catalog-fonts")  # written anew from the merged manifest (a language page per strings file with catalog_ keys)


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

@dataclass
class Merged:
    manifest: dict
    problems: list[str] = field(default_factory=list)


def merge(dirs: list[Path], out_dir: Path) -> Merged:
    """Copy every shard's files into out_dir and join their manifests and caches.
    The merged manifest is what one unsharded build would have written."""
    entries, failed, problems, cache = {}, {}, [], Cache()
    for folder in dirs:
        manifest = read_json(folder / MANIFEST)
        copy_outputs(folder, out_dir)
        for entry in manifest.get("targets", []):
            if not (folder / entry["path"]).is_file():
                continue
            other = entries.setdefault(entry["path"], entry)
            if other.get("sha256") != entry.get("sha256"):
                problems.append(f"{entry['path']} differs between shards (is one shard out of date?)")
        failed |= {f["path"]: f for f in manifest.get("failed", [])}
        join_caches(cache, read_cache(folder))
    manifest = make_manifest([entries[k] for k in sorted(entries)], [failed[k] for k in sorted(failed)])
    write_json(out_dir / MANIFEST, manifest)
    if cache.targets:
        write_cache(out_dir, cache)
    return Merged(manifest, problems)


def copy_outputs(folder: Path, out_dir: Path) -> None:
    """PDFs (and --html files) of one shard, each replaced atomically."""
    if folder.resolve() == out_dir.resolve():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] not in (MANIFEST, CACHE, *CATALOG_FILES):
            copy_atomically(path, out_dir / relative)


def join_caches(into: Cache, cache: Cache) -> None:
    """Input hashes recorded by each shard; mtimes from other machines only mean
    that a file is hashed again once, never that a changed file is trusted."""
    into.files.update(cache.files)
    into.plans.update(cache.plans)
    into.targets.update(cache.targets)
    into.checked_ns = max(into.checked_ns, cache.checked_ns)


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


def write_catalog(out_dir: Path, manifest: dict, root: Path) -> str:
    """The catalog page of the merged output."""
    from .catalog import write_catalog as write  # here: merging needs Pillow and PDFium only for this
    return str(write(out_dir, manifest, root=root))


def merge_main(argv, out=sys.stdout, err=sys.stderr) -> int:
    """`python build.py merge DIR... [--out DIR]`: 0 merged, every target built;
    1 a shard failed a target or two shards disagree; 2 a DIR is not a build output."""
    parser = argparse.ArgumentParser(prog="build.py merge",
                                     description="Join the outputs of `build.py --shard K/N` runs into one folder.")
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="output folder of one shard")
    parser.add_argument("--out", type=Path, help="merged output folder (default: dist/)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    missing = [d for d in args.dirs if not (d / MANIFEST).is_file()]
    for folder in missing:
        print(f"error: {folder}: no {MANIFEST} (not the output of a build)", file=err)
    if missing:
        return 2
    out_dir = args.out or args.root / "dist"
    merged = merge(args.dirs, out_dir)
    if not merged.problems:  # no catalog of shards that disagree
        write_catalog(out_dir, merged.manifest, args.root.resolve())
    for problem in merged.problems:
        print(f"error: {problem}", file=err)
    for failure in merged.manifest["failed"]:
        print(f"failed: {failure['path']}: " + "; ".join(failure.get("problems", [])), file=err)
    print(f"merged {len(args.dirs)} shards: {len(merged.manifest['targets'])} PDFs, "
          f"{len(merged.manifest['failed'])} failed, into {out_dir}", file=out)
    return 1 if merged.problems or merged.manifest["failed"] else 0
