"""Benchmark: `python -m handoutkit.bench` prints how fast batch builds are.

Two matrices, each copied into a temporary folder (the repository is never
written to): the repository's own handouts, and a synthetic matrix of at least
500 targets (copies of the repository's handout under many ids). For each:

- a cold full build with --jobs 1 and with every core (the command line, timed
  from outside, start-up included), with an empty fit cache (fitcache.py), and a
  build into an empty output folder with the fit cache the previous build left;
- WeasyPrint alone: one warm process laying out each final HTML once, with the
  project's fonts and PDF variant; divided by the cores, the floor no builder can beat;
- the naive loop over the same final HTML: one `python -m weasyprint` process per
  file, as a Makefile would run it (on a sample, extrapolated, when there are many);
- a no-op rebuild, a rebuild after one content file changed, and after one shared
  stylesheet changed;
- the builder's own floor: the in-process time of every target (render, lay out,
  check, audit, write), added up in the --jobs 1 build and divided by the cores;
- WeasyPrint layouts per target (shrink-to-fit tries);
- the resident memory of each worker over the all-cores build.

It takes a while (the synthetic --jobs 1 build alone is minutes): run it by hand,
not in CI. The figures it printed on the project's machine are in docs/benchmark.md.
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import PROJECT_ROOT
from .incremental import builder_version

COPIED = ("templates", "styles", "handouts")
SETTINGS = "handoutkit.toml"  # the project's own formats (the daily log's), where it has one
BUILD: list[str] = []  # the command line of the builder's snapshot (snapshot_code)


@dataclass
class Run:
    seconds: float
    summary: dict


@dataclass
class Figures:
    """Everything measured on one matrix."""

    name: str
    targets: int = 0
    cores: int = 1
    runs: dict = field(default_factory=dict)  # label -> Run
    naive: float = 0.0
    naive_sample: int = 0
    floor: float = 0.0
    alone: float = 0.0  # WeasyPrint alone, one warm process, every final HTML once (s)


# --- the matrices ------------------------------------------------------------------

def snapshot_code(folder: Path) -> None:
    """Run a copy of the builder: an edit to the working tree during the benchmark
    (its code is an input of every target) must not turn a no-op into a full build."""
    folder.mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "build.py", folder / "build.py")
    shutil.copytree(PROJECT_ROOT / "handoutkit", folder / "handoutkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "styles" / "fonts", folder / "styles" / "fonts")  # FONTCONFIG_FILE
    BUILD[:] = [sys.executable, str(folder / "build.py")]


def copy_repository(folder: Path) -> Path:
    """The repository's templates, styles and handouts, as they are now."""
    for name in COPIED:
        shutil.copytree(PROJECT_ROOT / name, folder / name)
    copy_settings(folder)
    return folder


def copy_settings(folder: Path) -> None:
    if (PROJECT_ROOT / SETTINGS).is_file():
        shutil.copy2(PROJECT_ROOT / SETTINGS, folder / SETTINGS)


def make_synthetic(folder: Path, targets: int, langs: tuple[str, ...]) -> Path:
    """Copies of the repository's first handout (the given languages) under new ids,
    until there are at least `targets` targets."""
    for name in COPIED[:2]:
        shutil.copytree(PROJECT_ROOT / name, folder / name)
    source = sorted((PROJECT_ROOT / "handouts").glob("*/handout.toml"))[0].parent
    per_copy = count_targets(copy_handout(source, folder / "handouts" / "synthetic-000", langs))
    for number in range(1, math.ceil(targets / per_copy)):
        copy_handout(source, folder / "handouts" / f"synthetic-{number:03d}", langs)
    return folder


def copy_handout(source: Path, destination: Path, langs: tuple[str, ...]) -> Path:
    destination.mkdir(parents=True)
    toml = (source / "handout.toml").read_text(encoding="utf-8")
    toml = re.sub(r'^id = ".*"$', f'id = "{destination.name}"', toml, count=1, flags=re.M)
    (destination / "handout.toml").write_text(toml, encoding="utf-8")
    for lang in langs:
        shutil.copytree(source / lang, destination / lang)
    return destination.parent.parent


def count_targets(root: Path) -> int:
    listed = subprocess.run(BUILD + ["--root", str(root), "--list"], capture_output=True, text=True, check=True)
    return len(listed.stdout.split())


# --- measuring ------------------------------------------------------------------------

