"""Command line: `python build.py [options]`."""

import argparse
import os
import select
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import PROJECT_ROOT, __version__
from .assets import find_project
from .discover import Selection
from .errors import ContentError, UsageError
from .files import WriteError
from .outdir import unwritable

DESCRIPTION = "Build print-ready PDF patient handouts into dist/<handout>/<lang>/."
REPEAT = " (repeatable; default: all)"
COMMANDS = """commands (the first word; options as above):
  build                    build what changed (the default: `build.py` alone builds)
  check                    validate all content, list stale translations (= --check)
  list                     print the targets (= --list)
  mark-translated LANG...  record that LANG's translation matches the source (= --mark-translated)
  new ID                   start a new handout in handouts/ID/ from a skeleton
  serve [--port N]         build, serve the catalog and rebuild on every saved change
  merge DIR... [--out DIR] join the outputs of --shard runs"""
# Commands that are another spelling of options: `check` is `--check`.
AS_OPTIONS = {"build": [], "check": ["--check"], "list": ["--list"]}


def parse_args(argv, prog: str = "build.py"):
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=COMMANDS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"handoutkit {__version__}")
    parser.add_argument("--handout", action="append", default=[], help="handout id" + REPEAT)
    parser.add_argument("--lang", action="append", default=[], help="language, BCP 47 tag" + REPEAT)
    parser.add_argument("--format", action="append", default=[],
                        help="card, brief, standard, booklet, or one of handoutkit.toml" + REPEAT)
    parser.add_argument("--paper", action="append", default=[], help="a4, letter, card, or one of handoutkit.toml" + REPEAT)
    parser.add_argument("--out", type=Path, help="output folder (default: dist/)")
    # The project: build.py's own folder; for `handoutkit` and `python -m handoutkit`, the current one.
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT if prog == "build.py" else find_project(Path.cwd()),
                        help="the project's folder (default: " + ("build.py's" if prog == "build.py" else
                                                                  "the nearest with handoutkit.toml or handouts/") + ")")
    parser.add_argument("--clinic", type=Path, metavar="FILE",
                        help="clinic profile (TOML): its name, logo and numbers on every copy; output in "
                             "dist/<clinic id>/ (default: handoutkit.toml [build] clinic)")
    flag = argparse.BooleanOptionalAction  # --no-...: not what handoutkit.toml [build] asks for
    parser.add_argument("--large-print", action=flag,
                        help="also build large-print variants (16 pt body) of the formats that have one")
    parser.add_argument("--fillable", action=flag, help="blanks become PDF form fields (-fillable.pdf)")
    parser.add_argument("--print-shop", action=flag, help="PDF/X-4 with 3 mm bleed and crop marks (-print.pdf)")
    parser.add_argument("--release", action="store_true",
                        help="refuse drafts and handouts past their review date")
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    parser.add_argument("--check", action="store_true",
                        help="validate all content and list stale translations, without rendering")
    parser.add_argument("--strict", action="store_true", help="stale translations are failures")
    parser.add_argument("--mark-translated", metavar="LANG", action="append", default=[],
                        help="record that LANG's translation is up to date with the source as it is now")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                        help="also print, per target, the checks it passed")
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only failures and their summary")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an unexpected error")
    add_batch_options(parser)
    return parser.parse_args(argv)


def add_batch_options(parser) -> None:
    """Speed and reports (pipeline.py, workers.py): none of these changes a PDF."""
    from .shards import parse_shard
    batch = parser.add_argument_group("batch builds",
                                      "Only targets whose inputs changed are built; `build.py merge DIR...` "
                                      "joins --shard outputs.")
    batch.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                       help="worker processes (default: one per CPU; 1 builds in this process)")
    batch.add_argument("--force", action="store_true", help="rebuild every target, even those up to date")
    batch.add_argument("--shard", type=parse_shard, metavar="K/N",
                       help="build only shard K of N (stable, balanced by expected cost), for CI matrices")
    batch.add_argument("--html", action="store_true",
                       help="also write each target's final HTML beside its PDF (reproducible with `weasyprint`)")
    batch.add_argument("--json", action="store_true", help="print a machine-readable summary (JSON) on stdout")
    batch.add_argument("--junit-xml", type=Path, metavar="FILE",
                       help="also write the results as JUnit XML, one test case per target (CI dashboards)")
    batch.add_argument("--timeout", type=seconds, default=300, metavar="SECONDS",
                       help="time limit per target; a target past it fails alone (default: 300)")
    batch.add_argument("--memory-limit", type=int, default=2048, metavar="MB",
                       help="address space a worker may use while it builds a target; a target "
                            "that needs more fails alone (default: 2048; 0: no limit)")


