"""Clinic profiles: a clinic's name, logo and numbers, printed on every copy.

A profile is data from outside the team (each clinic writes its own), so every
value is checked before any rendering, and each problem names its key.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .content import MAX_IMAGE_PIXELS, check_keys, line_of, raster_problem, read_toml, require
from .errors import Problem
from .images import svg_problem
from .model import id_problem

REQUIRED = ("id", "name", "phone", "phone_after_hours", "emergency")
OPTIONAL = ("department", "logo", "address", "url")
PHONE_KEYS = ("phone", "phone_after_hours", "emergency")  # each must be a phone number (PHONE_RE)
# A number, with an optional extension written "ext. 123" or "x123".
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{1,30}(?: ?(?:ext\.?|x) ?[0-9]{1,6})?$")
# Longest value (characters) of each key, and where it must fit. The contact block,
# the card's fields and the QR box have the same size whether they show a profile's
# values or blanks (templates/contact.html, templates/card.html, styles/base.css):
# that is what makes a text that fits without a profile fit with any profile, at the
# same body size. These limits are what the reserved room was measured for, with
# every value at its limit (clinics/maximal/clinic.toml, tests/test_clinic_fit.py),
# in every language, format, paper and large print. Raising one needs more room there.
MAX_CHARS = {
    "name": (60, "the contact block and the card"),
    "department": (50, "the contact block"),
    "address": (100, "a printed address line"),  # not printed by the templates yet
    "phone": (30, "the contact block"),
    "phone_after_hours": (30, "the contact block and the card"),
    "emergency": (15, "the contact block"),
    "url": (70, "the contact block and a QR code that prints clearly"),
}
# The longest profile the limits allow, in wide letters: laid out, invisible, under
# every contact block (templates/contact.html), so the block is as tall with blanks
# or a real profile as with this one. clinics/maximal/clinic.toml holds the same
# values, for the tests and for anyone to build with.
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
    path: Path | None = None  # the clinic.toml it was read from

    @property
    def files(self) -> list[Path]:
        """The files the profile's PDFs depend on: itself and its logo (no other value
        names a file)."""
        return [p for p in (self.path, self.logo) if p is not None]


WORST_CASE = Clinic(
    id="maximal-clinic", folder=Path("."),
    name="Westminster & Mount Warwick Memorial University Hospital NHS",
    department="Department of Rheumatology and Clinical Immunology",
    phone="+61 (0)2 9876 5432 ext. 123456", phone_after_hours="+44 (0)20 7946 0958 ext. 48210",
    emergency="+1 555-010-0112",
    url="https://www.example-university-hospital.org/lupus/car-t-therapy-2026/a")


def load_clinic(path: Path, problems: list) -> Clinic | None:
    """Read and check a clinic profile; None (with problems) if it is not usable."""
    before = len(problems)
    data = read_toml(path, problems)  # its problems count too: an invisible character (invisible.py)
    if data is None:
        return None
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
    return Clinic(folder=path.parent.resolve(), **{**values, "logo": logo}, path=path.resolve())


def check_values(values: dict, path: Path, problems: list) -> None:
    """Id usable as a folder name, values within their length limits, phone numbers
    that are numbers, a web address."""
    for key, (limit, place) in MAX_CHARS.items():
        if len(values.get(key) or "") > limit:
            problems.append(Problem(path, f"'{key}' is {len(values[key])} characters; at most {limit} fit {place}",
                                    "shorten it", line_of(path, key)))
    if values.get("id") and (wrong := id_problem(values["id"])):
        problems.append(Problem(path, f"id {wrong}", "it names the output folder", line_of(path, "id")))
    for key in PHONE_KEYS:
        if values.get(key) and not PHONE_RE.match(values[key]):
            problems.append(Problem(path, f"'{key}' = '{values[key]}' is not a phone number",
                                    "digits, spaces, + ( ) - . / and an extension such as 'ext. 12' only", line_of(path, key)))
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
    elif logo.exists() and not logo.is_file():  # a FIFO or device is never opened
        problems.append(Problem(path, f"'logo' = '{name}' is not a regular file", "put the logo file itself there", where))
    elif not logo.is_file():
        problems.append(Problem(path, f"'logo' = '{name}': no such file", "put the logo beside the profile", where))
    elif logo.stat().st_size > MAX_LOGO_BYTES:
        problems.append(Problem(path, f"'logo' = '{name}' is over {MAX_LOGO_BYTES // 1_000_000} MB", line=where))
    elif problem := logo_problem(logo):
        problems.append(Problem(path, f"'logo' = '{name}' {problem}", line=where))
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


def logo_problem(path: Path) -> str | None:
    """A PNG by its signature, or an SVG that passes images.svg_problem: no DTD or
    entities, and nothing it refers to outside the profile's folder."""
    data = path.read_bytes()
    if data.startswith(PNG_MAGIC):
        return None
    if b"<svg" not in data[:4096]:
        return "is not a PNG or SVG image"
    return svg_problem(data, path.parent, path.parent)