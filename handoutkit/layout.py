"""Lay out HTML into PDF bytes with WeasyPrint, locked down to the project's assets.

WeasyPrint logs a missing image or an ignored CSS rule and carries on; this
stage collects those messages so the checks can fail the target on them.
"""

import hashlib
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher


def tag_html_figures() -> None:
    """Make WeasyPrint 70 tag an HTML <figure> as a /Figure structure element, with its
    `alt` attribute as /Alt. WeasyPrint tags only <img> and <svg> as figures; a diagram
    drawn with HTML and CSS (figures.py) would otherwise be a /NonStruct whose words a
    screen reader reads loose. WeasyPrint's own code then adds the bounding box and the
    /Alt, and logs an error, which fails the target, for a figure without alt text."""
    from weasyprint.pdf import tags

    original = tags._get_pdf_tag
    if getattr(original, "tags_figures", False):
        return

    def get_pdf_tag(tag):
        return "Figure" if tag == "figure" else original(tag)

    get_pdf_tag.tags_figures = True
    tags._get_pdf_tag = get_pdf_tag


tag_html_figures()


@dataclass(frozen=True)
class Layout:
    pdf: bytes
    pages: int
    messages: list[str]  # WeasyPrint's warnings and errors, in order


class AssetFetcher(URLFetcher):
    """Fetch only files inside the allowed folders: no network, no other file.
    `fallbacks` maps a folder to another that serves the files it lacks (a project's
    styles/ to the builder's: assets.py)."""

    def __init__(self, roots, fallbacks: dict | None = None):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=5)
        self.roots = [Path(r).resolve() for r in roots]
        self.fallbacks = {Path(k).resolve(): Path(v).resolve() for k, v in (fallbacks or {}).items()}

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = self.stand_in(Path(url2pathname(urlsplit(url).path)).resolve())
            url = path.as_uri()
            if not any(path.is_relative_to(root) for root in self.roots):
                raise ValueError(f"blocked {url}: only files in {', '.join(map(str, self.roots))} may be loaded")
            if path.exists() and not path.is_file():  # a FIFO would block the build, /dev/zero never end
                raise ValueError(f"blocked {url}: not a regular file")
        return super().fetch(url, headers)

    def stand_in(self, path: Path) -> Path:
        """The path, or the fallback folder's file when the path's folder lacks it."""
        for folder, fallback in self.fallbacks.items():
            if path.is_relative_to(folder) and not path.exists() and (fallback / path.relative_to(folder)).exists():
                return fallback / path.relative_to(folder)
        return path


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


def lay_out(html: str, base_url: Path, fetcher: AssetFetcher, fonts: FontConfiguration,
            forms: bool = False, print_shop: bool = False, page_limit: int | None = None,
            images: dict | None = None, right_to_left: bool = False) -> Layout:
    """Render the HTML and write it to PDF bytes (nothing touches the disk).

    PDF/UA-1 (tagged, with /Lang and the title shown) by default; PDF/X-4 with
    tags for a print shop. Form fields are a render-time option in WeasyPrint.
    A layout longer than page_limit is not written (pdf is empty): shrink-to-fit
    will try a smaller size, and writing costs a third of a layout. `images` is
    WeasyPrint's image cache: pass one dict for many documents (a worker's life)
    so a logo or figure is read and decoded once, not once per PDF. `right_to_left`:
    the target's language is written right to left (finisher).
    """
    with collect_weasyprint_log() as messages:
        document = HTML(string=html, base_url=f"{base_url.resolve().as_uri()}/", url_fetcher=fetcher).render(
            font_config=fonts, pdf_forms=forms, cache=images)
        if page_limit is not None and len(document.pages) > page_limit:
            pdf = b""
        elif print_shop:
            pin_document_id(document, hashlib.md5(html.encode()).hexdigest())
            pdf = document.write_pdf(pdf_variant="pdf/x-4", pdf_tags=True, finisher=finisher(right_to_left))
        else:
            pdf = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=True, finisher=finisher(right_to_left))
    return Layout(pdf, len(document.pages), list(messages))


def finisher(right_to_left: bool):
    """What WeasyPrint adds to the PDF's catalog just before writing it: a right-to-left
    document says so in /ViewerPreferences /Direction /R2L, so a viewer shows two-page
    spreads and turns pages right to left."""
    if not right_to_left:
        return None

    def set_direction(document, pdf) -> None:
        import pydyf
        preferences = pdf.catalog.get("ViewerPreferences") or pydyf.Dictionary()
        preferences["Direction"] = "/R2L"
        pdf.catalog["ViewerPreferences"] = preferences
    return set_direction


def pin_document_id(document, digest: str) -> None:
    """WeasyPrint writes a random xmpMM:DocumentID into PDF/X-4 metadata; replace it
    with one derived from the HTML, so rebuilds stay byte-identical."""
    metadata = document.metadata
    generate = metadata.generate_rdf_metadata

    def generate_stable(*args, **kwargs):
        rdf = generate(*args, **kwargs)
        pattern = rb"xmp\.did:[0-9a-f-]{36}" if isinstance(rdf, bytes) else r"xmp\.did:[0-9a-f-]{36}"
        stable = f"xmp.did:{digest}".encode() if isinstance(rdf, bytes) else f"xmp.did:{digest}"
        return re.sub(pattern, stable, rdf)

    metadata.generate_rdf_metadata = generate_stable
