"""Where a template, stylesheet or font file is: the project's own, else the builder's.

A project needs only its handouts/: the builder's templates/ and styles/ (ASSETS_ROOT)
serve the rest, and a file of the same name in the project's templates/ or styles/
replaces the builder's, one file at a time (a hospital restyles the brief with its
own styles/brief.css and keeps everything else).
"""

from pathlib import Path

from . import ASSETS_ROOT


def bases(root: Path) -> list[Path]:
    """The project, then the builder (once, when they are the same folder)."""
    return [root] if Path(root).resolve() == ASSETS_ROOT.resolve() else [root, ASSETS_ROOT]


def search_path(root: Path, folder: str) -> list[Path]:
    """templates/ or styles/ of the project, then of the builder."""
    return [base / folder for base in bases(root)]


def find(root: Path, relpath: str) -> Path:
    """The project's file if it has one, else the builder's; the project's path when
    neither exists (so a problem names the file the author would create)."""
    for base in bases(root):
        if (base / relpath).exists():
            return base / relpath
    return root / relpath


def is_project(folder: Path) -> bool:
    return (folder / "handoutkit.toml").is_file() or (folder / "handouts").is_dir()


def find_project(start: Path) -> Path:
    """The nearest folder, from `start` up, that holds handoutkit.toml or handouts/ (as git
    finds its repository); `start` itself when none does."""
    return next((folder for folder in (start, *start.parents) if is_project(folder)), start)
