"""The body size each target last fitted at, kept across builds and output folders.

Shrink-to-fit (target.lay_out_to_fit) steps the body size down until a text fits its
page limit, which lays a long translation out two or three times. Everything that
decides that size is in the target's fit digest (incremental.Inputs.fit_key): its
text, interface strings, templates, styles, fonts, the builder's code and libraries,
format, paper and print size. When the digest is unchanged the size is known, and one
layout at that size confirms it. The clinic profile, form fields and output folder
are not part of it (contact blocks and form fields have one size, filled or blank),
so a clinic's build, a fillable build or a fresh output folder reuse the sizes.

A remembered size is trusted as the largest that fits: the digest covers what decides
it, so only a hand-edited or corrupted cache could make a text smaller than it needs
to be (never too long: a size that no longer fits is stepped down from the top).

The cache is a small JSON file in the user's cache folder ($HANDOUTKIT_CACHE, else
$XDG_CACHE_HOME/handoutkit or ~/.cache/handoutkit). Losing it costs only time.
"""

import json
import os
from pathlib import Path

from .files import write_atomically

NAME = "fit-sizes.json"
MAX_ENTRIES = 20_000  # a hospital library's worth; the oldest are dropped first
OWN_SIZE = "stylesheet"  # JSON for None: fits at the stylesheet's own size


def cache_dir() -> Path:
    """The user's cache folder for handoutkit (also the catalog's font subsets: catalog_fonts)."""
    base = os.environ.get("HANDOUTKIT_CACHE")
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "handoutkit"
    return Path(base)


def cache_path() -> Path:
    return cache_dir() / NAME


def hints(fit_keys: dict) -> dict:
    """Target -> the body size it fitted at last time (None: the stylesheet's own),
    for the targets whose fit digest is known."""
    known = read()
    return {target: None if known[key] == OWN_SIZE else known[key]
            for target, key in fit_keys.items() if key in known}


def remember(fit_keys: dict, results) -> None:
    """Record the size of every target that was built and passed its checks."""
    fitted = {fit_keys[r.target]: OWN_SIZE if r.body_size is None else r.body_size
              for r in results if r.status == "built" and r.target in fit_keys}
    if not fitted:
        return
    known = read()
    for key in fitted:
        known.pop(key, None)  # re-inserted last: the newest entries are kept
    known.update(fitted)
    try:
        write_atomically(cache_path(), json.dumps(dict(list(known.items())[-MAX_ENTRIES:])).encode())
    except OSError:
        pass  # a read-only home: the next build steps through the sizes again


def read() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
