"""A whole build, fast: skip what is up to date, take this shard's share, build the
rest on warm workers, and record the manifest and the inputs cache.

`pipeline.build()` and the command line both run `run()`.
"""

import sys

from . import incremental
from .shards import select_shard
from .workers import SUBSETTER_NOTICE, BatchStats, build_all, start_forkserver, subsetter_available


def run(options, on_result=lambda result: None, on_start=lambda to_build, up_to_date: None,
        on_notice=lambda text: print(f"warning: {text}", file=sys.stderr), stats: BatchStats | None = None) -> list:
    """Build what changed among the selected targets; return a result for every one of
    them, in plan order (an incremental.UpToDate for those whose PDF is current)."""
    stats = stats if stats is not None else BatchStats()
    survey = incremental.survey(options)
    if survey.current is not None:  # nothing changed: neither the content nor WeasyPrint is loaded
        return pass_on(survey.current, 0, on_start, on_result)
    if options.jobs != 1 and survey.stale != 1:
        start_forkserver()  # workers will be needed: warm them up while the content loads
    from .project import load_project
    project = load_project(options)
    targets = select_shard(project.targets, options.shard)
    plan = incremental.plan(project, targets, options)
    pass_on(plan.current, len(plan.to_build), on_start, on_result)
    if plan.to_build and not subsetter_available():
        on_notice(SUBSETTER_NOTICE)
    built = build_all(plan.to_build, project, options, on_result, stats) if plan.to_build else []
    record_build(plan, built, options)
    order = {t: i for i, t in enumerate(targets)}
    return sorted(plan.current + built, key=lambda r: order[r.target])


def pass_on(current: list, to_build: int, on_start, on_result) -> list:
    """Announce the work, then report the targets that are up to date."""
    on_start(to_build, len(current))
    for record in current:
        on_result(record)
    return current


def record_build(plan, built: list, options) -> None:
    """The manifest (each built entry with its inputs digest), the catalog page, then
    the cache. The catalog is written even when nothing was built: its own template
    is not an input of any target, and index.html may be missing."""
    from .catalog import write_catalog
    from .report import MANIFEST, read_manifest, update_manifest
    for result in built:
        result.inputs = plan.keys[result.target]
    manifest = update_manifest(options.out_dir, built) if built else read_manifest(options.out_dir / MANIFEST)
    write_catalog(options.out_dir, manifest, root=options.root, today=options.today)
    incremental.remember(plan, options.out_dir)