def as_options(argv: list[str]) -> list[str]:
    """A command word that is another spelling of options becomes them:
    `check` -> `--check`, `mark-translated de fr` -> `--mark-translated de --mark-translated fr`."""
    if argv[:1] == ["mark-translated"]:
        count = next((i for i, arg in enumerate(argv[1:]) if arg.startswith("-")), len(argv) - 1)
        langs, rest = argv[1:1 + count], argv[1 + count:]  # the words up to the first option
        return [word for lang in langs for word in ("--mark-translated", lang)] + rest
    return AS_OPTIONS[argv[0]] + argv[1:] if argv[:1] and argv[0] in AS_OPTIONS else argv


def console() -> int:
    """The `handoutkit` command (pyproject's console script)."""
    return command(prog="handoutkit")


def command(prog: str = "build.py") -> int:
    """build.py and the `handoutkit` command: main(), after which Ctrl-C is ignored. The run
    has said how it ended (its exit code, its one line); the interpreter's teardown that
    follows takes up to a second with WeasyPrint loaded, and a Ctrl-C during it ended in a
    traceback with exit 0, in a silent exit 0, or in death by SIGINT without the line.
    (Not in main: tests call main in their own process.)"""
    try:
        return main(prog=prog)
    except KeyboardInterrupt:  # the instant between main's own handler and here
        return interrupted(None, sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def pick(given: bool | None, default: bool) -> bool:
    """A --flag / --no-flag option: the command line's word, else the project file's."""
    return default if given is None else given


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (0 or more; 0: no limit)")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of processes (1 or more)")
    return int(text)


CLOSED_PIPE = 141  # what a shell reports for a program ended by SIGPIPE (128 + 13)


def main(argv=None, out=sys.stdout, err=sys.stderr, prog: str = "build.py") -> int:
    """Run the build; 0 = every target built and passed; 1 = a target failed, or the
    content has problems (the targets they touch fail, the others are built; nothing
    is built when a problem concerns every target); 2 = bad command line; 130 = Ctrl-C;
    141 = the reader of the output went away (`build.py --list | head -1`), which is not
    an error."""
    try:
        try:
            return run(argv, out, err, prog)
        finally:  # also after --version's exit: the last lines are written here, not at exit
            out.flush()
    except BrokenPipeError:
        if not reader_gone(out):
            raise
        # As the Python docs advise: the rest of the output, and the interpreter's last
        # flush of it, go to devnull, so no "Exception ignored ... BrokenPipeError" follows.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return CLOSED_PIPE
    except KeyboardInterrupt:  # before the build starts, or after it ended (run says how far a build got)
        return interrupted(None, err)
    except WriteError as error:  # --junit-xml on a full disk
        print(f"error: {error}", file=err)
        return 1


