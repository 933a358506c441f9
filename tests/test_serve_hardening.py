"""Hardening of the authors' preview (`build.py serve`) and of output into a closed pipe.

The preview's server runs in this process, on a free port, against a tiny output folder
(no build needed); requests are written by hand on raw sockets, so malformed ones reach it
as a browser or an attacker would send them. Its stderr is captured at the file descriptor.
"""

import io
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import write_project
from handoutkit import PROJECT_ROOT, cli
from handoutkit.serve import MAX_HANDLERS, make_server


@pytest.fixture
def site(tmp_path):
    """A served output folder: a page, a large PDF, hidden files, a folder without an index."""
    out = tmp_path / "dist"
    (out / "demo/en").mkdir(parents=True)
    (out / "index.html").write_text("<html><body>Catalog</body></html>", encoding="utf-8")
    with open(out / "demo/en/big.pdf", "wb") as big:  # 16 MiB of zeros read back, none written (sparse)
        big.write(b"%PDF")
        big.truncate(4 + 16 * 1024 * 1024)
    (out / ".handoutkit-inputs.json").write_text("{}", encoding="utf-8")
    (out / ".cache").mkdir()
    (out / ".cache/x").write_text("secret", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("not served", encoding="utf-8")
    (out / "link.txt").symlink_to(tmp_path / "outside.txt")
    return out


@pytest.fixture
def port(site):
    server = make_server(site, 0, {"version": 0})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def ask(port: int, raw: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send raw bytes; the status code and the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return int(response.split(b" ", 2)[1]), response


def get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    host = host or f"127.0.0.1:{port}"
    return ask(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())


class TestHost:
    def test_only_this_computers_names_are_answered(self, port, capfd):
        assert get(port, "/index.html")[0] == 200
        assert get(port, "/index.html", f"localhost:{port}")[0] == 200
        assert get(port, "/index.html", f"LOCALHOST:{port}")[0] == 200
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}",
                     "localhost", f"127.0.0.1:{port}.evil.example"):
            status, response = get(port, "/index.html", host)
            assert status == 400, host
            assert b"Catalog" not in response and len(response) < 2000
        assert capfd.readouterr().err == ""

    def test_a_request_without_one_host_is_refused(self, port):
        assert ask(port, b"GET /index.html HTTP/1.0\r\n\r\n")[0] == 400
        two = f"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n"
        assert ask(port, two.encode())[0] == 400


class TestPaths:
    def test_hidden_files_are_not_found(self, port, capfd):
        for path in ("/.handoutkit-inputs.json", "/.cache/x", "/.cache/", "/%2ecache/x", "/demo/../.cache/x"):
            status, response = get(port, path)
            assert status == 404, path
            assert b"secret" not in response and b"{}" not in response.split(b"\r\n\r\n", 1)[1]
        assert capfd.readouterr().err == ""

    def test_folders_are_never_listed(self, port):
        for path in ("/demo/", "/demo/en/", "/demo/en"):
            status, response = get(port, path)
            assert status == 404, path
            assert b"big.pdf" not in response

    def test_escapes_and_links_out_of_the_folder_are_not_found(self, port):
        for path in ("/../outside.txt", "/demo/%2e%2e/%2e%2e/outside.txt", "/link.txt", "//evil.example/"):
            status, response = get(port, path)
            assert status == 404, path
            assert b"not served" not in response

    def test_bad_requests_get_400_without_a_traceback(self, port, capfd):
        host = f"Host: 127.0.0.1:{port}\r\n"
        for raw, expected in ((f"GET /%00 HTTP/1.1\r\n{host}\r\n", 400),
                              (f"GET /index.html%00.pdf HTTP/1.1\r\n{host}\r\n", 400),
                              (f"GET http://evil.example/index.html HTTP/1.1\r\n{host}\r\n", 400),
                              ("GARBAGE\r\n\r\n", 400), ("GET /\x00 HTTP/1.1\r\n\r\n", 400),
                              ("GET / HTTP/9.9\r\n\r\n", 505)):
            status, response = ask(port, raw.encode())
            assert status == expected, raw
            assert len(response) < 2000
        assert get(port, "/index.html")[0] == 200  # and it goes on serving
        assert "Traceback" not in capfd.readouterr().err