def build(root: Path, out: Path, *options: str, fit_cache: Path | None = None) -> Run:
    """The command line, timed from outside, with its --json summary. Each matrix has
    its own fit cache (fitcache.py), empty at first: the user's is never read."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user runs it
    environment["HANDOUTKIT_CACHE"] = str(fit_cache or out.parent / "fit-cache")
    start = time.perf_counter()
    completed = subprocess.run(BUILD + ["--root", str(root), "--out", str(out), "--json", *options],
                               capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - start
    if completed.returncode not in (0, 1) or not completed.stdout.strip():  # 1 with no summary: bad content
        raise RuntimeError(completed.stderr)
    return Run(seconds, json.loads(completed.stdout))


def naive_loop(root: Path, out: Path, sample: int) -> tuple[float, int]:
    """One `python -m weasyprint` per HTML file: the total time, extrapolated from an
    evenly spaced sample when there are more files than `sample`."""
    files = final_html(out)
    chosen = files[::max(1, math.ceil(len(files) / sample))]
    environment = {**os.environ, "FONTCONFIG_FILE": str(root / "styles" / "fonts" / "fonts.conf")}
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        for number, html in enumerate(chosen):
            subprocess.run([sys.executable, "-m", "weasyprint", "--base-url", f"{root}/", "--pdf-variant", "pdf/ua-1",
                            str(html), f"{scratch}/{number}.pdf"], env=environment, capture_output=True, check=True)
        seconds = time.perf_counter() - start
    return seconds * len(files) / max(1, len(chosen)), len(chosen)


def final_html(out: Path) -> list[Path]:
    """The final HTML of every target (--html writes it beside the PDF), found from the
    manifest: not the catalog's pages (index.html and one per language), which are web
    pages, not handouts; counted, they made WeasyPrint alone seem 8 times slower."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return sorted(out / Path(entry["path"]).with_suffix(".html") for entry in manifest["targets"])


def weasyprint_alone(root: Path, out: Path) -> float:
    """Seconds for one warm process to lay out and write every final HTML once with
    WeasyPrint, the project's fonts (FONTCONFIG_FILE, set when handoutkit is
    imported) and PDF/UA-1, as the builder writes them: what no builder can beat."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    files = final_html(out)
    fonts, images = FontConfiguration(), {}

    def lay_out(path: Path) -> None:
        HTML(filename=str(path), base_url=f"{root}/").write_pdf(
            pdf_variant="pdf/ua-1", pdf_identifier=True, font_config=fonts, cache=images)

    lay_out(files[0])  # warm: fonts registered, images decoded, as in a long-lived worker
    start = time.perf_counter()
    for path in files:
        lay_out(path)
    return time.perf_counter() - start


def touch_content(root: Path) -> Path:
    """One Markdown file gains a trailing newline: new bytes, the same handout. A
    translation's file if there is one (an English file is the source of the others)."""
    files = sorted(root.glob("handouts/*/*/brief.md"))
    path = next((p for p in files if p.parent.name != "en"), files[0])
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    return path


def touch_style(root: Path) -> Path:
    path = root / "styles" / "base.css"
    path.write_text(path.read_text(encoding="utf-8") + "\n/* benchmark */\n", encoding="utf-8")
    return path


def measure(name: str, root: Path, scratch: Path, cores: int, sample: int) -> Figures:
    figures = Figures(name, cores=cores)
    say(f"{name}: cold build, --jobs 1")
    figures.runs["jobs1"] = build(root, scratch / "one", "--jobs", "1", fit_cache=scratch / "fit-one")
    figures.targets = len(figures.runs["jobs1"].summary["targets"])
    figures.floor = sum(t["seconds"] for t in figures.runs["jobs1"].summary["targets"]) / cores
    say(f"{name}: cold build, --jobs {cores}")
    figures.runs["all"] = build(root, scratch / "all", "--jobs", str(cores), "--html")
    say(f"{name}: cold output folder, warm fit cache, --jobs {cores}")
    figures.runs["fitted"] = build(root, scratch / "fitted", "--jobs", str(cores), "--html",
                                   fit_cache=scratch / "fit-cache")
    say(f"{name}: WeasyPrint alone")
    figures.alone = weasyprint_alone(root, scratch / "all")
    say(f"{name}: naive loop")
    figures.naive, figures.naive_sample = naive_loop(root, scratch / "all", sample)
    for label, change in (("noop", None), ("content", touch_content), ("style", touch_style)):
        say(f"{name}: rebuild ({label})")
        changed = change(root) if change else None
        figures.runs[label] = build(root, scratch / "all", "--jobs", str(cores), "--html")
        figures.runs[label].summary["changed"] = str(changed.relative_to(root)) if changed else ""
    return figures


