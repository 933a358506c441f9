"""Clinic profiles: a clinic's name, logo and numbers, printed on every copy.

A profile is data from outside the team (each clinic writes its own), so every
value is checked before any rendering, and each problem names its key.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from .content import MAX_IMAGE_PIXELS, check_keys, line_of, raster_problem, read_toml, require
from .errors import Problem

REQUIRED = ("id", "name", "phone", "phone_after_hours", "emergency")
OPTIONAL = ("department", "logo", "address", "url")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{1,30}$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_LOGO_BYTES = 2_000_000


@dataclass(frozen=True)
class Clinic:
    id: str
    name: str
    phone: str
    phone_after_hours: str
    emergency: str
    folder: Path
    department: str = ""
    logo: Path | None = None
    address: str = ""
    url: str = ""


def load_clinic(path: Path, problems: list) -> Clinic | None:
    """Read and check a clinic profile; None (with problems) if it is not usable."""
    data = read_toml(path, problems)
    if data is None:
        return None
    before = len(problems)
    check_keys(data, set(REQUIRED + OPTIONAL), path, "", problems)
    values = {key: require(data, key, str, path, problems) for key in REQUIRED}
    values |= {key: data[key] for key in OPTIONAL if isinstance(data.get(key), str)}
    for key in OPTIONAL:
        if key in data and not isinstance(data[key], str):
            problems.append(Problem(path, f"'{key}' must be text", line=line_of(path, key)))
    check_values(values, path, problems)
    logo = check_logo(values.get("logo"), path, problems)
    if len(problems) > before:
        return None
    return Clinic(folder=path.parent.resolve(), **{**values, "logo": logo})


def check_values(values: dict, path: Path, problems: list) -> None:
    """Id usable as a folder name, phone numbers that are numbers, a web address."""
    if values.get("id") and not ID_RE.match(values["id"]):
        problems.append(Problem(path, f"id '{values['id']}' must be lower-case letters, digits and dashes",
                                "it names the output folder", line_of(path, "id")))
    for key in ("phone", "phone_after_hours", "emergency"):
        if values.get(key) and not PHONE_RE.match(values[key]):
            problems.append(Problem(path, f"'{key}' = '{values[key]}' is not a phone number",
                                    "digits, spaces, + ( ) - . / only", line_of(path, key)))
    url = values.get("url")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or " " in url:
            problems.append(Problem(path, f"'url' = '{url}' is not a web address",
                                    "write it in full, e.g. https://example.org/page", line_of(path, "url")))


def check_logo(name: str | None, path: Path, problems: list) -> Path | None:
    """The logo must be a PNG or SVG file beside the profile."""
    if not name:
        return None
    logo = (path.parent / name).resolve()
    where = line_of(path, "logo")
    if not logo.is_relative_to(path.parent.resolve()):
        problems.append(Problem(path, f"'logo' = '{name}' is outside the profile's folder", line=where))
    elif not logo.is_file():
        problems.append(Problem(path, f"'logo' = '{name}': no such file", "put the logo beside the profile", where))
    elif logo.stat().st_size > MAX_LOGO_BYTES:
        problems.append(Problem(path, f"'logo' = '{name}' is over {MAX_LOGO_BYTES // 1_000_000} MB", line=where))
    elif not is_image(logo):
        problems.append(Problem(path, f"'logo' = '{name}' is not a PNG or SVG image", line=where))
    elif too_many_pixels(logo):  # a 20,000 x 20,000 PNG is 50 KB on disk, 1.6 GB decoded
        problems.append(Problem(path, f"'logo' = '{name}' has more than {MAX_IMAGE_PIXELS:,} pixels",
                                "a logo needs about 600 x 200 pixels", where))
    else:
        return logo
    return None


def too_many_pixels(path: Path) -> bool:
    """A PNG logo over the pixel limit (an SVG is vector: its size costs nothing)."""
    with path.open("rb") as stream:
        if not stream.read(8).startswith(PNG_MAGIC):
            return False
    return raster_problem(path) is not None


def is_image(path: Path) -> bool:
    """A PNG by its signature, or an SVG whose root element is <svg> (no DTD allowed)."""
    data = path.read_bytes()
    if data.startswith(PNG_MAGIC):
        return True
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # no entities: no XXE, no expansion bombs
        return False
    try:
        return ElementTree.fromstring(data).tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    except ElementTree.ParseError:
        return False
