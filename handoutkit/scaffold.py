"""`build.py new ID`: start a handout from the project's skeleton, templates/new-handout/.

The skeleton is the project's own data, so a team changes what every new handout starts
with (its house sections, its standard warning signs) without Python. The copy is a
draft to be written over; it builds as it is, with a placeholder source that says to
replace it (printed as a draft: --release refuses it).

Each TOML file of the skeletons starts with a `#:schema` line, which an editor follows to
the project's schemas/ (written there by `new` when the project has none: schemas.py).
"""

import argparse
import re
import shutil
from datetime import date
from pathlib import Path

from . import PROJECT_ROOT
from .assets import find, find_project, is_project

SKELETON = "templates/new-handout"
PROJECT_SKELETON = "templates/new-project"
ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_main(argv, out, err, prog: str = "build.py") -> int:
    """In a project: a new handout in handouts/ID/. Anywhere else: a new project in the
    folder ID (templates/new-project/: a commented handoutkit.toml and a sample clinic)
    holding that handout. 0: made; 2: a bad id, or a folder that exists."""
    parser = argparse.ArgumentParser(prog=f"{prog} new", description="Start a new handout (or, outside a "
                                     "project, a new project) from templates/new-handout/ and templates/new-project/.")
    parser.add_argument("id", help="the handout's id and folder name: lower-case letters, digits and hyphens")
    parser.add_argument("--title", help="its English title (default: made from the id)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT if prog == "build.py" else find_project(Path.cwd()),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    project = args.root if is_project(args.root) else Path.cwd() / args.id
    folder = project / "handouts" / args.id
    problem = (f"'{args.id}' is not a handout id (use lower-case letters, digits and hyphens, e.g. hydroxychloroquine)"
               if not ID_RE.match(args.id) else f"{folder} exists (choose another id)" if folder.exists()
               else f"{project} exists and is not a project (choose another name)" if project.exists()
               and not is_project(project) else None)
    if problem:
        print(f"error: {problem}", file=err)
        return 2
    fill = {"{id}": args.id, "{title}": args.title or args.id.replace("-", " ").capitalize(),
            "{today}": date.today().isoformat(), "{next_review}": next_year(date.today()).isoformat()}
    if not is_project(project):
        copy_skeleton(find(args.root, PROJECT_SKELETON), project, fill)
    copy_skeleton(find(args.root, SKELETON), folder, fill)
    if not (project / "schemas").exists():  # the copies' `#:schema` first lines point there
        from .schemas import write_schemas  # the content modules: only for `new`
        write_schemas(project / "schemas")
    where = f"cd {project} && " if project != args.root else ""
    print(f"made {folder}: write its text in en/ and its sources in handout.toml, then {where}`{prog} check` "
          f"and `{prog} --handout {args.id}`", file=out)
    return 0


def copy_skeleton(skeleton: Path, folder: Path, fill: dict) -> None:
    shutil.copytree(skeleton, folder, dirs_exist_ok=True)
    for path in folder.rglob("*"):
        if path.suffix in (".toml", ".md"):
            text = path.read_text(encoding="utf-8")
            for placeholder, value in fill.items():
                text = text.replace(placeholder, value)
            path.write_text(text, encoding="utf-8")


def next_year(day: date) -> date:
    """The review a year on (29 February becomes 28 February)."""
    return day.replace(year=day.year + 1, day=min(day.day, 28) if day.month == 2 else day.day)
