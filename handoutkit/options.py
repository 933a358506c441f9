"""The build's options, and what each of them changes.

Kept apart from project.py so that a no-op rebuild, which needs only the options and
the inputs cache, loads neither the content modules nor Jinja nor Markdown.
"""

from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

from . import PROJECT_ROOT
from .discover import Selection


# Each option says what it changes, once: incremental.py takes the OUTPUT options
# (and a file option by its content) into every target's inputs digest, the PLAN
# ones into the target list's, and never a RUN option.
OUTPUT, PLAN, RUN = ({"changes": "output"}, {"changes": "plan"}, {"changes": "nothing"})


def run_option(default):
    return field(default=default, metadata=RUN)


@dataclass(frozen=True)
class Options:
    # Where, and which targets.
    root: Path = run_option(PROJECT_ROOT)
    out: Path | None = run_option(None)
    selection: Selection = field(default=Selection(), metadata=PLAN)
    # What the PDFs are (every other field without metadata).
    strict: bool = False          # stale translations, overdue reviews, poor layout fail their targets
    clinic_file: Path | None = None
    large_print: bool = False
    fillable: bool = False
    print_shop: bool = False
    release: bool = False         # refuse drafts and handouts past their review date
    today: date | None = None     # for review dates; None = the real date
    # How the build runs (pipeline.py, workers.py): none of these changes a PDF.
    jobs: int | None = run_option(None)        # worker processes; None = one per CPU, 1 = in this process
    force: bool = run_option(False)            # rebuild even what is up to date
    shard: tuple[int, int] | None = field(default=None, metadata=PLAN)  # (K, N): build only shard K of N
    html: bool = run_option(False)             # also write each target's final HTML beside its PDF
    timeout: float | None = run_option(300)    # seconds one target may take before it fails alone
    memory_limit: int | None = run_option(2048)  # MB of address space a worker may use while building a target

    def values(self, *kinds: str) -> dict:
        """The options that change the given things ("output", "plan", "nothing")."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("changes", "output") in kinds}

    @property
    def out_dir(self) -> Path:
        return self.out or self.root / "dist"
