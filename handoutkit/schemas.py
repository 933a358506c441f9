"""JSON Schemas (draft 2020-12) of every file an author writes, and of the manifest.

An editor that reads them (VS Code with Even Better TOML, or any Taplo-based editor,
through a file's first line `#:schema ../../schemas/handout.schema.json`) completes
keys, explains them and underlines a misspelt key or a wrong type as it is typed.

Each schema is made here from the validator's own key sets (content.HANDOUT_KEYS,
settings.SCHEMA, clinics.REQUIRED, the keys of report.manifest_entry, ...), so the two
cannot drift apart: a key added to the validator without a type here stops
`python -m handoutkit.schemas` with a KeyError, and tests/test_schemas.py checks that
the committed schemas/*.json are what this module makes. The schemas say what can be
said of one file alone; the builder checks more (an id equal to its folder, a section
that exists, a file that is there), so `build.py check` stays the last word.

    python -m handoutkit.schemas [--out schemas] [--check]
"""

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from . import cards, clinics, content, figures, model, report, settings, translations
from .catalog_text import PREFIX as CATALOG_PREFIX
from .render import REQUIRED_STRINGS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# CLDR's plural categories: a catalog string may give a form for each (catalog_text.py).
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")


# --- small pieces -------------------------------------------------------------------------

def text(description: str = "", **extra) -> dict:
    """A string that is not blank (content.require refuses "" and "  ")."""
    return described({"type": "string", "pattern": r"\S", **extra}, description)


def string(description: str = "", **extra) -> dict:
    return described({"type": "string", **extra}, description)


def a_date(description: str) -> dict:
    """A TOML date (2027-01-10, not in quotes); an editor sees it as an ISO date string."""
    return described({"type": "string", "format": "date"}, description + " (a date, e.g. 2027-01-10, no quotes)")


def names(item: dict, description: str = "", **extra) -> dict:
    return described({"type": "array", "items": item, **extra}, description)