class TestConnections:
    def test_a_client_that_leaves_mid_download_is_silent(self, port, capfd):
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(f"GET /demo/en/big.pdf HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            sock.recv(1024)  # the download has started
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()  # reset: the server's next write fails
        time.sleep(0.5)
        assert get(port, "/index.html")[0] == 200
        assert capfd.readouterr().err == ""

    def test_at_most_max_handlers_requests_are_answered_at_once(self, port):
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_HANDLERS)]
        try:
            time.sleep(0.3)  # each has a handler thread, waiting for its request line
            with pytest.raises(TimeoutError):
                get_with_timeout(port, 1.0)  # no thread left for it: it waits in the queue
            late = socket.create_connection(("127.0.0.1", port), timeout=10)
            late.sendall(f"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            silent.pop().close()  # one slot frees: the waiting requests are answered
            assert late.recv(12).startswith(b"HTTP/1.0 200")
            late.close()
        finally:
            for sock in silent:
                sock.close()


def get_with_timeout(port: int, timeout: float) -> int:
    return ask(port, f"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(), timeout)[0]


# --- output into a closed pipe ------------------------------------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("pipe") / "project")


class TestClosedPipe:
    @pytest.mark.parametrize("command", [["--list"], ["check"]])
    def test_a_closed_stdout_ends_quietly(self, project, command):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before anything is printed
        err = io.StringIO()
        with open(write_end, "w", encoding="utf-8") as out:
            assert cli.main([*command, "--root", project], out, err) == cli.CLOSED_PIPE
        assert err.getvalue() == ""

    def test_another_broken_pipe_is_still_an_error(self, project, monkeypatch):
        def broken(*args, **kwargs):
            raise BrokenPipeError(32, "Broken pipe")  # as from a worker's pipe; stdout is fine
        monkeypatch.setattr("handoutkit.project.load_project", broken)
        out, err = io.StringIO(), io.StringIO()
        assert cli.main(["--list", "--root", project], out, err) == 1
        assert "unexpected BrokenPipeError" in err.getvalue()

    def test_version_into_a_closed_pipe_ends_quietly(self):
        buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
        process = subprocess.Popen([sys.executable, "build.py", "--version"], cwd=PROJECT_ROOT, env=buffered,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # argparse prints the version into stdout's buffer and exits; the buffer is flushed
        # after the reader has gone (unbuffered, argparse itself ignores the error)
        process.stdout.close()
        assert process.stderr.read() == b""
        assert process.wait(timeout=60) == cli.CLOSED_PIPE

    def test_list_into_head_prints_one_line_and_no_error(self, project):
        completed = subprocess.run(
            f"'{sys.executable}' build.py --list --root '{project}' | head -1", shell=True,
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # each line written at once: head closes mid-list
        assert completed.stdout.count("\n") == 1 and completed.stdout.endswith(".pdf\n")
        assert completed.stderr == ""


class TestHostOption:
    """serve --host (issue 14): a container's preview listens on every address; the Host
    check still answers only this computer's names, and a named address's own name."""

    def ask(self, server, host_header):
        port = server.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(f"GET /index.html HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode())
            return conn.recv(100).split(b" ")[1]

    def test_every_address_answers_this_computers_names_only(self, tmp_path):
        (tmp_path / "index.html").write_text("<p>hi</p>")
        server = make_server(tmp_path, 0, {"version": 0}, "0.0.0.0")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            port = server.server_address[1]
            assert self.ask(server, f"localhost:{port}") == b"200"
            assert self.ask(server, f"127.0.0.1:{port}") == b"200"
            assert self.ask(server, f"0.0.0.0:{port}") == b"400"
            assert self.ask(server, f"evil.example:{port}") == b"400"
        finally:
            server.shutdown()
            server.server_close()

    def test_a_bad_host_is_a_usage_error(self):
        from handoutkit.serve import parse_args
        assert parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"
        with pytest.raises(SystemExit):
            parse_args(["--host", "evil host/x"])
