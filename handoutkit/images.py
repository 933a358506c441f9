"""Images an author or a clinic supplies, checked before anything is laid out.

A picture is the cheapest way to make WeasyPrint read a file nobody meant it to, or
decode a raster far larger than a page needs. So every image is held to the same
limits, wherever it comes from: a PNG or JPEG within MAX_IMAGE_PIXELS (read from its
header, before anything is decoded), or an SVG that is well-formed XML without a DTD
or entities (parsed with defusedxml, which refuses them), whose own references are
only to its own elements (`#id`), to PNG or JPEG data inside it, or to PNG or JPEG
files beside it, each within the same limits. An SVG may not pull in another SVG,
a web address or a file outside the allowed folder.
"""

import base64
import binascii
import io
import re
from pathlib import Path

MAX_IMAGE_PIXELS = 25_000_000  # e.g. 5000 x 5000; a print page needs far less
SVG_TAGS = ("svg", "{http://www.w3.org/2000/svg}svg")
HREFS = ("href", "{http://www.w3.org/1999/xlink}href")
CSS_URL_RE = re.compile(r"url\(\s*['\"]?([^'\")\s]*)", re.I)
DATA_RASTER_RE = re.compile(r"data:image/(png|jpeg);base64,(.*)", re.I | re.S)


def raster_problem(source) -> str | None:
    """A PNG or JPEG (a path or bytes) within MAX_IMAGE_PIXELS, read from its header
    before anything is decoded (a 20,000 x 20,000 PNG is 50 KB on disk and 1.6 GB decoded)."""
    from PIL import Image  # here: a no-op rebuild imports this module and never needs Pillow

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            if image.format not in ("PNG", "JPEG"):
                return f"is {image.format}, not PNG, JPEG or SVG"
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return f"is {image.width} x {image.height} pixels, more than {MAX_IMAGE_PIXELS:,}"
    except Image.DecompressionBombError:
        return f"has far more than {MAX_IMAGE_PIXELS:,} pixels"
    except OSError:
        return "is not an image Pillow can read"
    return None


def svg_problem(data: bytes, folder: Path, allowed: Path) -> str | None:
    """What is wrong with an SVG file's bytes, if anything. folder: where it lies (its
    relative references start there); allowed: the folder they must stay inside."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        return "is an SVG with a DTD or entities (not allowed)"
    except ParseError as error:
        return f"is not well-formed SVG ({error})"
    if root.tag not in SVG_TAGS:
        return "is not an SVG image (its root element is not <svg>)"
    for reference in references(root):
        if problem := reference_problem(reference, folder, allowed):
            return f"refers to '{shorten(reference)}', which {problem}"
    return None


def references(root) -> list[str]:
    """Every address in the SVG: href attributes, and url(...) in style attributes and
    <style> elements."""
    found = [value for element in root.iter() for name, value in element.attrib.items() if name in HREFS]
    styles = [element.text or "" for element in root.iter() if str(element.tag).endswith("style")]
    styles += [value for element in root.iter() for name, value in element.attrib.items()]
    return found + [url for text in styles for url in CSS_URL_RE.findall(text)]


def reference_problem(reference: str, folder: Path, allowed: Path) -> str | None:
    """An SVG's own reference: #id, PNG or JPEG data, or a PNG or JPEG file beside it."""
    reference = reference.strip()
    if reference.startswith("#") or reference == "":
        return None
    if match := DATA_RASTER_RE.match(reference):
        try:
            return raster_problem(base64.b64decode(match.group(2), validate=False))
        except (binascii.Error, ValueError):
            return "is not valid base64 data"
    if re.match(r"^[a-z][a-z0-9+.-]*:", reference, re.I) or re.search(r"[%?\\]", reference):
        return "is not allowed (only #id, PNG or JPEG data, or a PNG or JPEG file beside the SVG)"
    path = (folder / reference).resolve()
    if not path.is_relative_to(allowed.resolve()) or not path.is_file():
        return f"is not a file inside {allowed.name}/"
    return raster_problem(path)


def shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