def table(properties: dict, required=(), description: str = "", **extra) -> dict:
    """A TOML table with exactly these keys (the builder reports any other)."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = list(required)
    return described(schema, description)


def described(schema: dict, description: str) -> dict:
    return {"description": description, **schema} if description else schema


def full_match(regex) -> str:
    """A Python pattern as a JSON Schema one, which may match anywhere: anchored at both ends."""
    pattern = regex.pattern
    return pattern if pattern.startswith("^") and pattern.endswith("$") else f"^(?:{pattern})$"


def keyed(keys, types: dict) -> dict:
    """The schema of each of the validator's `keys`, in order: a key the validator gained
    without a type in `types` is a KeyError here, so the schema cannot fall behind."""
    return {key: types[key] for key in sorted(keys)}


def an_id(description: str) -> dict:
    """A handout's or clinic's id: it names an output folder (model.id_problem)."""
    return {"description": description, "type": "string", "pattern": full_match(model.ID_RE),
            "not": {"enum": list(model.RESERVED_IDS)}}


def when_approved(*needed: str) -> dict:
    """status = "approved" needs a named reviewer and a date (content.parse_control)."""
    return {"if": {"properties": {"status": {"const": "approved"}}, "required": ["status"]},
            "then": {"required": list(needed)}}


def document(title: str, body: dict) -> dict:
    return {"$schema": DRAFT, "title": title, **body}


# --- handout.toml ---------------------------------------------------------------------------

def card_field() -> dict:
    """One [[card.fields]] entry; which clinic keys fit which kind (cards.CLINIC_KEYS)."""
    types = {"id": string("lower-case letters, digits and -; also the form field's name",
                          pattern=full_match(cards.ID_RE)),
             "kind": string("text, date or phone", enum=list(cards.KINDS)),
             "clinic": string("the clinic profile's key whose value fills it (\"\": none, a line to write on)",
                              enum=["", *sorted({key for keys in cards.CLINIC_KEYS.values() for key in keys})]),
             "side": string("front (default) or back", enum=list(cards.SIDES))}
    fits = [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
             "then": {"properties": {"clinic": {"enum": ["", *keys]}}}} for kind, keys in cards.CLINIC_KEYS.items()]
    return table(keyed(cards.FIELD_KEYS, types), ("id", "kind"), allOf=fits)


def figure() -> dict:
    types = {"kind": string("what it draws: steps (numbered steps in a row)", enum=list(figures.KINDS)),
             "section": text("drawn under this section's heading (its id)"),
             "formats": names(text(), "the formats it is printed in", minItems=1)}
    return table(keyed(figures.FIGURE_KEYS, types), ("kind", "section", "formats"))


def source() -> dict:
    """A [[sources]] entry: a label, authors or (while they are confirmed) a title, and a
    way to find it (content.parse_sources)."""
    types = {"short": text("the label cited in the text, e.g. Feng 2025"),
             "authors": text("e.g. Feng J, Huo D, Hong R, et al."), "title": text(), "journal": string(),
             "year": {"type": "integer"}, "doi": string(), "pmid": string(), "url": string()}
    return table(keyed(content.SOURCE_KEYS, types), ("short",),
                 allOf=[{"anyOf": [{"required": ["authors"]}, {"required": ["title"]}]},
                        {"anyOf": [{"required": [key]} for key in ("doi", "pmid", "url")]}])


def handout_schema() -> dict:
    formats = {"type": "object", "propertyNames": {"pattern": full_match(settings.NAME_RE)},
               "additionalProperties": table({"sections": names(string(), "the section ids it must contain")},
                                             ("sections",)),
               "minProperties": 1, "description": "[formats.<name>] sections = [...]: the formats it has"}
    roles = {"type": "object", "properties": {role: string(meaning) for role, meaning in content.ROLES.items()},
             "additionalProperties": False, "required": ["help"],
             "description": "which section (its id) plays which part; help is required"}
    types = {
        "id": an_id("the handout's folder name"),
        "source_lang": text("the language it is written in, e.g. en"),
        "version": text("bump it when the text changes"),
        "last_reviewed": a_date("the last clinical review"),
        "next_review": a_date("the next review is due"),
        "status": string("draft until a named reviewer approves it", enum=list(content.STATUSES)),
        "approver": text("Name, role"), "approved_on": a_date("the date of approval"),
        "formats": formats, "sources": names(source(), "[[sources]]: printed by @sources", minItems=1),
        "safety_partials": names(string(pattern=content.PARTIAL_NAME_RE.pattern),
                                 "the partials whose every line the audit finds in each PDF ([] for none)"),
        "roles": roles,
        "card": table({"fields": names(card_field(), "the wallet card's blanks, in the order printed")}),
        "figures": {"type": "object", "propertyNames": {"pattern": full_match(figures.ID_RE)},
                    "additionalProperties": figure(), "description": "[figures.<id>]: diagrams drawn from words"},
        "pictograms": names(string(enum=list(figures.PICTOGRAMS)), "; ".join(f"{k}: {v}" for k, v in figures.PICTOGRAMS.items()),
                            uniqueItems=True),
    }
    required = ("id", "source_lang", "version", "last_reviewed", "next_review", "status", "formats", "sources",
                "safety_partials", "roles")
    return document("handout.toml: a handout's document control, formats, roles and sources",
                    table(keyed(content.HANDOUT_KEYS, types), required, allOf=[when_approved("approver", "approved_on")]))


# --- <lang>/meta.toml -----------------------------------------------------------------------

def meta_schema() -> dict:
    translation = {"source_version": text("the source's version this translates"),
                   "status": string("draft until a named reviewer approves it", enum=list(content.STATUSES)),
                   "translator": text(), "note": string("for the reviewer"), "approver": text("Name, role"),
                   "approved_on": a_date("the date of approval"),
                   "source_hashes": {"type": "object", "additionalProperties": string(pattern="^[0-9a-f]{16}$"),
                                     "description": "written by --mark-translated; do not edit by hand"}}
    words = {"alt": text("what the figure shows, read aloud by screen readers"),
             "labels": names(text(maxLength=figures.MAX_LABEL_CHARS), "one short label a step",
                             minItems=figures.MIN_STEPS, maxItems=figures.MAX_STEPS)}
    labels = {"type": "object", "propertyNames": {"pattern": full_match(cards.ID_RE)},
              "additionalProperties": text(maxLength=cards.MAX_LABEL_CHARS),
              "description": "a label for each [[card.fields]] id of handout.toml"}
    types = {"title": text("the handout's title in this language"), "subtitle": string(),
             "keywords": names(text(maxLength=60, pattern="^[^,]*$"), "topic words for the PDF's Keywords",
                               minItems=1, maxItems=content.MAX_KEYWORDS),
             "translation": table(keyed(translations.TRANSLATION_KEYS, translation),
                                  ("source_version", "status", "translator"), "a translation's record (not in the "
                                  "source language)", allOf=[when_approved("approver", "approved_on")]),
             "card": table({"labels": labels}),
             "figures": {"type": "object", "propertyNames": {"pattern": full_match(figures.ID_RE)},
                         "additionalProperties": table(keyed(figures.WORDS_KEYS, words), ("alt", "labels"))}}
    return document("<lang>/meta.toml: a language's title, card labels and figure words",
                    table(keyed(content.META_KEYS, types), ("title",)))


# --- clinics/*/clinic.toml ------------------------------------------------------------------

def clinic_schema() -> dict:
    descriptions = {"id": "PDFs go to dist/<id>/", "name": "", "department": "", "logo": "SVG or PNG beside this file",
                    "phone": "daytime", "phone_after_hours": "24 hours", "emergency": "e.g. 911, 112, 999",
                    "address": "", "url": "printed as a QR code"}
    types = {}
    for key in clinics.REQUIRED + clinics.OPTIONAL:
        limit = clinics.MAX_CHARS.get(key, (None, ""))[0]
        types[key] = (text if key in clinics.REQUIRED else string)(descriptions[key],
                                                                   **({"maxLength": limit} if limit else {}))
    types["id"] = an_id(descriptions["id"])
    for key in clinics.PHONE_KEYS:
        types[key]["pattern"] = clinics.PHONE_RE.pattern
    types["url"]["pattern"] = r"^https?://[^/?# ]+[^ ]*$"
    return document("clinic.toml: a clinic's name, logo and numbers, printed on every copy",
                    table(keyed(clinics.REQUIRED + clinics.OPTIONAL, types), clinics.REQUIRED))


# --- templates/strings/<lang>.toml ----------------------------------------------------------

def strings_schema() -> dict:
    plural = table({category: string() for category in PLURAL_CATEGORIES}, ("other",),
                   "a count's words: one form a CLDR plural category")
    return document("templates/strings/<lang>.toml: interface text printed around the handout's own",
                    {"type": "object",
                     "properties": {key: string() for key in REQUIRED_STRINGS},
                     "required": list(REQUIRED_STRINGS),
                     "patternProperties": {f"^{CATALOG_PREFIX}": {"oneOf": [string(), plural]}},
                     "additionalProperties": string()})


# --- handoutkit.toml ------------------------------------------------------------------------

# Each of settings.KINDS as a schema; its example (KINDS' second item) is the description.
KIND_SCHEMAS = {
    "text": {"type": "string", "pattern": r"\S"},
    "template": {"type": "string", "pattern": settings.FILE_NAME_RE.pattern},
    "stylesheet": {"type": "string", "pattern": settings.STYLESHEET_RE.pattern},
    "fonts": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": settings.FILE_NAME_RE.pattern}},
    "path": {"type": "string"},
    "flag": {"type": "boolean"},
    "count": {"type": "integer", "minimum": 1},
    "number": {"type": "number", "exclusiveMinimum": 0},
    "names": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    "sizes": {"type": "array", "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}},
}


def settings_entry(kind: str) -> dict:
    keys = {key: described(dict(KIND_SCHEMAS[value]), settings.KINDS[value][1])
            for key, value in settings.SCHEMA[kind].items()}
    return table(keys)


def settings_schema() -> dict:
    """A builder's format, paper or script may change one key; a new one needs the
    REQUIRED keys (settings.check_settings). Each kind's keys are written once, in $defs."""
    defaults = settings.default_tables()
    tables = {"build": settings_entry("build")}
    for kind in settings.SCHEMA.keys() - {"build"}:
        pattern = settings.SCRIPT_RE if kind == "scripts" else settings.NAME_RE
        ref = {"$ref": f"#/$defs/{kind}"}
        tables[kind] = {"type": "object", "propertyNames": {"pattern": pattern.pattern},
                        "properties": {name: ref for name in defaults[kind]},
                        "additionalProperties": {**ref, "required": list(settings.REQUIRED[kind])}}
    return document("handoutkit.toml: the project's formats, papers, scripts and build defaults",
                    {"$defs": {kind: settings_entry(kind) for kind in settings.REQUIRED},
                     **table({kind: tables[kind] for kind in settings.SCHEMA})})


