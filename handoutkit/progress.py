"""What a build prints: a progress bar on a terminal, one plain line per target
elsewhere (CI logs), a summary at the end, or with --json one JSON document.

rich is imported only for a terminal, so logs and --json never need it.
"""

import json

from .report import describe, describe_checks, summary

STATUS = {"built": "built", "up-to-date": "up to date", "failed": "failed", "blocked": "failed"}


def is_terminal(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def status_of(result) -> str:
    return STATUS[result.status]


def counts(results) -> dict[str, int]:
    found = [status_of(r) for r in results]
    return {name: found.count(name) for name in ("built", "up to date", "failed")}


def json_summary(results, seconds: float, stats=None) -> dict:
    """--json: the counts, the time, the workers, and one record per target."""
    total = counts(results)
    return {
        "built": total["built"], "up_to_date": total["up to date"], "failed": total["failed"],
        "seconds": round(seconds, 3), "jobs": stats.jobs if stats else None,
        "workers": worker_memory(stats.samples if stats else []),
        "layouts_reused": stats.reused if stats else 0,
        "layouts": sum(r.layouts for r in results),
        "targets": [{"path": r.target.relpath, "status": r.status, "layouts": r.layouts,
                     "seconds": round(r.seconds, 3), "pages": r.pages, "bytes": r.size,
                     "sha256": r.sha256, "readability": r.readability, "problems": list(r.problems)}
                    for r in results],
    }


def worker_memory(samples) -> list[dict]:
    """Resident memory of each worker process at its first and last task, and its peak:
    flat when a long run leaks nothing."""
    by_pid: dict = {}
    for sample in samples:
        by_pid.setdefault(sample.pid, []).append(sample)
    return [{"pid": pid, "tasks": len(s), "first_rss_mb": s[0].rss_mb, "middle_rss_mb": s[len(s) // 2].rss_mb,
             "last_rss_mb": s[-1].rss_mb, "peak_mb": max(x.peak_mb for x in s),
             "last_private_mb": s[-1].private_mb} for pid, s in by_pid.items()]


class Reporter:
    """Passed to the build as on_start, on_result and on_notice."""

    def __init__(self, args, out, err):
        self.out, self.err = out, err
        self.quiet, self.verbose, self.json = args.quiet, args.verbose, args.json
        self.terminal = is_terminal(out) and not args.json
        self.bar = self.task = None
        self.to_build, self.built = None, 0  # for the line on Ctrl-C

    def begin(self, to_build: int, up_to_date: int) -> None:
        self.to_build = to_build
        if self.terminal and to_build:
            self.bar = make_bar(self.err)
            self.bar.start()
            self.task = self.bar.add_task(f"building ({up_to_date} up to date)", total=to_build)

    def show(self, result) -> None:
        self.built += result.status == "built"
        if self.bar and not result.up_to_date:
            self.bar.advance(self.task)
        if not result.ok:
            self.say(describe(result), self.err)
        elif self.verbose or not (self.quiet or self.json or self.bar or result.up_to_date):
            self.say(describe(result), self.out)
            if self.verbose and not result.up_to_date:
                self.say(describe_checks(result), self.out)

    def progress(self) -> str:
        """How far an interrupted build got: its PDFs and the manifest are on disk."""
        if not self.to_build:
            return "nothing was built"
        kept = "their PDFs and the manifest are saved" if self.built else "the last good PDFs are kept"
        return f"{self.built} of {self.to_build} targets built; {kept}"

    def notice(self, text: str) -> None:
        self.say(f"warning: {text}", self.err)

    def say(self, line: str, stream) -> None:
        if self.bar:  # above the bar, which stays at the bottom
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=stream)

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()
            self.bar = None

    def finish(self, results, seconds: float, stats=None) -> None:
        self.stop()
        if self.json:
            print(json.dumps(json_summary(results, seconds, stats), indent=2), file=self.out)
        elif self.quiet and all(r.ok for r in results):
            return
        elif self.terminal:
            print_table(results, seconds, self.out)
        else:
            print(summary(results, seconds), file=self.out)


def make_bar(stream):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(file=stream), transient=True)


def print_table(results, seconds: float, stream) -> None:
    """The summary as a table, then the failed targets and warnings."""
    from rich.console import Console
    from rich.table import Table

    total = counts(results)
    table = Table("built", "up to date", "failed", "time", title="handouts")
    table.add_row(str(total["built"]), str(total["up to date"]),
                  f"[red]{total['failed']}[/red]" if total["failed"] else "0", f"{seconds:.1f} s")
    console = Console(file=stream)
    console.print(table)
    for line in summary(results, seconds).splitlines()[1:]:
        console.print(line, markup=False, highlight=False)
