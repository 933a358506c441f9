"""A whole build, fast: skip what is up to date, take this shard's share, build the
rest on warm workers, and record the manifest and the inputs cache.

`pipeline.build()` and the command line both run `run()`.
"""

import sys

from . import incremental
from .shards import select_shard
from .workers import SUBSETTER_NOTICE, BatchStats, build_all, start_forkserver, subsetter_available


def run(options, on_result=lambda result: None, on_start=lambda to_build, up_to_date: None,
        on_notice=lambda text: print(f"warning: {text}", file=sys.stderr), stats: BatchStats | None = None,
        on_problem=lambda line: print(f"error: {line}", file=sys.stderr)) -> list:
    """Build what changed among the selected targets; return a result for every one of
    them, in plan order (an incremental.UpToDate for those whose PDF is current).

    Content problems are all found before anything is written. Those that concern
    everything raise ContentError; the others are passed to on_problem once each, and
    the targets they touch fail (their last good PDF stays) while the rest are built."""
    stats = stats if stats is not None else BatchStats()
    survey = incremental.survey(options)
    if survey.current is not None:  # nothing changed: neither the content nor WeasyPrint is loaded
        return pass_on(survey.current, 0, on_start, on_result)
    if options.jobs != 1 and survey.stale != 1:
        start_forkserver()  # workers will be needed: warm them up while the content loads
    from .project import load_project
    project = load_project(options, partial=True)
    targets = select_shard(project.targets, options.shard)
    plan = incremental.plan(project, targets, options)
    # Before on_start: a progress bar counts the targets to build, which these are not.
    blocked = fail_blocked(plan.blocked, project, on_problem, on_result)
    pass_on(plan.current, len(plan.to_build), on_start, on_result)
    if plan.to_build and not subsetter_available():
        on_notice(SUBSETTER_NOTICE)
    built = build_all(plan.to_build, project, options, on_result, stats) if plan.to_build else []
    record_build(plan, built, options, blocked)
    order = {t: i for i, t in enumerate(targets)}
    return sorted(plan.current + blocked + built, key=lambda r: order[r.target])


def fail_blocked(targets: list, project, on_problem, on_result) -> list:
    """Report each problem that stops these targets once, then each target as failed
    with its problems (for the manifest and --json). They are never sent to a worker:
    their texts may not have loaded."""
    from .pipeline import Result
    lines = {line for t in targets for line in project.blocked[t.key]}
    for line in dict.fromkeys(str(p) for p in project.problems if str(p) in lines):  # in the order found
        on_problem(line)
    results = []
    for target in targets:
        text = project.texts.get(target.key)
        # blocked: report.describe points at the lines above instead of repeating them
        result = Result(target, list(project.blocked[target.key]), handout=project.handouts.get(target.handout),
                        title=text.title if text else "", blocked=True)
        on_result(result)
        results.append(result)
    return results


def pass_on(current: list, to_build: int, on_start, on_result) -> list:
    """Announce the work, then report the targets that are up to date."""
    on_start(to_build, len(current))
    for record in current:
        on_result(record)
    return current


def record_build(plan, built: list, options, blocked: list = ()) -> None:
    """The manifest (each built entry with its inputs digest; blocked targets listed as
    failed), the catalog page, then the cache. The catalog is written even when nothing
    was built: its own template is not an input of any target, and index.html may be missing."""
    from .catalog import write_catalog
    from .report import MANIFEST, read_manifest, update_manifest
    for result in built:
        result.inputs = plan.keys[result.target]
    results = list(blocked) + built
    manifest = update_manifest(options.out_dir, results) if results else read_manifest(options.out_dir / MANIFEST)
    write_catalog(options.out_dir, manifest, root=options.root, today=options.today)
    incremental.remember(plan, options.out_dir)
