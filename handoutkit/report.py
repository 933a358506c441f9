"""Report what was built: the manifest in the output folder and the summary."""

import json
from pathlib import Path

from . import __version__
from . import outdir
from .files import write_atomically

MANIFEST = "manifest.json"
# The manifest's layout (schemas/manifest.schema.json): raised only when a key changes
# meaning or goes away, so a reader can refuse what it does not understand. Readers here
# take a manifest without it (written before it existed) as version 1.
SCHEMA_VERSION = 1


def manifest_entry(result) -> dict:
    """What a reader of dist/ needs to know about one PDF."""
    target, control = result.target, result.handout.control
    return {
        "path": target.relpath,
        "handout": target.handout,
        "lang": target.lang,
        "format": target.format,
        "paper": target.paper,
        "title": result.title,
        "pages": result.pages,
        "bytes": result.size,
        "sha256": result.sha256,
        "status": result.approval,  # the handout's combined with its translation's
        "translation_status": result.translation_status,  # null for the source language
        "version": control.version,
        "last_reviewed": control.last_reviewed.isoformat(),
        "next_review": control.next_review.isoformat(),
        "readability": result.readability,
        "stale": result.stale,
        "overdue": result.overdue,
        "body_size": result.body_size,
        "layout_warnings": result.layout_warnings,
        "large_print": target.large_print,
        "clinic": target.clinic,
        "fillable": target.fillable,
        "print_shop": target.print_shop,
        "pdf_variant": "pdf/x-4" if target.print_shop else "pdf/ua-1",
        "inputs": result.inputs,  # what it was built from: incremental.py rebuilds it when this changes
    }


def update_manifest(out_dir: Path, results) -> dict:
    """Merge this build into dist/manifest.json.

    Targets not built this time keep their entries, so a partial build
    (--format brief) does not forget the rest. A failed target keeps the entry
    of its last good PDF, which is still on disk, and is listed under "failed".
    Targets that were up to date keep their entries as they are.
    """
    path = out_dir / MANIFEST
    old = read_manifest(path)
    entries = {e["path"]: e for e in old.get("targets", []) if (out_dir / e["path"]).is_file()}
    for result in results:
        if result.ok and not result.up_to_date:
            entries[result.target.relpath] = manifest_entry(result)
    # By path, as "targets": the same manifest whatever order workers finish in.
    failed = sorted(({"path": r.target.relpath, "problems": r.problems} for r in results if not r.ok),
                    key=lambda f: f["path"])
    manifest = make_manifest([entries[k] for k in sorted(entries)], failed)
    write_atomically(path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    return manifest


def make_manifest(targets: list, failed: list) -> dict:
    """The whole manifest: which layout it has and which builder wrote it, then its
    entries (shards.merge writes the same for merged shards)."""
    return {"schema_version": SCHEMA_VERSION, "generator": f"handoutkit {__version__}",
            "targets": targets, "failed": failed}


def read_manifest(path: Path) -> dict:
    """The manifest's valid entries: it is read back from disk, where anyone may have
    edited it (outdir.read_manifest; the build warned about the rest)."""
    return outdir.read_manifest(path).manifest


def describe(result) -> str:
    """One line per target, for a log."""
    if result.up_to_date:
        return f"same  {result.target.relpath}  (up to date)"
    if result.blocked:  # pipeline.block printed its problems once, above; not again per paper
        return f"FAIL  {result.target.relpath}: not built, because of the content problem(s) above"
    if result.ok:
        notes = f"  readability {result.readability['score']}" if result.readability else ""
        notes += f"  shrunk to {result.body_size} pt" if result.body_size else ""
        notes += "  STALE translation" if result.stale else ""
        notes += "".join(f"\n      warning: {warning}" for warning in result.layout_warnings)
        pages = f"{result.pages} page{'s' if result.pages != 1 else ''}"
        return f"ok    {result.target.relpath}  {pages}  {result.size / 1024:.0f} KiB  {result.seconds:.2f} s{notes}"
    return f"FAIL  {result.target.relpath}: " + "; ".join(result.problems)


def describe_checks(result) -> str:
    """The checks a target passed, for -v."""
    layouts = f"{result.layouts} layout{'s' * (result.layouts != 1)}"
    return (f"      pages {result.pages}/{result.page_limit}; {layouts}; "
            "no WeasyPrint warnings; fonts embedded and shipped; audit passed" + describe_readability(result))


def describe_readability(result) -> str:
    """Each readability measure, with its limit where the format sets one (English only)."""
    from .languages import readability_measures  # here: a no-op rebuild never describes one
    if not result.readability:
        return ""
    measures = readability_measures(result.readability, result.max_grade, result.max_smog)
    return "".join(f"; {name} {value}" + (f" (limit {limit})" if limit else "")
                   for name, value, limit in measures if value is not None)


def summary(results, seconds: float) -> str:
    failed = [r for r in results if not r.ok]
    current = sum(1 for r in results if r.up_to_date)
    line = f"{len(results) - len(failed) - current} built, {len(failed)} failed, {current} up to date, in {seconds:.1f} s"
    overdue = sorted({r.target.handout for r in results if r.overdue})
    warnings = [f"warning: {h} is past its next review date (handout.toml next_review)" for h in overdue]
    poor = [r for r in results if r.ok and not r.up_to_date and r.layout_warnings]
    if poor:
        warnings.append(f"warning: {len(poor)} PDF{'s' * (len(poor) != 1)} with a poor layout (--strict fails them): "
                        + ", ".join(r.target.relpath for r in poor))
    return "\n".join([line] + [f"  failed: {r.target.relpath}" for r in failed] + warnings)


def junit_xml(results, seconds: float) -> bytes:
    """--junit-xml: one test case per target, for the dashboards of GitLab, Azure DevOps
    and Jenkins. A failed or blocked target is a <failure> holding its problems; an
    up-to-date one passes (its PDF passed its checks when it was built)."""
    from xml.etree import ElementTree as ET
    failed = [r for r in results if not r.ok]
    suite = ET.Element("testsuite", name="handoutkit", tests=str(len(results)), failures=str(len(failed)),
                       errors="0", skipped="0", time=f"{seconds:.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=f"{result.target.handout}.{result.target.lang}",
                             name=result.target.relpath, time=f"{result.seconds:.3f}")
        if not result.ok:
            ET.SubElement(case, "failure", message=(result.problems or [result.status])[0][:500],
                          type=result.status).text = "\n".join(result.problems)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
