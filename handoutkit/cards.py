"""The wallet card's fields: declared by each handout, labelled in each language.

A handout lists the blanks its card has in handout.toml, and each language names
them in its own meta.toml, so one handout's card never prints another's labels:

    [[card.fields]]                  # handout.toml, in the order printed
    id = "infusion-date"
    kind = "date"                    # text, date or phone
    clinic = "phone_after_hours"     # optional: the clinic profile's value fills it
    side = "back"                    # optional: front (default) or back

    [card.labels]                    # <lang>/meta.toml
    infusion-date = "Date of CAR-T infusion"

Both are checked with one `file:line: problem (fix)` line per problem, all at once.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import line_of
from .errors import Problem
from .model import CardField

KINDS = ("text", "date", "phone")
SIDES = ("front", "back")
FIELD_KEYS = {"id", "kind", "clinic", "side"}
ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")  # also a form field's name and a CSS class
# The clinic profile's values a field can show, by the kind of field they fit.
CLINIC_KEYS = {"text": ("name", "department"), "date": (),
               "phone": ("phone", "phone_after_hours", "emergency")}
# A label sits beside a write-on line on an 85.6 mm card: longer ones leave no room to write.
MAX_LABEL_CHARS = 40
HEADER = "[[card.fields]]"


def parse_card_fields(data: dict, formats: dict, path: Path, problems: list) -> tuple[CardField, ...]:
    """handout.toml's [[card.fields]]: every entry checked, every problem reported."""
    card = data.get("card", {})
    if not isinstance(card, dict) or set(card) - {"fields"}:
        problems.append(Problem(path, "[card] holds only the list of fields",
                                f"write each field as {HEADER} with id and kind", line_of(path, "card")))
        return ()
    entries = card.get("fields")
    if entries is None:
        if "card" in formats:
            problems.append(Problem(path, "the card format has no fields to fill in",
                                    f'add {HEADER} entries (id, kind: {", ".join(KINDS)}), or `fields = []` under [card] for none'))
        return ()
    if "card" not in formats:
        problems.append(Problem(path, f"{HEADER} but no card format", "add [formats.card] or remove the fields",
                                header_line(path, 1)))
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(path, "card fields must be tables", f"write each as {HEADER}", line_of(path, "card")))
        return ()
    fields = [parse_field(entry, number, path, problems) for number, entry in enumerate(entries, 1)]
    check_unique([e.get("id") for e in entries if isinstance(e.get("id"), str)], path, problems)
    if entries and not any(e.get("kind") == "phone" for e in entries):  # the review's rule: a card says whom to call
        problems.append(Problem(path, "the card has no phone field: it must say whom to call",
                                'add a field with kind = "phone" (clinic = "phone_after_hours" prints the '
                                "clinic's 24-hour number)", header_line(path, 1)))
    return tuple(f for f in fields if f)


def parse_field(entry: dict, number: int, path: Path, problems: list) -> CardField | None:
    """One [[card.fields]] entry, with a problem for each thing wrong; None without an id."""
    def report(message, hint, key=None):
        problems.append(Problem(path, f"{HEADER} entry {number}: {message}", hint, key_line(path, number, key)))

    for key in sorted(set(entry) - FIELD_KEYS):
        report(f"unknown key '{key}'", f"allowed keys: {', '.join(sorted(FIELD_KEYS))}", key)
    field_id, kind = entry.get("id"), entry.get("kind")
    clinic, side = entry.get("clinic", ""), entry.get("side", "front")
    if not isinstance(field_id, str) or not ID_RE.match(field_id):
        report(f"id {field_id!r} is not a field id", 'use lower-case letters, digits and -, e.g. id = "infusion-date"',
               "id" if field_id is not None else None)
    if kind not in KINDS:
        report(f"kind {kind!r} is not one of {', '.join(KINDS)}", 'e.g. kind = "date"', "kind" if kind else None)
    elif clinic not in ("", *CLINIC_KEYS[kind]):
        allowed = ", ".join(CLINIC_KEYS[kind]) or "none"
        report(f"clinic {clinic!r} cannot fill a {kind} field", f"clinic profile keys for a {kind} field: {allowed}",
               "clinic")
    if side not in SIDES:
        report(f"side {side!r} is not front or back", 'e.g. side = "back"', "side")
    if not isinstance(field_id, str) or not ID_RE.match(field_id):
        return None
    # A field with other problems is still returned, so its labels are not reported as
    # unknown too; the problems above keep the handout from being built.
    valid = kind in KINDS and side in SIDES and clinic in ("", *CLINIC_KEYS[kind])
    return CardField(field_id, kind, clinic, side) if valid else CardField(field_id, "text")


