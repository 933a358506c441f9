"""Imported once by the workers' forkserver (workers.PRELOAD): what every worker would
otherwise load for its first target, loaded before the workers are forked, so each
of them (and each replacement, after MAX_TASKS_PER_WORKER tasks) starts warm.

WeasyPrint and the pipeline are imported; textstat reads the CMU Pronouncing
Dictionary and its hyphenation dictionaries (about a second). Fontconfig and Pango
are not started here: each worker makes its own FontConfiguration after the fork.
"""

from . import checks, target  # noqa: F401 (imported for the workers)
from .languages import FORMULAS


def warm_up() -> None:
    for lang in FORMULAS:
        checks.readability("You read this. It is short. Ask us if you have questions.", lang)


try:
    warm_up()
except Exception:  # noqa: BLE001 (a failure here must not stop the forkserver: a worker would just start cold)
    pass
