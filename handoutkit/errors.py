"""Problems found in the inputs, reported all at once as one line each."""

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file: where, what, and how to fix it."""

    path: Path
    message: str
    hint: str = ""
    line: int | None = None
    column: int | None = None  # with a line: where an invisible character is (invisible.py)

    def __str__(self) -> str:
        where = display_path(self.path) + (f":{self.line}" if self.line else "")
        where += f":{self.column}" if self.line and self.column else ""
        text = f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ContentError(Exception):
    """The inputs have problems; nothing was written."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: Path) -> str:
    """Show a path relative to the working folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class UsageError(ContentError):
    """The command line asks for something that does not exist."""


def line_of(path: Path, key: str) -> int | None:
    """The line where `key = ...` is first set, to point authors at it."""
    try:
        # Lines as the readers count them (invisible.text_lines): read_text already ends
        # them at CR and LF, and splitlines would also end one at U+0085 or a form feed.
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
    return next((n for n, text in enumerate(lines, 1) if pattern.match(text)), None)