def reader_gone(out) -> bool:
    """Whether `out` is a pipe or socket whose reader has closed it (poll says POLLERR):
    a BrokenPipeError from anything else, such as a worker's pipe, stays an error."""
    try:
        poller = select.poll()
        poller.register(out.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # a StringIO, or a closed file: no pipe to lose
        return False


def run(argv, out, err, prog: str) -> int:
    argv = as_options(sys.argv[1:] if argv is None else list(map(str, argv)))
    if argv[:1] == ["new"]:
        from .scaffold import new_main
        return new_main(argv[1:], out, err, prog)
    if argv[:1] == ["merge"]:
        from .shards import merge_main
        return merge_main(argv[1:], out, err)
    if argv[:1] == ["serve"]:
        from .serve import main as serve_main
        return serve_main(argv[1:])
    from .options import Options  # later imports: keep --help fast, and a no-op build light

    from .settings import build_defaults

    args = parse_args(argv, prog)
    selection = Selection(*(tuple(v) for v in (args.handout, args.lang, args.format, args.paper)))
    root = args.root.resolve()
    default = build_defaults(root)  # handoutkit.toml [build]: what to build when the command line does not say
    clinic = args.clinic or (root / default.clinic if default.clinic else None)
    options = Options(root, args.out, selection, args.strict, clinic, pick(args.large_print, default.large_print),
                      pick(args.fillable, default.fillable), pick(args.print_shop, default.print_shop), args.release)
    options = replace(options, jobs=args.jobs, force=args.force, shard=args.shard, html=args.html,
                      timeout=args.timeout or None, memory_limit=args.memory_limit or None)
    reporter = None
    try:
        if args.mark_translated:
            return mark(options, args.mark_translated, out)
        if args.list:
            from .project import load_project
            from .shards import select_shard
            project = load_project(options)
            for target in select_shard(project.targets, options.shard, project.settings):
                print(target.relpath, file=out)
            return 0
        if args.check:
            return check(options, args.strict, out)
        if problem := unwritable(options.out_dir):
            print(f"error: {problem}", file=err)
            return 2
        from .pipeline import build  # imports WeasyPrint only if something is to be built
        from .progress import Reporter
        from .workers import BatchStats
        start, reporter, stats = time.perf_counter(), Reporter(args, out, err), BatchStats()
        results = build(options, reporter.show, reporter.begin, reporter.notice, stats,
                      on_problem=lambda line: reporter.say(f"error: {line}", err))
    except KeyboardInterrupt:  # Ctrl-C: the workers are stopped, what they finished is recorded
        return interrupted(reporter, err)
    except WriteError as error:  # a full disk: the file, not a traceback
        print(f"error: {error}", file=err)
        return 1
    except ContentError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=err)
        if isinstance(error, UsageError):
            return 2
        print(f"{len(error.problems)} problem(s) in the content; nothing was built.", file=err)
        return 1
    except Exception as error:  # a bug or a broken machine: one line, the traceback on request
        if args.debug or isinstance(error, BrokenPipeError) and reader_gone(out):
            raise  # a closed stdout ends quietly: main()
        print(f"error: unexpected {type(error).__name__}: {error} (run again with --debug for details)", file=err)
        return 1
    finally:
        if reporter:
            reporter.stop()  # a progress bar never outlives the build
    reporter.finish(results, time.perf_counter() - start, stats)
    if args.junit_xml:
        from .files import write_atomically
        from .report import junit_xml
        write_atomically(args.junit_xml, junit_xml(results, time.perf_counter() - start))
    return 0 if all(r.ok for r in results) else 1


def interrupted(reporter, err) -> int:
    """Ctrl-C: one line saying how far the build got; the forkserver ends too."""
    from .workers import stop_forkserver
    stop_forkserver()
    if reporter:
        reporter.stop()
    print(f"interrupted: {reporter.progress()}" if reporter else "interrupted", file=err)
    return 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped


def check(options, strict: bool, out) -> int:
    from .project import load_project
    """--check: everything is read and validated, nothing is rendered."""
    project = load_project(options)
    stale = {key: files for key, files in project.stale.items() if files}
    for (handout, lang, fmt), files in sorted(stale.items()):
        source = project.handouts[handout].source_lang
        print(f"stale: {handout}/{lang}/{fmt}.md (changed in {source}/: {', '.join(files)})", file=out)
    print(f"content ok: {len(project.targets)} targets, {len(stale)} stale translation(s)", file=out)
    return 1 if strict and stale else 0


def mark(options, langs, out) -> int:
    """--mark-translated LANG: record the source files' hashes in LANG's meta.toml."""
    from .project import load_project
    from .translations import mark_translated
    project = load_project(options)
    chosen = options.selection.handouts  # --handout: only those; none given: every handout
    for handout in (h for h in project.handouts.values() if not chosen or h.id in chosen):
        for lang in langs:
            if lang in handout.languages and lang != handout.source_lang:
                hashes = mark_translated(handout.path / handout.source_lang, handout.path / lang / "meta.toml",
                                         handout.control.version)
                print(f"{handout.id}/{lang}: marked up to date with {len(hashes)} source files", file=out)
    return 0