def check_unique(ids: list[str], path: Path, problems: list) -> None:
    for twice in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem(path, f"card field id '{twice}' is used twice", "each field needs its own id",
                                find_line(path, rf'^\s*id\s*=\s*"{re.escape(twice)}"')))


def check_card_labels(fields: tuple[CardField, ...], meta: dict, path: Path, problems: list) -> None:
    """A language's meta.toml [card.labels]: a short label for every declared field, and
    nothing else. A missing label is an error, never the source language's words."""
    card = meta.get("card", {})
    labels = card.get("labels", {}) if isinstance(card, dict) else None
    if not isinstance(labels, dict) or (isinstance(card, dict) and set(card) - {"labels"}):
        problems.append(Problem(path, "[card] holds only [card.labels]", "write `[card.labels]` then `id = \"label\"`",
                                line_of(path, "card")))
        return
    declared = [f.id for f in fields]
    for field_id in declared:
        label = labels.get(field_id)
        if not isinstance(label, str) or not label.strip():
            problems.append(Problem(path, f"no label for the card field '{field_id}'",
                                    f'add `{field_id} = "..."` under [card.labels] (handout.toml declares the field)',
                                    line_of(path, field_id) or line_of(path, "card.labels")))
        elif len(label) > MAX_LABEL_CHARS:
            problems.append(Problem(path, f"the card label '{field_id}' is {len(label)} characters; at most "
                                    f"{MAX_LABEL_CHARS} leave room to write beside it", "shorten it",
                                    line_of(path, field_id)))
    for unknown in sorted(set(labels) - set(declared)):
        problems.append(Problem(path, f"label for '{unknown}', which is not a card field of this handout",
                                f"declared fields: {', '.join(declared) or 'none'} (handout.toml [[card.fields]])",
                                line_of(path, unknown)))


def card_labels(meta: dict) -> dict[str, str]:
    """The labels as written (check_card_labels reports what is wrong with them)."""
    card = meta.get("card")
    labels = card.get("labels") if isinstance(card, dict) else None
    return {k: v for k, v in labels.items() if isinstance(v, str)} if isinstance(labels, dict) else {}


def header_line(path: Path, number: int) -> int | None:
    """The line of the number-th [[card.fields]] header."""
    lines = read(path)
    headers = [n for n, text in enumerate(lines, 1) if text.strip().replace(" ", "") == HEADER]
    return headers[number - 1] if len(headers) >= number else None


def key_line(path: Path, number: int, key: str | None) -> int | None:
    """The line where `key` is set in the number-th entry, else the entry's header."""
    return line_in_table(path, header_line(path, number), key)


def line_in_table(path: Path, start: int | None, key: str | None) -> int | None:
    """The line where `key` is set in the table whose header is on line `start`, else `start`."""
    if start is None or key is None:
        return start
    lines = read(path)
    for n in range(start + 1, len(lines) + 1):
        text = lines[n - 1].strip()
        if text.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", text):
            return n
    return start


def find_line(path: Path, pattern: str) -> int | None:
    return next((n for n, text in enumerate(read(path), 1) if re.match(pattern, text)), None)


def read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


@dataclass(frozen=True)
class CardRow:
    """One field as the card template prints it, in one language, for one clinic."""

    id: str
    kind: str
    side: str
    label: str
    value: str = ""   # the clinic profile's, or "" for a line to write on
    longest: str = ""  # the longest value the profile's limits allow: the row's room (clinics.WORST_CASE)


def card_rows(fields: tuple[CardField, ...], labels: dict[str, str], clinic, worst_case) -> list[CardRow]:
    """The card's rows: each field's label, and the clinic's value where it fills one."""
    return [CardRow(f.id, f.kind, f.side, labels[f.id],
                    getattr(clinic, f.clinic) if clinic and f.clinic else "",
                    getattr(worst_case, f.clinic) if f.clinic else "")
            for f in fields]


def required_on_card(fields: tuple[CardField, ...], labels: dict[str, str], clinic) -> list[tuple[str, str]]:
    """(what, text) the audit must find printed on a card: every field's label in the
    language's own words, and the clinic's value of every field it fills."""
    required = [(f"the card field '{f.id}'", labels[f.id]) for f in fields if f.id in labels]
    return required + [(f"the clinic's {f.clinic} in the card field '{f.id}'", getattr(clinic, f.clinic))
                       for f in fields if clinic and f.clinic and getattr(clinic, f.clinic)]
