"""`build.py new ID`: start a handout from the project's skeleton, templates/new-handout/.

The skeleton is the project's own data, so a team changes what every new handout starts
with (its house sections, its standard warning signs) without Python. The copy is a
draft to be written over; it builds once its sources are named (every handout needs
them, and a made-up one would be printed).
"""

import argparse
import re
import shutil
from datetime import date
from pathlib import Path

from . import PROJECT_ROOT
from .assets import find

SKELETON = "templates/new-handout"
ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_main(argv, out, err, prog: str = "build.py") -> int:
    """0: the handout was made; 2: a bad id, or one that exists."""
    parser = argparse.ArgumentParser(prog=f"{prog} new", description="Start a new handout from templates/new-handout/.")
    parser.add_argument("id", help="the handout's id and folder name: lower-case letters, digits and hyphens")
    parser.add_argument("--title", help="its English title (default: made from the id)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder, skeleton = args.root / "handouts" / args.id, find(args.root, SKELETON)
    problem = (f"'{args.id}' is not a handout id (use lower-case letters, digits and hyphens, e.g. hydroxychloroquine)"
               if not ID_RE.match(args.id) else f"{folder} exists (choose another id)" if folder.exists()
               else f"no skeleton at {skeleton} (copy templates/new-handout/ from the builder's repository)"
               if not skeleton.is_dir() else None)
    if problem:
        print(f"error: {problem}", file=err)
        return 2
    fill = {"{id}": args.id, "{title}": args.title or args.id.replace("-", " ").capitalize(),
            "{today}": date.today().isoformat(), "{next_review}": next_year(date.today()).isoformat()}
    copy_skeleton(skeleton, folder, fill)
    print(f"made {folder}: write its text in en/ and its sources in handout.toml [[sources]], "
          f"then `{prog} check` and `{prog} --handout {args.id}`", file=out)
    return 0


def copy_skeleton(skeleton: Path, folder: Path, fill: dict) -> None:
    shutil.copytree(skeleton, folder)
    for path in folder.rglob("*"):
        if path.suffix in (".toml", ".md"):
            text = path.read_text(encoding="utf-8")
            for placeholder, value in fill.items():
                text = text.replace(placeholder, value)
            path.write_text(text, encoding="utf-8")


def next_year(day: date) -> date:
    """The review a year on (29 February becomes 28 February)."""
    return day.replace(year=day.year + 1, day=min(day.day, 28) if day.month == 2 else day.day)
