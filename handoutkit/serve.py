"""Authors' preview: `python build.py serve [--port N] [--out DIR]`.

Builds once, serves the output folder on 127.0.0.1, and watches handouts/,
templates/ and styles/: a saved file inside handouts/<id>/<lang>/ rebuilds that
handout in that language, a change to the catalog's own template or stylesheet
rewrites only the catalog, and anything else rebuilds everything. The catalog
page, as served here (never the file on disk), carries a small script that asks
/__version every second and reloads when a rebuild has finished.

Only this computer's browser is answered: the Host header must name 127.0.0.1 or
localhost and the port (a web page cannot point its own name at 127.0.0.1 and read
the handouts: DNS rebinding). `--host` listens on another address (0.0.0.0 in a
container, whose port the host machine maps); its name, if it is one, is answered too. Hidden files, folder listings, paths out of the output
folder and malformed requests are refused with a status and a short body, never a
traceback; at most MAX_HANDLERS requests are answered at once.
"""

import argparse
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import PROJECT_ROOT
from .discover import Selection
from .errors import ContentError, UsageError
from .incremental import CATALOG_FILES

WATCHED = ("handouts", "templates", "styles")
POLL_SECONDS = 1.0
SETTLE_SECONDS = 0.2  # editors save in bursts (temp file, rename): wait for the last one
MAX_HANDLERS = 8  # requests answered at once; further connections wait in the listen queue
REQUEST_TIMEOUT = 10  # seconds a connection may stay silent before it is closed (and its slot freed)

