"""Command line: `python build.py [options]`."""

import argparse
import sys
import time
from pathlib import Path

from . import PROJECT_ROOT
from .discover import Selection
from .errors import ContentError, UsageError

DESCRIPTION = "Build print-ready PDF patient handouts into dist/<handout>/<lang>/."
REPEAT = " (repeatable; default: all)"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="build.py", description=DESCRIPTION)
    parser.add_argument("--handout", action="append", default=[], help="handout id" + REPEAT)
    parser.add_argument("--lang", action="append", default=[], help="language, BCP 47 tag" + REPEAT)
    parser.add_argument("--format", action="append", default=[], help="card, brief, standard, booklet" + REPEAT)
    parser.add_argument("--paper", action="append", default=[], help="a4, letter, card" + REPEAT)
    parser.add_argument("--out", type=Path, help="output folder (default: dist/)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print, per target, the checks it passed")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and their summary")
    return parser.parse_args(argv)


def main(argv=None, out=sys.stdout, err=sys.stderr) -> int:
    """Run the build; 0 = every target built and passed; 1 = a target failed, or the
    content has problems (then nothing was written); 2 = bad command line."""
    from .pipeline import Options, build, load_project  # imports WeasyPrint: keep --help fast

    args = parse_args(argv)
    selection = Selection(*(tuple(v) for v in (args.handout, args.lang, args.format, args.paper)))
    options = Options(args.root.resolve(), args.out, selection)
    try:
        if args.list:
            for target in load_project(options).targets:
                print(target.relpath, file=out)
            return 0
        start = time.perf_counter()
        results = build(options, on_result=lambda r: show_result(r, args, out, err))
    except ContentError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=err)
        if isinstance(error, UsageError):
            return 2
        print(f"{len(error.problems)} problem(s) in the content; nothing was built.", file=err)
        return 1
    from .report import summary
    if not args.quiet or any(not r.ok for r in results):
        print(summary(results, time.perf_counter() - start), file=out)
    return 0 if all(r.ok for r in results) else 1


def show_result(result, args, out, err) -> None:
    from .report import describe, describe_checks
    if not result.ok:
        print(describe(result), file=err)
    elif not args.quiet:
        print(describe(result), file=out)
        if args.verbose:
            print(describe_checks(result), file=out)
