"""Build targets on long-lived worker processes, or in this process for --jobs 1.

Each worker is forked from a forkserver that has already imported WeasyPrint,
textstat and the pipeline, so starting one costs a fork, not half a second of
imports. A worker keeps one Jinja environment, URL fetcher and FontConfiguration
(with WeasyPrint's caches) for its life, and is replaced after about
MAX_TASKS_PER_WORKER tasks (pools run in rounds) so that whatever memory a long
run accumulates is returned.

A target that runs longer than the time limit fails alone (TargetTimeout); a
worker that dies (a crash in a native library, out of memory) breaks the pool,
and the unfinished targets are built once more on a fresh pool before they fail.

Workers write nothing and ignore Ctrl-C (ctrl_c_blocked): each hands back the PDF it
made, and this process writes it (save) and records it. On Ctrl-C this process kills
its workers at once, so no PDF appears after the interrupt that the manifest does not
describe.

WeasyPrint stays out of the parent's imports until a result arrives, so a no-op
rebuild never pays for it.
"""

import ctypes
import hashlib
import logging
import os
import resource
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import forkserver, get_context, resource_tracker
from pathlib import Path

from .model import FAILED, Result

MAX_TASKS_PER_WORKER = 100
PRELOAD = ["handoutkit.workers", "handoutkit.warmup", "handoutkit.catalog", "handoutkit.target"]  # imported once, in the forkserver
FONTTOOLS_WARNING = "Using fontTools instead of HarfBuzz-Subset"
HARD_LIMIT_GRACE = 60  # s beyond the soft limit before a silent worker is killed


class TargetTimeout(BaseException):
    """The target ran past --timeout. A BaseException, so that no `except Exception`
    inside WeasyPrint or the pipeline can swallow it."""