# Injected before </body> of served HTML pages. The version it starts from is
# written in, so a rebuild that ends between loading and the first poll still reloads.
RELOAD_SCRIPT = """<script>
/* Added by `build.py serve`: reload when a rebuild finishes. */
(function () {
  var seen = %s;
  function poll() {
    fetch("/__version", {cache: "no-store"})
      .then(function (response) { return response.text(); })
      .then(function (version) { if (version !== seen) location.reload(); })
      .catch(function () { /* server stopped or restarting: keep trying */ })
      .then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
</script>
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="build.py serve",
                                     description="Serve the built handouts on 127.0.0.1 and rebuild on save.")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free port)")
    parser.add_argument("--host", default=LOCAL, type=host_name,
                        help=f"address to listen on (default: {LOCAL}; 0.0.0.0 in a container, to reach it "
                             "from the host machine through a mapped port)")
    parser.add_argument("--out", type=Path, help="output folder (default: dist/)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    root = args.root.resolve()
    out_dir = (args.out or root / "dist").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {"version": 0}
    try:  # listen first: a port in use fails at once, not after a build
        server = make_server(out_dir, args.port, state, args.host)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error} "
              "(try --port with another number, or --host with an address of this computer)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # Taken before the first build: a file saved while it runs is rebuilt after it.
        before = snapshot(root)
        rebuild(root, out_dir, None)
        say(f"Serving {out_dir} at http://{shown(args.host)}:{server.server_address[1]}/ - "
            f"watching {', '.join(f'{d}/' for d in WATCHED)}; press Ctrl-C to stop.")
        watch(root, out_dir, state, before)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    say("Stopped.")
    return 0


def stop_like_ctrl_c(signum, frame):
    """A terminated preview (kill, a test's terminate()) shuts down as Ctrl-C does."""
    raise KeyboardInterrupt


def say(line: str) -> None:
    print(line, flush=True)  # flushed: the author, or a test, reads it as it happens


# --- watching and rebuilding ------------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every watched file, by path relative to root."""
    files = {}
    for folder in WATCHED:
        for path in (root / folder).rglob("*") if (root / folder).is_dir() else ():
            if ignored(path.name):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # deleted while we looked: seen as gone next time
                continue
            if path.is_file():
                files[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return files


def ignored(name: str) -> bool:
    """Editors' swap, backup and lock files: saving them is not saving content."""
    return name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def plan_rebuild(changed: list[str]) -> list[Selection] | None:
    """What to rebuild for these changed files: one selection per handout and language
    touched, [] for the catalog alone, or None for everything."""
    selections = []
    for path in changed:
        parts = path.split("/")
        if path in CATALOG_FILES:
            continue
        if parts[0] == "handouts" and len(parts) >= 4:  # handouts/<id>/<lang>/...
            selection = Selection(handouts=(parts[1],), langs=(parts[2],))
            if selection not in selections:
                selections.append(selection)
        else:
            return None
    return selections


def watch(root: Path, out_dir: Path, state: dict, before: dict) -> None:
    """Poll the watched files every second; rebuild what changed since `before`."""
    while True:
        time.sleep(POLL_SECONDS)
        after = snapshot(root)
        if after == before:
            continue
        time.sleep(SETTLE_SECONDS)
        # Taken before building, so a file saved during the build is seen next time.
        after = snapshot(root)
        changed = changed_files(before, after)
        before = after
        say(f"changed: {', '.join(changed)}")
        plan = plan_rebuild(changed)
        if plan is None:
            rebuild(root, out_dir, None)
        elif not plan:
            rebuild_catalog(root, out_dir)
        for selection in plan or ():
            rebuild(root, out_dir, selection)
        state["version"] += 1


def rebuild(root: Path, out_dir: Path, selection: Selection | None) -> None:
    """Build a selection (None: everything), print what happened, never raise:
    the preview keeps serving the last good files until the author fixes the content."""
    from .pipeline import Options, build  # imports WeasyPrint: keep --help fast
    from .report import describe, summary

    what = f"{selection.handouts[0]}/{selection.langs[0]}" if selection else "everything"
    say(f"building {what} ...")
    start = time.perf_counter()
    try:
        try:
            results = build(Options(root, out_dir, selection or Selection()), on_result=lambda r: say(describe(r)))
        except ContentError as error:
            if selection and isinstance(error, UsageError):
                # A folder that is not (yet) a known handout or language: build everything,
                # which reports whatever is wrong with it.
                return rebuild(root, out_dir, None)
            for problem in error.problems:
                say(f"error: {problem}")
            say("nothing was built; fix the content and save again.")
            return
        say(summary(results, time.perf_counter() - start))  # the build has written the catalog
    except Exception:  # a bug must not stop the preview: show it and keep watching
        say(traceback.format_exc().rstrip())


def rebuild_catalog(root: Path, out_dir: Path) -> None:
    # pipeline.build() may already write the catalog; writing it again is cheap
    # (thumbnails newer than their PDF are kept) and covers a catalog-only change.
    from .catalog import write_catalog
    from .report import MANIFEST, read_manifest

    try:
        write_catalog(out_dir, read_manifest(out_dir / MANIFEST), root=root)
    except Exception:
        say(traceback.format_exc().rstrip())


# --- serving ---------------------------------------------------------------------------

LOCAL = "127.0.0.1"
ANY = ("0.0.0.0", "::")  # every address: the browser names the machine as it reaches it


def host_name(text: str) -> str:
    """--host: an IP address or a host name, nothing else (it is matched against Host headers)."""
    if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not an address or host name (e.g. 0.0.0.0)")
    return text.lower()


def shown(host: str) -> str:
    """The address to print for the author: one a browser on this machine can open."""
    return LOCAL if host in ANY else host


def make_server(out_dir: Path, port: int, state: dict, host: str = LOCAL) -> "PreviewServer":
    """The preview's server on host:port (0: any free port), listening but not yet serving."""
    server_class = PreviewServer6 if ":" in host else PreviewServer
    return server_class((host, port), partial(Handler, state=state, directory=str(out_dir)))


class PreviewServer(ThreadingHTTPServer):
    """A thread per request, at most MAX_HANDLERS at once; a client that went away is not an error."""

    def __init__(self, address, handler):
        self.slots = threading.BoundedSemaphore(MAX_HANDLERS)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        # Waits here, in the accepting thread, for a free slot: a flood of connections
        # queues in the kernel instead of starting a thread each.
        self.slots.acquire()
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def answered_hosts(self) -> set[str]:
        """The Host header values this server answers: this computer's names and, if it
        listens on one named address, that name."""
        port = self.server_address[1]
        names = {LOCAL, "localhost"} | ({self.server_address[0]} if self.server_address[0] not in ANY else set())
        return {f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names}

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # a reload or a closed tab mid-download: nothing to report
        # A bug in answering one request: one line, and the preview goes on.
        print(f"serve: error answering a request: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


class PreviewServer6(PreviewServer):
    """The same, listening on an IPv6 address (--host ::1, --host ::)."""

    address_family = socket.AF_INET6


class Handler(SimpleHTTPRequestHandler):
    """Static files from the output folder, never cached; /__version; and the reload
    script added to HTML pages on their way out."""

    timeout = REQUEST_TIMEOUT
    # An error answers with a status line even when the request line is garbage (which
    # http.server otherwise takes for HTTP/0.9, and answers with a bare body).
    default_request_version = "HTTP/1.0"

    def __init__(self, *args, state: dict, **kwargs):
        self.state = state
        super().__init__(*args, **kwargs)

    def parse_request(self) -> bool:
        """The request line and headers, then the refusals: before any file is looked at."""
        if not super().parse_request():
            return False  # a malformed request: already answered 400
        if refusal := self.refusal():
            status, explain = refusal
            self.close_connection = True
            self.send_error(status, explain=explain)
            return False
        return True

    def refusal(self) -> tuple[HTTPStatus, str] | None:
        """Why this request gets no answer but an error, if it does not."""
        hosts = [host.strip().lower() for host in self.headers.get_all("Host", [])]
        answered = self.server.answered_hosts()
        if len(hosts) != 1 or hosts[0] not in answered:
            names = " and ".join(f"http://{host}/" for host in sorted(answered))
            return HTTPStatus.BAD_REQUEST, f"This preview answers only {names}"  # send_error adds the full stop
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith("/") or path.startswith("//"):
            return HTTPStatus.BAD_REQUEST, "The request must ask for a path such as /index.html"
        path = unquote(path)
        if any(ord(char) < 32 or char == "\x7f" for char in path):
            return HTTPStatus.BAD_REQUEST, "The path has a control character"
        if any(word.startswith(".") for word in path.split("/")):  # hidden files, "." and ".."
            return HTTPStatus.NOT_FOUND, None
        return None if self.servable(Path(self.translate_path(self.path))) else (HTTPStatus.NOT_FOUND, None)

    def servable(self, path: Path) -> bool:
        """A file, or a folder with an index page, whose real path is inside the output folder
        (the preview never lists a folder, nor follows a link out of it)."""
        folder = os.path.realpath(self.directory)
        if os.path.commonpath([os.path.realpath(path), folder]) != folder:
            return False
        return not path.is_dir() or any((path / index).is_file() for index in ("index.html", "index.htm"))

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND)  # never a listing (servable() refuses these first)
        return None

    def do_GET(self):
        url_path = urlsplit(self.path).path
        if url_path == "/__version":
            return self.send_text(str(self.state["version"]), "text/plain; charset=utf-8")
        path = Path(self.translate_path(self.path))
        if url_path.endswith("/"):
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            html = path.read_text(encoding="utf-8")
            script = RELOAD_SCRIPT % json.dumps(str(self.state["version"]))
            html = html.replace("</body>", script + "</body>", 1) if "</body>" in html else html + script
            return self.send_text(html, "text/html; charset=utf-8")
        return super().do_GET()

    def send_text(self, text: str, content_type: str) -> None:
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self):
        # A rebuilt PDF or thumbnail must show on reload, not a cached copy.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        pass  # the page polls every second: logging each request would bury the build output


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