# --- dist/manifest.json ---------------------------------------------------------------------

NULLABLE_STRING = {"type": ["string", "null"]}
ENTRY_TYPES = {
    "path": string("the PDF, relative to the output folder"), "handout": string(), "lang": string("BCP 47"),
    "format": string(), "paper": string(), "title": string(), "pages": {"type": "integer", "minimum": 0},
    "bytes": {"type": "integer", "minimum": 0}, "sha256": string(pattern="^[0-9a-f]{64}$"),
    "status": string("the handout's status combined with its translation's", enum=list(content.STATUSES)),
    "translation_status": described(dict(NULLABLE_STRING), "null for the source language"),
    "version": string(), "last_reviewed": string(format="date"), "next_review": string(format="date"),
    "readability": {"type": ["object", "null"], "required": ["formula", "score"],
                    "properties": {"formula": string(), "score": {"type": "number"}},
                    "additionalProperties": {"type": "number"}},
    "stale": {"type": "boolean"}, "overdue": {"type": "boolean"},
    "body_size": {"type": ["number", "null"], "description": "pt, when shrunk to fit"},
    "layout_warnings": names(string()), "large_print": {"type": "boolean"}, "clinic": dict(NULLABLE_STRING),
    "fillable": {"type": "boolean"}, "print_shop": {"type": "boolean"},
    "pdf_variant": string(enum=["pdf/ua-1", "pdf/x-4"]),
    "inputs": string("a digest of everything the PDF was built from"),
}