@contextmanager
def time_limit(seconds: float | None):
    """Raise TargetTimeout in this thread after `seconds` (the main thread only:
    signals are delivered there; elsewhere the limit is not enforced)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TargetTimeout(f"took longer than the {seconds:g} s limit (--timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_limit(megabytes: int | None):
    """Cap this process's address space (RLIMIT_AS) while a target builds: past it an
    allocation fails (MemoryError in Python, a failed allocation in a native library)
    instead of the machine swapping. The cap counts the whole process, about 400 MB
    of it WeasyPrint, Pango and the fonts before any target."""
    if not megabytes or not hasattr(resource, "RLIMIT_AS"):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = megabytes * 2**20 if hard == resource.RLIM_INFINITY else min(megabytes * 2**20, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class LayoutHook:
    """Stands in for layout.lay_out (as Tools.lay_out): remembers the HTML it was last given (the final
    HTML, for --html), and lays out an HTML once for every variant that shares it
    (same HTML, same options), returning the same layout to each."""

    def __init__(self, lay_out, size: int = 4):
        self.lay_out, self.size = lay_out, size
        self.last_html, self.reused = "", 0
        self.layouts: OrderedDict = OrderedDict()

    def __call__(self, html, base_url, fetcher, fonts, *options, **named):
        self.last_html = html
        key = (hashlib.sha256(html.encode()).hexdigest(), str(base_url), repr(options), repr(sorted(named.items())))
        if key in self.layouts:
            self.reused += 1
            self.layouts.move_to_end(key)
            return self.layouts[key]
        layout = self.lay_out(html, base_url, fetcher, fonts, *options, **named)
        self.layouts[key] = layout
        while len(self.layouts) > self.size:
            self.layouts.popitem(last=False)
        return layout


# --- one worker ----------------------------------------------------------------------

@dataclass
class Worker:
    """What one process keeps between targets."""

    options: object
    project: object
    tools: object  # target.Tools, whose lay_out is the worker's LayoutHook
    tasks: int = 0

    @property
    def hook(self) -> LayoutHook:
        return self.tools.lay_out


@dataclass
class MemorySample:
    pid: int
    task: int        # tasks this worker had done
    rss_mb: float    # resident now (pages shared with the forkserver included)
    peak_mb: float   # highest resident so far
    private_mb: float = 0.0  # resident and this worker's own: what it really adds


@dataclass
class Outcome:
    results: list
    sample: MemorySample | None
    reused: int  # layouts reused by variants


WORKER: Worker | None = None


def make_worker(options, project) -> Worker:
    from .layout import lay_out  # WeasyPrint: already imported when forked from the forkserver
    from .target import make_tools
    quiet_fonttools_notice()
    return Worker(options, project, make_tools(project, LayoutHook(lay_out)))


def quiet_fonttools_notice() -> None:
    """Without HarfBuzz's subsetter WeasyPrint warns on every PDF; the build says it
    once (pipeline.SUBSETTER_NOTICE), so the warning must not fail each target."""
    logger = logging.getLogger("weasyprint")
    if not subsetter_available() and not any(getattr(f, "fonttools", False) for f in logger.filters):
        def drop(record):
            return FONTTOOLS_WARNING not in str(record.msg)
        drop.fonttools = True
        logger.addFilter(drop)


def start_worker(options, project) -> None:
    """Pool initializer: one environment, fetcher and FontConfiguration per worker."""
    global WORKER
    WORKER = make_worker(options, project)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def build_group(targets: list) -> Outcome:
    """A pool task: the targets that share content and paper, so variants that share
    a layout meet in the same worker."""
    before = WORKER.hook.reused
    results = [build_one(WORKER, target) for target in targets]
    WORKER.tasks += 1
    return Outcome(results, memory_sample(WORKER.tasks), WORKER.hook.reused - before)


def build_one(worker: Worker, target):
    """target.build_target within the time limit; then the HTML for --html."""
    from .target import build_target
    start = time.perf_counter()
    limit = worker.options.memory_limit
    try:
        with time_limit(worker.options.timeout), memory_limit(limit):
            result = build_target(target, worker.project, worker.tools, worker.options)
    except MemoryError:
        result = Result.failed(target, worker.project, [f"MemoryError: needed more than the {limit} MB memory "
                               "limit (--memory-limit): shorten the text or shrink its images"],
                               time.perf_counter() - start)
    except (TargetTimeout, Exception) as error:  # the last good PDF stays: it is written only at the end
        result = Result.failed(target, worker.project, [f"{type(error).__name__}: {error}"],
                               time.perf_counter() - start)
    if result.ok and worker.options.html:  # before the PDF: the PDF is written last (save)
        html = (worker.hook.last_html + reproduce_note(worker.project.root)).encode()
        result.files = {html_path(result.target): html, **result.files}
    return result


def html_path(target) -> str:
    """--html: the final HTML beside the PDF, for `weasyprint` to reproduce it."""
    return Path(target.relpath).with_suffix(".html").as_posix()


def reproduce_note(root: Path) -> str:
    return ("\n<!-- Reproduce with WeasyPrint, from the project folder:\n"
            "     FONTCONFIG_FILE=styles/fonts/fonts.conf python -m weasyprint --base-url . THIS.html OUT.pdf\n"
            f"     (project folder when built: {root}) -->\n")


def memory_sample(task: int) -> MemorySample:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        rss = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        rss = peak_kb / 1024
    # ru_maxrss is accounted lazily: never report a peak below what is resident now.
    return MemorySample(os.getpid(), task, round(rss, 1), round(max(rss, peak_kb / 1024), 1), private_memory())


def private_memory() -> float:
    """Private_Clean + Private_Dirty of this process, in MB (Linux; 0 elsewhere)."""
    try:
        lines = Path("/proc/self/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    kb = sum(int(line.split()[1]) for line in lines if line.startswith(("Private_Clean:", "Private_Dirty:")))
    return round(kb / 1024, 1)


def subsetter_available() -> bool:
    """Whether WeasyPrint can subset fonts with HarfBuzz (found as WeasyPrint finds it)."""
    try:
        subset = ctypes.CDLL("libharfbuzz-subset.so.0")
        harfbuzz = ctypes.CDLL("libharfbuzz.so.0")
        return bool(subset.hb_subset_or_fail) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
    except (OSError, AttributeError):
        return False


# --- the parent's side ---------------------------------------------------------------------

@dataclass
class BatchStats:
    """What the benchmark reports about a batch."""

    jobs: int = 0
    samples: list = field(default_factory=list)  # MemorySample per task
    reused: int = 0
    restarts: int = 0  # pools replaced after a worker died


def job_count(options, tasks: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(options.jobs or cores, tasks))


def start_forkserver() -> None:
    """Start the forkserver, which imports WeasyPrint, textstat and the pipeline once;
    workers forked from it start warm."""
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    resource_tracker.ensure_running()  # first: it unblocks SIGINT once it has started its own process
    with ctrl_c_blocked():
        forkserver.ensure_running()


@contextmanager
def ctrl_c_blocked():
    """The forkserver, and every worker forked from it, never sees Ctrl-C: SIGINT is
    blocked while it starts, and a blocked signal stays blocked across fork and exec.
    The terminal sends SIGINT to every process of the build; it is this process's to
    handle (run_pool kills the workers), and a Ctrl-C pressed meanwhile reaches it when
    the block ends. (Ignoring SIGINT instead would lose that Ctrl-C.)

    The block is set inside the try: pthread_sigmask sets the mask first, then runs the
    handler of a Ctrl-C that arrived just before, so its KeyboardInterrupt comes out of the
    very call that blocked SIGINT. Set before the try, the mask stayed blocked for good,
    and every later Ctrl-C of this thread was lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # reads the mask, changes nothing
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def stop_forkserver() -> None:
    """Ctrl-C: end the forkserver at once. It never sees SIGINT, and would otherwise live
    on for seconds if it was still importing WeasyPrint, until it noticed this process
    gone. (The next build, if any, starts a new one: forkserver.ensure_running.)"""
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)  # noqa: SLF001 (no public way)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for_forkserver() -> None:
    """Start the forkserver if need be and wait, interruptibly, until it has imported
    WeasyPrint (seconds): a process that does nothing is forked first. Then starting
    the workers, which Ctrl-C does not split (run_pool), takes milliseconds. (A worker
    still queued in the forkserver when Ctrl-C ends this process would start after it,
    find its pool gone and print a traceback.)"""
    start_forkserver()
    probe = get_context("forkserver").Process(target=int, name="handoutkit-probe")
    probe.start()
    probe.join()