def say(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


# --- reporting ------------------------------------------------------------------------------

def machine() -> list[str]:
    versions = builder_version()
    cpu = next((line.split(":", 1)[1].strip() for line in read_lines("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return [f"- cores: {usable_cores()} ({os.cpu_count()} CPUs, {cpu})",
            f"- load average when started: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (a shared machine)",
            f"- Python {versions['python']}, WeasyPrint {versions['weasyprint']}, pydyf {versions['pydyf']}, "
            f"Pango {versions['pango']}, HarfBuzz {versions['harfbuzz']}, {platform.platform()}"]


def read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def rebuilt(run: Run) -> str:
    return f"{run.summary['built'] + run.summary['failed']} of {len(run.summary['targets'])} targets"


def memory(run: Run) -> str:
    """Peak resident memory of any worker; its own (private) part; and the growth from
    the first task to the middle one (caches filling) and from the middle to the last."""
    workers = run.summary.get("workers") or []
    if not workers:
        return "-"
    peak, private = max(w["peak_mb"] for w in workers), max(w["last_private_mb"] for w in workers)
    warm = max(w["middle_rss_mb"] - w["first_rss_mb"] for w in workers)
    late = max(w["last_rss_mb"] - w["middle_rss_mb"] for w in workers)
    tasks = max(w["tasks"] for w in workers)
    return (f"peak {peak:.0f} MB resident ({private:.0f} MB private); first to middle task {warm:+.0f} MB, "
            f"middle to last {late:+.0f} MB ({len(workers)} workers, up to {tasks} tasks each)")


def rows(f: Figures) -> list[tuple[str, str]]:
    runs, all_cores = f.runs, f.runs["all"].seconds
    sample = "all files" if f.naive_sample >= f.targets else f"extrapolated from {f.naive_sample} files"
    return [
        ("targets", str(f.targets)),
        ("cold build, --jobs 1", f"{runs['jobs1'].seconds:.1f} s"),
        (f"cold build, --jobs {f.cores} (all cores)", f"{all_cores:.1f} s"),
        ("naive loop (one `weasyprint` per file)", f"{f.naive:.1f} s ({sample})"),
        ("cold output folder, warm fit cache, all cores", f"{runs['fitted'].seconds:.1f} s"),
        ("WeasyPrint alone (one warm process, each HTML once)", f"{f.alone:.1f} s"),
        ("floor: WeasyPrint alone / cores", f"{f.alone / f.cores:.1f} s"),
        ("builder's in-process time / cores", f"{f.floor:.1f} s"),
        ("layouts per target: cold / warm fit cache",
         f"{layouts(runs['all'], f):.2f} / {layouts(runs['fitted'], f):.2f}"),
        ("no-op rebuild", f"{runs['noop'].seconds:.2f} s ({rebuilt(runs['noop'])})"),
        ("rebuild after one content file changed", f"{runs['content'].seconds:.1f} s ({rebuilt(runs['content'])})"),
        ("rebuild after one shared style changed", f"{runs['style'].seconds:.1f} s ({rebuilt(runs['style'])})"),
        ("memory per worker (all-cores build)", memory(runs["all"])),
        ("failed targets (content over its page limit)", str(runs["jobs1"].summary["failed"])),
        ("**naive loop / all cores**", f"**{f.naive / all_cores:.1f}x** (goal: 15x or more)"),
        ("**all cores / WeasyPrint-alone floor**", f"**{all_cores / (f.alone / f.cores):.2f}x** (goal: 1.25x or less)"),
        ("**warm fit cache, all cores / WeasyPrint-alone floor**",
         f"**{runs['fitted'].seconds / (f.alone / f.cores):.2f}x**"),
        ("all cores / builder's in-process floor", f"{all_cores / f.floor:.2f}x"),
        ("--jobs 1 / all cores", f"{runs['jobs1'].seconds / all_cores:.2f}x"),
        ("naive loop per file", f"{f.naive / f.targets:.2f} s"),
        ("all cores per target", f"{all_cores / f.targets:.3f} s"),
    ]


def layouts(run: Run, f: Figures) -> float:
    return run.summary.get("layouts", 0) / max(1, f.targets)


def table(figures: list[Figures]) -> str:
    header = "| measurement | " + " | ".join(f.name for f in figures) + " |"
    lines = [header, "|---" * (len(figures) + 1) + "|"]
    for number, (label, _) in enumerate(rows(figures[0])):
        lines.append(f"| {label} | " + " | ".join(rows(f)[number][1] for f in figures) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoutkit.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=500, help="size of the synthetic matrix (default 500)")
    parser.add_argument("--langs", default="en", help="languages of the synthetic handouts (default: en)")
    parser.add_argument("--sample", type=int, default=30,
                        help="files of the synthetic matrix the naive loop runs before extrapolating")
    parser.add_argument("--only", choices=("repo", "synthetic"), help="measure one matrix only")
    args = parser.parse_args(argv)
    cores, lines = usable_cores(), machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="handoutkit-bench-") as scratch:
        scratch = Path(scratch)
        snapshot_code(scratch / "code")
        if args.only != "synthetic":
            root = copy_repository(scratch / "repo" / "project")
            results.append(measure("repository", root, scratch / "repo", cores, 10**6))  # every file
        if args.only != "repo":
            root = make_synthetic(scratch / "synthetic" / "project", args.targets, tuple(args.langs.split(",")))
            results.append(measure("synthetic", root, scratch / "synthetic", cores, args.sample))
    print("\n".join(["Machine:", *lines, "", table(results)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
