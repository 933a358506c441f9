"""The build, start to finish: discover, load and validate, plan, build each target
(render, lay out, check, audit, write), report.

`build()` tells the whole story in order; each step lives in its own module:
project.py (discover, load and validate), incremental.py and shards.py (plan),
workers.py and target.py (build each target), report.py and catalog.py (report).
WeasyPrint is imported only when a target is to be built, so a no-op rebuild and
`--check` stay fast.
"""

import re
import sys

from . import fitcache, incremental, outdir
from .files import uninterrupted
from .model import BLOCKED, Result
from .options import Options
from .shards import select_shard


def build(options: Options, on_result=lambda result: None,
          on_start=lambda to_build, up_to_date: None,
          on_notice=lambda text: print(f"warning: {text}", file=sys.stderr), stats=None,
          on_problem=lambda line: print(f"error: {line}", file=sys.stderr)) -> list[Result]:
    """Build what changed among the selected targets; return a Result for every one of
    them, in plan order, each also passed to on_result as it is done.

    Content problems are all found before anything is written. Those that concern
    everything raise ContentError; the others are passed to on_problem once each, and
    the targets they touch are blocked (their last good PDF stays) while the rest build."""
    from .workers import BatchStats, start_forkserver
    stats = stats if stats is not None else BatchStats()
    # The folder must be the builder's; what it says of the last build is checked.
    outdir.refuse_foreign(options.out_dir)
    for line in outdir.manifest_warnings(options.out_dir):
        on_notice(line)
    # 0. Nothing changed? The cache alone can tell, without loading content or WeasyPrint.
    survey = incremental.survey(options)
    if survey.current is not None:
        return announce(survey.current, 0, on_start, on_result)
    if options.jobs != 1 and survey.stale != 1:
        start_forkserver()  # workers will be needed: warm them up while the content loads
    # 1-2. Discover the targets; load and validate everything they need.
    from .project import load_project  # Jinja, Markdown, Babel: not for a no-op
    project = load_project(options, partial=True)
    targets = select_shard(project.targets, options.shard, project.settings)
    # 3-5 under the folder's lock: a second build of it waits, then plans from what this one wrote.
    with outdir.owning(options.out_dir, on_notice):
        return build_targets(project, targets, options, on_result, on_start, on_notice, stats, on_problem)


def build_targets(project, targets, options, on_result, on_start, on_notice, stats, on_problem) -> list[Result]:
    """Plan, build, report: steps 3-5 of build()."""
    from .workers import build_all, subsetter_available
    # 3. Plan: what is up to date, what a content problem blocks, what to build.
    plan = incremental.plan(project, targets, options)
    # Nothing someone else put in the folder is overwritten: a build claims its files' names first.
    outdir.claim(options.out_dir, outputs(plan, options), adoptable=lambda: earlier_outputs(options))
    project.fit_hints = fitcache.hints(plan.fit_keys)  # sizes known to fit: one layout each
    blocked = block(plan.blocked, project, on_problem, on_result)  # before on_start: not counted as to build
    announce(plan.current, len(plan.to_build), on_start, on_result)
    if plan.to_build and not subsetter_available():
        on_notice(SUBSETTER_NOTICE)
    # 4. Build each target: render, lay out, check, audit (target.build_target), write (workers.save).
    built, complete = [], False
    try:
        if plan.to_build:
            build_all(plan.to_build, project, options, on_result, stats, built)
        complete = True
    finally:  # also on Ctrl-C: the workers are stopped; the PDFs they finished are recorded
        # 5. Report: the manifest, the inputs cache, the sizes that fitted, the catalog page.
        record(plan, built, options, blocked, complete)
    order = {t: i for i, t in enumerate(targets)}
    return sorted(plan.current + blocked + built, key=lambda r: order[r.target])


SUBSETTER_NOTICE = ("WeasyPrint subsets fonts with fontTools: libharfbuzz-subset (HarfBuzz >= 4.1) is missing, "
                    "so every PDF is 10-70x slower to write. Install it: `sudo apt-get install libharfbuzz-subset0` "
                    "(scripts/setup.sh does).")


def block(targets: list, project, on_problem, on_result) -> list[Result]:
    """Report each problem that stops these targets once, then each target as blocked
    (for the manifest and --json). They never reach a worker: their texts may not
    have loaded."""
    lines = {line for t in targets for line in project.blocked[t.key]}
    for line in dict.fromkeys(str(p) for p in project.problems if str(p) in lines):  # in the order found
        on_problem(line)
    results = [Result.failed(t, project, project.blocked[t.key], status=BLOCKED) for t in targets]
    for result in results:
        on_result(result)
    return results


def outputs(plan, options) -> set[str]:
    """Every file this build may write: each PDF to build (and its --html file), and what
    the catalog writes for the selected targets."""
    from .catalog import catalog_outputs, html_relpath
    pdfs = {t.relpath for t in plan.to_build}
    html = {html_relpath(path) for path in pdfs} if options.html else set()
    return pdfs | html | catalog_outputs(options.root, [t.relpath for t in plan.targets])


def earlier_outputs(options) -> set[str]:
    """What an earlier builder, which kept no record, may have written in the folder beside
    its manifest's PDFs: adopted as the builder's (outdir.claim) when the record is started."""
    from .catalog import OLD_FONT_CACHE, catalog_outputs, html_relpath
    out_dir = options.out_dir
    pdfs = incremental.manifest_entries(out_dir)
    return (catalog_outputs(options.root, pdfs) | {html_relpath(path) for path in pdfs}
            | {f"{OLD_FONT_CACHE}/{p.name}" for p in (out_dir / OLD_FONT_CACHE).glob("*.woff2")
               if re.fullmatch(r"[0-9a-f]{32}\.woff2", p.name)})  # the names it gave them


def announce(current: list[Result], to_build: int, on_start, on_result) -> list[Result]:
    """Announce the work, then report the targets that are up to date."""
    on_start(to_build, len(current))
    for result in current:
        on_result(result)
    return current


def record(plan, built: list[Result], options: Options, blocked: list[Result] = (), complete: bool = True) -> None:
    """The manifest (each built entry with its inputs digest; blocked targets listed as
    failed), the cache, then the catalog page. The catalog is written even when nothing
    was built: its own template is not an input of any target, and index.html may be missing.
    A build stopped midway (Ctrl-C, or during the catalog) leaves the catalog to the next
    build, which it does not take for a no-op (incremental.remember, complete=False)."""
    from .catalog import write_catalog
    from .report import MANIFEST, read_manifest, update_manifest
    for result in built:
        result.inputs = plan.keys[result.target]
    results = list(blocked) + built
    with uninterrupted():  # Ctrl-C waits (milliseconds): the manifest must describe the PDFs on disk
        manifest = update_manifest(options.out_dir, results) if results else read_manifest(options.out_dir / MANIFEST)
        incremental.remember(plan, options.out_dir, complete=False)  # until the catalog is written
        fitcache.remember(plan.fit_keys, built)
    if complete:  # Ctrl-C may stop it (it takes seconds): the next build writes it
        write_catalog(options.out_dir, manifest, root=options.root, today=options.today)
        incremental.remember(plan, options.out_dir)