def group_targets(targets: list, settings=None) -> list[list]:
    """Targets of one content and paper together (variants), dearest groups first so
    the last tasks to finish are short ones."""
    from .shards import expected_cost
    groups: dict = {}
    for target in targets:
        groups.setdefault((target.key, target.paper), []).append(target)
    return sorted(groups.values(), key=lambda g: -sum(expected_cost(t, settings) for t in g))


def build_all(targets: list, project, options, on_result, stats: BatchStats, results: list) -> list:
    """Build the targets on options.jobs workers (in this process for one). Each result
    is appended to results once its PDF is written: on Ctrl-C (KeyboardInterrupt) the
    caller knows what was built."""
    groups = group_targets(targets, project.settings)
    stats.jobs = job_count(options, len(groups))
    if stats.jobs == 1:
        return build_here(groups, project, options, on_result, results)
    size = stats.jobs * MAX_TASKS_PER_WORKER
    for start in range(0, len(groups), size):  # dearest first: each round ends on short tasks
        build_round(groups[start:start + size], project, options, stats, on_result, results)
    return results


def build_round(groups: list, project, options, stats: BatchStats, on_result, results: list) -> None:
    """One pool of fresh workers, each doing about MAX_TASKS_PER_WORKER tasks before it
    exits with whatever memory it gathered. (Not max_tasks_per_child: on Python 3.11 a
    pool using it stops replacing workers and hangs, CPython issue gh-115634.)"""
    for _ in range(2):  # a dead worker's targets get one more try, on a fresh pool
        groups = run_pool(groups, project, options, stats, on_result, results)
        if not groups:
            return
        stats.restarts += 1
    for target in (t for group in groups for t in group):
        died = ["the worker process building it died (a crash or out of memory)"]
        deliver(Result.failed(target, project, died), options, on_result, results)


def build_here(groups: list, project, options, on_result, results: list) -> list:
    """--jobs 1: every target in this process, the same way a worker builds them."""
    worker = make_worker(options, project)
    for target in (t for group in groups for t in group):
        deliver(build_one(worker, target), options, on_result, results)
    return results


def deliver(result, options, on_result, results: list) -> None:
    """Write a target's files, then record and report it, as one step that Ctrl-C
    does not split: every PDF written is in results, so in the manifest."""
    from .files import uninterrupted
    with uninterrupted():
        save(result, options)
        results.append(result)
        on_result(result)


