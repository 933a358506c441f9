"""Translations: their metadata, parity with the source language, and freshness.

A translation records, in its meta.toml, the hash of every source-language file
it was translated from ([translation.source_hashes], written by
`python build.py --mark-translated LANG`). A target is stale when a source file
it uses (its format's Markdown, the partials it includes, meta.toml) has
changed since.
"""

import hashlib
import re
from datetime import date
from pathlib import Path

from .content import check_keys, line_of, require
from .errors import Problem
from .files import is_regular_input

TRANSLATION_KEYS = {"source_version", "status", "translator", "note", "approver", "approved_on", "source_hashes"}
HASHES_HEADER = "[translation.source_hashes]"


def check_translation_meta(meta: dict, path: Path, is_source: bool, problems: list) -> None:
    """The source language has no [translation] table; every other language has one."""
    table = meta.get("translation")
    if is_source:
        if table is not None:
            problems.append(Problem(path, "the source language has no [translation] table",
                                    "remove it", line_of(path, "translation")))
        return
    if not isinstance(table, dict):
        problems.append(Problem(path, "missing [translation] table",
                                "add source_version, status, translator (see the README)"))
        return
    where = " in [translation]"
    check_keys(table, TRANSLATION_KEYS, path, where, problems)
    require(table, "source_version", str, path, problems, where)
    require(table, "translator", str, path, problems, where)
    status = require(table, "status", str, path, problems, where)
    if status not in (None, "draft", "approved"):
        problems.append(Problem(path, f"translation status '{status}' is not draft or approved",
                                line=line_of(path, "status")))
    if status == "approved":
        require(table, "approver", str, path, problems, where + " (an approved translation names its reviewer)")
        require(table, "approved_on", date, path, problems, where)


def check_parity(source, translation, problems: list) -> None:
    """A translation has the source's sections, in the same order, and the same partials."""
    wanted, found = [s.id for s in source.sections], [s.id for s in translation.sections]
    if wanted != found:
        missing = [i for i in wanted if i not in found]
        extra = [i for i in found if i not in wanted]
        detail = (f"missing {', '.join(missing)}; " if missing else "") + (f"extra {', '.join(extra)}; " if extra else "")
        problems.append(Problem(translation.path, f"sections differ from {source.path.parent.name}/{source.path.name}: "
                                f"{detail}expected {', '.join(wanted)}",
                                "translate every section and keep the {#ids} of the source"))
    if set(source.partials) != set(translation.partials):
        problems.append(Problem(translation.path, f"includes {sorted(translation.partials)}, "
                                f"the source includes {sorted(source.partials)}",
                                "keep the @include lines of the source"))


def hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def source_files(source_text) -> list[str]:
    """The source-language files a format's text is made of, relative to the language folder.
    Another handout's partial (`other/name`) is left out: its translation belongs to
    that handout, whose own targets say when it is stale."""
    return [source_text.path.name, "meta.toml"] + [f"partials/{name}.md" for name in sorted(source_text.partials)
                                                   if "/" not in name]


def changed_sources(source_text, meta: dict) -> list[str]:
    """The source files that changed since the translation was made (all, if never marked)."""
    recorded = (meta.get("translation") or {}).get("source_hashes") or {}
    folder = source_text.path.parent
    return [name for name in source_files(source_text) if recorded.get(name) != hash_file(folder / name)]


def mark_translated(source_dir: Path, meta_path: Path, version: str) -> dict[str, str]:
    """Record in meta.toml the hashes of the source files as they are now, and the
    source's version (`source_version`): the translation says which text it translates."""
    hashes = {str(p.relative_to(source_dir)): hash_file(p)
              for p in sorted(source_dir.rglob("*")) if p.suffix in (".md", ".toml") and is_regular_input(p, source_dir)}
    text = re.sub(r'^(source_version\s*=\s*)"[^"\n]*"', lambda m: f'{m[1]}"{version}"',
                  meta_path.read_text(encoding="utf-8"), count=1, flags=re.M)
    # The table is always written last, so everything from its header on is replaced.
    text = re.split(rf"^{re.escape(HASHES_HEADER)}\s*$", text, flags=re.M)[0].rstrip() + "\n\n"
    text += "# Written by `python build.py --mark-translated`; do not edit by hand.\n" if "do not edit by hand" not in text else ""
    text += HASHES_HEADER + "\n" + "".join(f'"{name}" = "{digest}"\n' for name, digest in hashes.items())
    meta_path.write_text(text, encoding="utf-8")
    return hashes
