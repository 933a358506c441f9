"""The first module the workers' forkserver imports (workers.PRELOAD): from here on
the forkserver, and every worker it forks, ignores Ctrl-C (SIGINT), which the
terminal sends to every process of the build. Ctrl-C is the main process's to
handle: it records what was built, then kills its workers (workers.run_pool). So a
Ctrl-C while WeasyPrint is still loading prints no traceback from here, and a worker
is never stopped halfway by the terminal.

Never imported by the main process."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