def save(result, options) -> None:
    """Write what a target made: its HTML (--html), then its PDF, then its thumbnail,
    each atomically and never through a link in the output folder (outdir.py). A file
    that cannot be written (a full disk, a link) fails its target alone, its last good
    PDF kept; the thumbnail is only a picture: the catalog renders a missing one again."""
    files, thumbnail, result.files, result.thumbnail = result.files, result.thumbnail, {}, b""  # not kept all build
    if not result.ok or not save_files(result, files, options):
        return
    save_thumbnail(result, thumbnail, options)  # recorded before the build wrote anything (outdir.claim)
    drop_stale_html(result, options)


def drop_stale_html(result, options) -> None:
    """Without --html, an HTML file from an earlier --html build would no longer match the
    new PDF: it goes if the record names it, and only then. (With --html, the build recorded
    the file's name before writing it: outdir.claim.) The record is read only when there is
    such a file: not once per target of every build."""
    from .outdir import remove_stale
    html = html_path(result.target)
    if options.html or not os.path.lexists(options.out_dir / html):
        return
    try:
        remove_stale(options.out_dir, [html])
    except OSError:  # not deleted: the safe side
        pass


def save_files(result, files: dict, options) -> bool:
    """Write the target's HTML and PDF; False (the target failed) if one cannot be written."""
    from .files import WriteError
    from .outdir import UnsafeOutput, write_output
    try:
        for relpath, data in files.items():
            write_output(options.out_dir, relpath, data)
    except WriteError as error:
        result.status, result.problems = FAILED, [str(error)]
        return False
    except UnsafeOutput as error:
        result.status, result.problems = FAILED, [error.strerror]
        return False
    return True


def save_thumbnail(result, thumbnail: bytes, options) -> None:
    from .catalog import thumbnail_relpath
    from .files import WriteError
    from .outdir import UnsafeOutput, write_output
    try:
        write_output(options.out_dir, thumbnail_relpath(result.target.relpath), thumbnail)
    except (WriteError, UnsafeOutput):
        pass


def run_pool(groups: list, project, options, stats: BatchStats, on_result, results: list) -> list:
    """One pool over the groups; returns the groups a dead worker left unfinished."""
    from .files import uninterrupted
    wait_for_forkserver()
    limit = (options.timeout or 0) * max(len(g) for g in groups) + HARD_LIMIT_GRACE if options.timeout else None
    pool = ProcessPoolExecutor(stats.jobs, mp_context=get_context("forkserver"), initializer=start_worker,
                               initargs=(options, project))  # no process yet: submit starts them
    unfinished = []
    try:  # from the first submit: a Ctrl-C held back until the workers are known ends in kill_workers
        with uninterrupted():  # submit starts the workers: Ctrl-C waits until each is known, so killed
            futures = {pool.submit(build_group, group): group for group in groups}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=limit, return_when=FIRST_COMPLETED)
            if not done and not kill_workers(pool):  # past every soft limit: stuck in native code
                unfinished += [futures[f] for f in pending]  # no worker left to wait for
                break
            for future in done:
                collect(future, futures[future], project, options, stats, on_result, results, unfinished)
    except BaseException:  # Ctrl-C (KeyboardInterrupt): the workers stop now, not after their tasks
        kill_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return unfinished


def collect(future, group, project, options, stats: BatchStats, on_result, results: list, unfinished: list) -> None:
    try:
        outcome = future.result()
    except BrokenProcessPool:
        unfinished.append(group)
        return
    except Exception as error:  # the task itself failed (not a target): its targets fail, the rest go on
        outcome = Outcome([Result.failed(t, project, [f"{type(error).__name__}: {error}"]) for t in group], None, 0)
    if outcome.sample:
        stats.samples.append(outcome.sample)
    stats.reused += outcome.reused
    for result in outcome.results:
        deliver(result, options, on_result, results)


def kill_workers(pool: ProcessPoolExecutor) -> int:
    """End this pool's own worker processes (by pid); the pool breaks and its
    unfinished targets are retried once. Returns how many there were."""
    processes = [p for p in (pool._processes or {}).values() if p.is_alive()]  # noqa: SLF001 (no public way)
    for process in processes:
        process.kill()
    # A worker killed while it sent a result leaves half a message in the result pipe, and the
    # pool's thread waits for the rest for as long as a writer is open: this process's own
    # copy too. Closed, the read ends (EOF: the pool is broken), and shutdown does not hang.
    if pool._result_queue is not None:  # noqa: SLF001
        pool._result_queue._writer.close()  # noqa: SLF001
    return len(processes)