def entry_keys() -> list[str]:
    """The keys report.manifest_entry writes, read from the function itself."""
    handout = model.Handout("h", Path("h"), "en", model.Control("1", date(2000, 1, 1), date(2000, 1, 2), "draft"),
                            {}, ("en",))
    return list(report.manifest_entry(model.Result(model.Target("h", "en", "brief", "a4"), handout=handout)))


def manifest_schema() -> dict:
    keys = entry_keys()
    entry = table({key: ENTRY_TYPES[key] for key in keys}, keys)
    failure = table({"path": string(), "problems": names(string())}, ("path", "problems"))
    return document("dist/manifest.json: every PDF of a build folder", table({
        "schema_version": {"const": report.SCHEMA_VERSION, "description": "the manifest's layout"},
        "generator": string("the builder that wrote it", pattern="^handoutkit "),
        "targets": names(entry, "every PDF in the folder"),
        "failed": names(failure, "the targets the last build could not make (their last good PDF stays)"),
    }, ("schema_version", "generator", "targets", "failed")))


# --- the files ----------------------------------------------------------------------------

SCHEMAS = {"handout": handout_schema, "meta": meta_schema, "clinic": clinic_schema, "strings": strings_schema,
           "handoutkit": settings_schema, "manifest": manifest_schema}


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def rendered() -> dict[str, str]:
    """File name -> its text, as written to schemas/."""
    return {file_name(name): json.dumps(make(), indent=2, ensure_ascii=False) + "\n" for name, make in SCHEMAS.items()}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in rendered().items():
        (folder / name).write_text(body, encoding="utf-8")
        written.append(folder / name)
    return written


def outdated(folder: Path) -> list[str]:
    """The schema files in `folder` that differ from what this module makes."""
    return [name for name, body in rendered().items()
            if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != body]


def main(argv=None, out=sys.stdout, err=sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoutkit.schemas",
                                     description="Write the JSON Schemas of the author's files and the manifest.")
    parser.add_argument("--out", type=Path, default=Path("schemas"), help="the folder (default: schemas/)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = outdated(args.out)
        for name in stale:
            print(f"error: {args.out / name}: out of date (run python -m handoutkit.schemas)", file=err)
        return 1 if stale else 0
    for path in write_schemas(args.out):
        print(f"wrote {path}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
