"""Lay out HTML into PDF bytes with WeasyPrint, locked down to the project's assets.

WeasyPrint logs a missing image or an ignored CSS rule and carries on; this
stage collects those messages so the checks can fail the target on them.
"""

import logging
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher


@dataclass(frozen=True)
class Layout:
    pdf: bytes
    pages: int
    messages: list[str]  # WeasyPrint's warnings and errors, in order


class AssetFetcher(URLFetcher):
    """Fetch only files inside the allowed folders: no network, no other file."""

    def __init__(self, roots):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=5)
        self.roots = [Path(r).resolve() for r in roots]

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                raise ValueError(f"blocked {url}: only files in {', '.join(map(str, self.roots))} may be loaded")
        return super().fetch(url, headers)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def collect_weasyprint_log():
    """Gather WeasyPrint's warnings and errors instead of printing them."""
    logger, handler = logging.getLogger("weasyprint"), _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def lay_out(html: str, base_url: Path, fetcher: AssetFetcher, fonts: FontConfiguration) -> Layout:
    """Render the HTML and write it to PDF bytes (nothing touches the disk)."""
    with collect_weasyprint_log() as messages:
        document = HTML(string=html, base_url=f"{base_url.resolve().as_uri()}/", url_fetcher=fetcher).render(
            font_config=fonts)
        pdf = document.write_pdf()
    return Layout(pdf, len(document.pages), list(messages))


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data in one step: a failed build never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
