"""The output folder is the builder's own (issue 12, items 4 and 5): it refuses someone
else's folder, writes and deletes nothing through a link, deletes only files it recorded
writing (.handoutkit-written.json), ignores manifest and record entries that point out of
the folder, lets one build write it at a time, and `merge` checks every
shard before it changes --out at all."""

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import base64
import fcntl

import pypdfium2
import pytest

from conftest import PROJECT_ROOT, run_main, write_project
from handoutkit import outdir, shards
from handoutkit.catalog import write_catalog
from handoutkit.discover import Selection
from handoutkit.pipeline import Options, build

BRIEF_A4 = ["--format", "brief", "--paper", "a4"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("output-folder") / "project")


def snapshot(folder):
    """Every path under folder with its bytes (a link as its target's name): to show
    that nothing changed."""
    return {p.relative_to(folder).as_posix(): (f"-> {p.readlink()}" if p.is_symlink() else
                                               p.read_bytes() if p.is_file() else "folder")
            for p in sorted(folder.rglob("*"))}


def tiny_pdf(path):
    """A real one-page PDF (PDFium renders its thumbnail)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument.new()
    document.new_page(200, 300)
    document.save(path)
    document.close()
    return path


def entry(path, data=b""):
    """A manifest entry with every field the catalog reads."""
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "handout": "demo", "lang": "en",
            "format": "brief", "paper": "a4", "title": "Demo", "pages": 1, "bytes": len(data)}


# --- whose folder ---------------------------------------------------------------------------

class TestSomeoneElsesFolder:
    def test_a_non_empty_folder_without_the_marker_is_refused_untouched(self, project, tmp_path):
        other = tmp_path / "website"
        (other / "thumbnails/photos").mkdir(parents=True)
        (other / "thumbnails/photos/cat.png").write_bytes(b"\x89PNG cat")
        (other / "index.html").write_text("<h1>my site</h1>")
        before = snapshot(other)
        completed = run_main("--root", project, "--out", other, *BRIEF_A4)
        assert completed.returncode == 2
        [line] = completed.stderr.splitlines()
        assert line.startswith(f"error: cannot use {other} as the output folder: it is not empty")
        assert "no .handoutkit-output file" in line and "empty it, or choose another folder with --out" in line
        assert snapshot(other) == before

    def test_merge_refuses_it_too(self, tmp_path):
        other = tmp_path / "website"
        other.mkdir()
        (other / "index.html").write_text("<h1>my site</h1>")
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"})
        code, _, err = merge(shard, out=other)
        assert code == 2 and "it is not empty and handoutkit did not make it" in err
        assert (other / "index.html").read_text() == "<h1>my site</h1>" and len(list(other.iterdir())) == 1

    def test_merge_refuses_a_file_as_out(self, tmp_path):
        (tmp_path / "dist").write_text("a file")
        code, _, err = merge(make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"}), out=tmp_path / "dist")
        assert code == 2 and "is a file, not a folder" in err and (tmp_path / "dist").read_text() == "a file"

    def test_an_empty_folder_a_marked_one_and_an_older_builds_output_are_accepted(self, tmp_path):
        older = tmp_path / "older"
        older.mkdir()
        (older / "manifest.json").write_text(json.dumps({"targets": [], "failed": []}))
        (tmp_path / "empty").mkdir()
        (tmp_path / "marked").mkdir()
        (tmp_path / "marked" / outdir.MARKER).write_text("")
        (tmp_path / "marked/notes.txt").write_text("")
        for name in ("empty", "marked", "older", "new"):
            assert outdir.foreign(tmp_path / name) is None
        with outdir.owning(older, on_notice=pytest.fail):
            pass
        assert (older / outdir.MARKER).is_file()  # adopted: from now on it is recognised by its marker

    def test_a_manifest_that_is_not_a_builds_is_not_taken_for_one(self, tmp_path):
        (tmp_path / "manifest.json").write_text(json.dumps({"name": "my-web-app", "icons": []}))
        assert "handoutkit did not make it" in outdir.foreign(tmp_path)


# --- links ------------------------------------------------------------------------------------

class TestLinksInTheOutputFolder:
    def test_a_linked_thumbnails_folder_is_neither_emptied_nor_written(self, project, tmp_path):
        elsewhere = tmp_path / "photos"
        (elsewhere / "demo/en").mkdir(parents=True)
        (elsewhere / "holiday.png").write_bytes(b"\x89PNG holiday")
        (elsewhere / "demo/en/demo-brief-a4.png").write_bytes(b"\x89PNG not a thumbnail")  # older than the PDF
        before = snapshot(elsewhere)
        out = tmp_path / "dist"
        out.mkdir()
        (out / outdir.MARKER).write_text("")
        time.sleep(0.01)
        pdf = tiny_pdf(out / "demo/en/demo-brief-a4.pdf")
        (out / "thumbnails").symlink_to(elsewhere, target_is_directory=True)
        write_catalog(out, {"targets": [entry("demo/en/demo-brief-a4.pdf", pdf.read_bytes())], "failed": []},
                      root=project)
        assert snapshot(elsewhere) == before
        assert "demo-brief-a4.pdf" in (out / "index.html").read_text()  # listed, without a picture
        write_catalog(out, {"targets": [], "failed": []}, root=project)  # no PDF left: its picture goes...
        assert snapshot(elsewhere) == before  # ...but not through the link

    def test_a_pdf_is_not_written_through_a_linked_folder(self, tmp_path):
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist/demo").symlink_to(elsewhere, target_is_directory=True)
        with pytest.raises(outdir.UnsafeOutput, match="is a symbolic link"):
            outdir.write_output(tmp_path / "dist", "demo/en/demo-brief-a4.pdf", b"%PDF-")
        assert list(elsewhere.iterdir()) == []


# --- the previous build's manifest ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.pdf", "demo/../../outside.pdf", "./demo/a.pdf",
                                  "demo//a.pdf", "demo\\..\\a.pdf", "", 7, None, "my-notes.txt", "demo/"])
def test_a_manifest_entry_whose_path_leaves_the_folder_is_ignored(path):
    checked = outdir.check_manifest({"targets": [entry(path), entry("demo/en/ok.pdf")], "failed": [
        {"path": path, "problems": []}]}, "dist/manifest.json")
    assert [e["path"] for e in checked.manifest["targets"]] == ["demo/en/ok.pdf"]
    assert checked.manifest["failed"] == []
    assert checked.problems[0].startswith("dist/manifest.json: 'targets' entry 1 path ")
    assert checked.problems[0].endswith("is not the relative path of a PDF inside the folder")


def test_a_manifest_entry_with_fields_of_the_wrong_type_is_ignored():
    wrong = [{**entry("demo/en/a.pdf"), "pages": "2"}, {**entry("demo/en/b.pdf"), "sha256": "x"}, "a.pdf",
             {key: value for key, value in entry("demo/en/c.pdf").items() if key != "title"}]
    checked = outdir.check_manifest({"targets": wrong, "failed": []}, "m")
    assert checked.manifest["targets"] == [] and len(checked.problems) == 4
    assert outdir.check_manifest({"targets": {}}, "m").problems == [
        "m: not a manifest (an object with the lists 'targets' and 'failed')"]


class TestAHandEditedManifest:
    def test_paths_out_of_the_folder_are_ignored_with_a_warning_and_nothing_outside_is_written(
            self, project, tmp_path):
        victim = tiny_pdf(tmp_path / "elsewhere/report.pdf")
        (tmp_path / "elsewhere/report.png").write_bytes(b"\x89PNG keep me")
        before = snapshot(tmp_path / "elsewhere")
        out = tmp_path / "dist"
        out.mkdir()
        (out / outdir.MARKER).write_text("")
        (out / "manifest.json").write_text(json.dumps({"targets": [
            entry(str(victim)), entry("../elsewhere/report.pdf")], "failed": []}))
        completed = run_main("--root", project, "--out", out, *BRIEF_A4)
        assert completed.returncode == 0, completed.stderr
        warnings = [line for line in completed.stderr.splitlines() if "manifest.json" in line]
        assert len(warnings) == 2 and "Traceback" not in completed.stderr
        assert f"path '{victim}' is not the relative path of a PDF inside the folder (ignored" in warnings[0]
        assert "path '../elsewhere/report.pdf' is not the relative path of a PDF" in warnings[1]
        assert snapshot(tmp_path / "elsewhere") == before
        paths = [e["path"] for e in json.loads((out / "manifest.json").read_text())["targets"]]
        assert paths == ["demo/en/demo-brief-a4.pdf"]
        again = run_main("--root", project, "--out", out, *BRIEF_A4)  # the next build neither crashes nor warns
        assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


# --- only what it recorded writing is deleted ---------------------------------------------------

# Files someone put in the output folder by hand, where the builder writes files of their kind.
HAND_PLACED = {"thumbnails/mine.png": b"\x89PNG mine", "thumbnails/demo/en/mine.png": b"\x89PNG mine too",
               "index.zz.html": b"<h1>mine</h1>", ".handoutkit-catalog-fonts/mine.woff2": b"wOF2 mine"}


def place(folder, files: dict):
    for relpath, data in files.items():
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        (folder / relpath).write_bytes(data)


def contents(folder, relpaths):
    return {p: (folder / p).read_bytes() if (folder / p).is_file() else None for p in relpaths}


def recorded(out):
    return set(json.loads((out / outdir.WRITTEN).read_text(encoding="utf-8"))["files"])


class TestOnlyWhatItRecordedIsDeleted:
    def test_files_put_in_by_hand_survive_a_rebuild(self, project, tmp_path):
        out = tmp_path / "dist"
        assert run_main("--root", project, "--out", out, *BRIEF_A4).returncode == 0
        place(out, HAND_PLACED)
        completed = run_main("--root", project, "--out", out, "--force", *BRIEF_A4)  # the catalog is written again
        assert completed.returncode == 0 and "warning" not in completed.stderr, completed.stderr
        assert contents(out, HAND_PLACED) == HAND_PLACED
        assert {"thumbnails/demo/en/demo-brief-a4.png", "index.html", "index.csv"} <= recorded(out)
        assert not recorded(out) & set(HAND_PLACED)

    def test_a_stale_picture_and_language_page_it_wrote_are_deleted_and_only_those(self, tmp_path):
        project = write_project(tmp_path / "project")
        strings = project / "templates/strings"
        (strings / "nl.toml").write_text((strings / "en.toml").read_text(encoding="utf-8"), encoding="utf-8")
        out = tmp_path / "dist"
        pdfs = [tiny_pdf(out / f"demo/en/{name}.pdf") for name in ("a", "b")]
        entries = [entry(f"demo/en/{pdf.name}", pdf.read_bytes()) for pdf in pdfs]
        write_catalog(out, {"targets": entries, "failed": []}, root=project)
        assert (out / "thumbnails/demo/en/b.png").is_file() and (out / "index.nl.html").is_file()
        place(out, HAND_PLACED)
        (strings / "nl.toml").unlink()  # Dutch loses its page, b.pdf its place in the manifest
        write_catalog(out, {"targets": entries[:1], "failed": []}, root=project)
        assert not (out / "thumbnails/demo/en/b.png").exists() and not (out / "index.nl.html").exists()
        assert (out / "thumbnails/demo/en/a.png").is_file() and (out / "demo/en/b.pdf").is_file()
        assert contents(out, HAND_PLACED) == HAND_PLACED
        assert not recorded(out) & {"thumbnails/demo/en/b.png", "index.nl.html", *HAND_PLACED}

    def test_an_html_file_goes_without_html_only_if_the_builder_wrote_it(self, project, tmp_path):
        out, html = tmp_path / "dist", "demo/en/demo-brief-a4.html"
        build = lambda *options: run_main("--root", project, "--out", out, *options, *BRIEF_A4).returncode
        assert build() == 0
        place(out, {html: b"<p>my notes on this handout</p>"})
        assert build("--force") == 0
        assert (out / html).read_bytes() == b"<p>my notes on this handout</p>"
        assert build("--html", "--force") == 2  # it would be overwritten: refused (TestNothingElseIsOverwritten)
        (out / html).unlink()
        assert build("--html", "--force") == 0 and html in recorded(out)
        assert build("--force") == 0
        assert not (out / html).exists() and html not in recorded(out)  # it would not match the new PDF

    def test_a_record_naming_files_outside_the_folder_or_through_a_link_is_ignored_with_a_warning(
            self, project, tmp_path):
        elsewhere = tmp_path / "elsewhere"
        place(elsewhere, {"victim.png": b"\x89PNG victim", "linked/x.png": b"\x89PNG x"})
        before = snapshot(elsewhere)
        out = tmp_path / "dist"
        assert run_main("--root", project, "--out", out, *BRIEF_A4).returncode == 0
        (out / "photos").symlink_to(elsewhere / "linked", target_is_directory=True)
        bad = ["../elsewhere/victim.png", str(elsewhere / "victim.png"), "photos/x.png", "demo/en/demo-brief-a4.pdf"]
        (out / outdir.WRITTEN).write_text(json.dumps({"files": bad + sorted(recorded(out))}))
        completed = run_main("--root", project, "--out", out, "--force", *BRIEF_A4)
        assert completed.returncode == 0 and "Traceback" not in completed.stderr, completed.stderr
        warnings = [line for line in completed.stderr.splitlines() if outdir.WRITTEN in line]
        assert len(warnings) == 4, completed.stderr
        assert "entry 1: '../elsewhere/victim.png' is not a relative path inside the folder (ignored" in warnings[0]
        assert f"entry 2: '{elsewhere / 'victim.png'}' is not a relative path inside the folder" in warnings[1]
        assert f"entry 3: 'photos/x.png' goes through the symbolic link {out / 'photos'}" in warnings[2]
        assert "entry 4: 'demo/en/demo-brief-a4.pdf' is not a file the record is kept for" in warnings[3]
        assert snapshot(elsewhere) == before and (out / "demo/en/demo-brief-a4.pdf").is_file()
        assert not recorded(out) & set(bad) and "index.html" in recorded(out)

    @pytest.mark.parametrize("text, problem", [
        ("{", "cannot be read as JSON"), ('{"files": "a.png"}', "not a record"), ("[]", "not a record")])
    def test_a_record_that_is_not_one_is_ignored_whole(self, tmp_path, text, problem):
        (tmp_path / outdir.WRITTEN).write_text(text)
        files, [line] = outdir.read_written(tmp_path)
        assert files == set() and problem in line

    def test_a_record_that_is_a_link_is_neither_read_nor_written_through(self, tmp_path):
        (tmp_path / "elsewhere.json").write_text(json.dumps({"files": ["index.html"]}))
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / outdir.WRITTEN).symlink_to(tmp_path / "elsewhere.json")
        files, [line] = outdir.read_written(tmp_path / "dist")
        assert files == set() and "is a symbolic link" in line
        outdir.write_written(tmp_path / "dist", {"index.html", "index.csv"}, set())
        assert json.loads((tmp_path / "elsewhere.json").read_text()) == {"files": ["index.html"]}
        assert not (tmp_path / "dist" / outdir.WRITTEN).is_symlink()


class TestNothingElseIsOverwritten:
    """A file the builder did not write, at a name it writes, refuses the build before
    anything is written (outdir.claim); what a stopped build wrote stays the builder's."""

    THEIRS = {"demo/en/demo-brief-letter.pdf": b"%PDF- theirs", "thumbnails/demo/en/demo-brief-letter.png": b"theirs",
              "index.html": b"<h1>their page</h1>", "index.de.html": b"<h1>ihre Seite</h1>", "index.csv": b"theirs"}

    def test_their_files_at_the_builders_names_refuse_the_build_and_stay(self, project, tmp_path):
        out = tmp_path / "dist"
        assert run_main("--root", project, "--out", out, *BRIEF_A4).returncode == 0
        record = json.loads((out / outdir.WRITTEN).read_text())
        record["files"] = [f for f in record["files"] if f not in self.THEIRS]  # as if someone else wrote them
        (out / outdir.WRITTEN).write_text(json.dumps(record))
        place(out, self.THEIRS)
        before = snapshot(out)
        completed = run_main("--root", project, "--out", out, "--format", "brief", "--force")
        assert completed.returncode == 2, completed.stderr
        lines = [line for line in completed.stderr.splitlines() if "did not write" in line]
        assert sorted(lines) == lines and len(lines) == len(self.THEIRS), completed.stderr
        for relpath in self.THEIRS:
            assert any(line.startswith(f"error: {out / relpath}: ") for line in lines), relpath
        assert snapshot(out) == before
        for relpath in self.THEIRS:  # moved away, as the line says: the build goes ahead
            (out / relpath).unlink()
        assert run_main("--root", project, "--out", out, "--format", "brief").returncode == 0
        assert set(self.THEIRS) - {"demo/en/demo-brief-letter.pdf"} <= recorded(out)

    def test_a_picture_the_build_did_not_claim_is_not_replaced(self, tmp_path):
        """The catalog draws every manifest entry, also those this build did not select:
        a PNG at such an entry's picture name that the record does not name is left."""
        project = write_project(tmp_path / "project")
        out = tmp_path / "dist"
        pdfs = [tiny_pdf(out / f"demo/en/{name}.pdf") for name in ("a", "b")]
        entries = [entry(f"demo/en/{pdf.name}", pdf.read_bytes()) for pdf in pdfs]
        outdir.write_written(out, set(), set())
        place(out, {"thumbnails/demo/en/b.png": b"\x89PNG theirs"})
        time.sleep(0.01)
        os.utime(out / "demo/en/b.pdf")  # newer than the picture: the catalog would render it again
        write_catalog(out, {"targets": entries, "failed": []}, root=project)
        assert (out / "thumbnails/demo/en/b.png").read_bytes() == b"\x89PNG theirs"
        assert "thumbnails/demo/en/a.png" in recorded(out) and "thumbnails/demo/en/b.png" not in recorded(out)

    def test_what_a_killed_build_wrote_does_not_refuse_the_next(self, project, tmp_path):
        out = tmp_path / "dist"
        process = subprocess.Popen([sys.executable, "build.py", "--root", project, "--out", out, "--jobs", "1",
                                    "--format", "brief"], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: any(out.glob("demo/*/*.pdf")) or process.poll() is not None)
        finally:
            process.kill()
            process.wait()
        assert any(out.glob("demo/*/*.pdf")) and not (out / "manifest.json").exists()  # killed before its manifest
        completed = run_main("--root", project, "--out", out, "--format", "brief")
        assert completed.returncode == 0 and "did not write" not in completed.stderr, completed.stderr

    def test_an_earlier_builders_files_are_adopted_when_the_record_starts(self, project, tmp_path):
        out = tmp_path / "dist"
        assert run_main("--root", project, "--out", out, *BRIEF_A4).returncode == 0
        (out / outdir.WRITTEN).unlink()  # as a builder before the record left the folder
        place(out, HAND_PLACED)
        assert run_main("--root", project, "--out", out, "--force", *BRIEF_A4).returncode == 0
        assert {"index.html", "index.csv", "thumbnails/demo/en/demo-brief-a4.png"} <= recorded(out)
        assert not recorded(out) & set(HAND_PLACED) and contents(out, HAND_PLACED) == HAND_PLACED

    def test_a_record_naming_what_is_not_a_pdf_as_one_is_ignored_with_a_warning(self, tmp_path):
        (tmp_path / outdir.WRITTEN).write_text(json.dumps({"files": [], "pdfs": ["../x.pdf", "notes.txt", "a/b.pdf"]}))
        record = outdir.read_record(tmp_path)
        assert record.pdfs == {"a/b.pdf"} and len(record.problems) == 2
        assert "'pdfs' entry 1: '../x.pdf' is not the relative path of a PDF" in record.problems[0]


class TestFontSubsets:
    """The catalog's font subsets are kept in the user's cache folder, not in the output
    folder: a fresh output folder (every CI run) reuses them (catalog_fonts.py)."""

    @pytest.fixture
    def made(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HANDOUTKIT_CACHE", str(tmp_path / "cache"))
        project = write_project(tmp_path / "project")
        out = tmp_path / "dist"
        pdf = tiny_pdf(out / "demo/zh-Hans/a.pdf")
        manifest = {"targets": [{**entry("demo/zh-Hans/a.pdf", pdf.read_bytes()), "title": "中文 عربي"}], "failed": []}
        write_catalog(out, manifest, root=project)
        return project, out, manifest, tmp_path / "cache" / "catalog-fonts"

    def test_a_fresh_output_folder_cuts_none_and_holds_none(self, made, tmp_path, monkeypatch):
        project, out, manifest, cache = made
        assert len(list(cache.glob("*.woff2"))) >= 6  # Latin, Arabic and CJK, two weights each
        assert not list(out.rglob("*.woff2"))
        def no_cutting(*args):
            raise AssertionError("a subset was cut again")
        monkeypatch.setattr("handoutkit.catalog_fonts.cut_to_woff2", no_cutting)
        fresh = tmp_path / "fresh"
        tiny_pdf(fresh / "demo/zh-Hans/a.pdf").write_bytes((out / "demo/zh-Hans/a.pdf").read_bytes())
        write_catalog(fresh, manifest, root=project)
        assert (fresh / "index.html").read_bytes() == (out / "index.html").read_bytes()

    def test_a_cached_subset_that_is_a_link_or_not_a_file_is_not_used(self, made, tmp_path):
        project, out, manifest, cache = made
        (tmp_path / "theirs.woff2").write_bytes(b"wOF2 theirs")
        subsets = sorted(cache.glob("*.woff2"))
        subsets[0].unlink()
        subsets[0].symlink_to(tmp_path / "theirs.woff2")
        subsets[1].unlink()
        os.mkfifo(subsets[1])  # read, it would block the catalog forever
        write_catalog(out, manifest, root=project)
        page = (out / "index.html").read_text(encoding="utf-8")
        assert base64.b64encode(b"wOF2 theirs").decode() not in page
        assert (out / "index.html").read_bytes() == index_cut_afresh(project, manifest, tmp_path)

    def test_an_older_builders_subsets_in_the_output_folder_go(self, made):
        project, out, manifest, cache = made
        old = [f".handoutkit-catalog-fonts/{'a' * 32}.woff2"]
        place(out, {old[0]: b"wOF2 old"})
        outdir.write_written(out, outdir.read_written(out)[0] | set(old), set())
        write_catalog(out, manifest, root=project)
        assert not (out / ".handoutkit-catalog-fonts").exists() and not recorded(out) & set(old)


def index_cut_afresh(project, manifest, tmp_path):
    """The catalog page made with an empty cache: what a correct cache gives too."""
    os.environ["HANDOUTKIT_CACHE"] = str(tmp_path / "empty-cache")  # restored by monkeypatch.setenv's undo
    fresh = tmp_path / "afresh"
    tiny_pdf(fresh / "demo/zh-Hans/a.pdf")
    write_catalog(fresh, manifest, root=project)
    return (fresh / "index.html").read_bytes()


# --- one build at a time -------------------------------------------------------------------

def hold_lock(folder):
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / outdir.LOCK, "a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class TestTwoBuildsOfOneFolder:
    def test_the_second_waits_for_the_first_and_says_so(self, project, tmp_path):
        out = tmp_path / "dist"
        first = hold_lock(out)  # another build, writing
        notices, results = [], []
        second = threading.Thread(target=lambda: results.extend(build(
            Options(project, out, Selection(formats=("brief",), papers=("a4",)), jobs=1), on_notice=notices.append)))
        second.start()
        wait_for(lambda: any("waiting for another build of" in n for n in notices))
        time.sleep(0.3)
        assert second.is_alive() and not (out / "manifest.json").exists()
        first.close()  # the first build is done
        second.join(120)
        assert not second.is_alive() and [r.ok for r in results] == [True]
        assert notices[0] == f"waiting for another build of {out}/ to finish (it holds {out / outdir.LOCK})"

    def test_a_lock_file_that_is_a_link_is_not_followed(self, tmp_path):
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / outdir.LOCK).symlink_to(tmp_path / "target")
        with pytest.raises(OSError):
            with outdir.owning(tmp_path / "dist", pytest.fail):
                pass
        assert not (tmp_path / "target").exists()


# --- merge ---------------------------------------------------------------------------------

def make_shard(folder, files: dict, failed=(), marker=True):
    """A shard's output: its PDFs and a manifest that lists them with their SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    manifest = {"targets": [entry(path, data) for path, data in files.items()], "failed": list(failed)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if marker:
        (folder / outdir.MARKER).write_text("")
    return folder


def edit_manifest(folder, change):
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def merge(*folders, out):
    stdout, stderr = io.StringIO(), io.StringIO()
    code = shards.merge_main([*map(str, folders), "--out", str(out)], stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def previous(tmp_path):
    """--out as an earlier merge left it: nothing a failed merge does may change it."""
    return make_shard(tmp_path / "dist", {"demo/en/old.pdf": b"%PDF-old"})


class TestMergeChecksBeforeItCopies:
    def refused(self, tmp_path, out, *folders) -> str:
        """Merge folders into out; assert that it is refused and changes nothing; its stderr."""
        before = snapshot(out)
        code, _, err = merge(*folders, out=out)
        assert code != 0 and "Traceback" not in err
        assert err.rstrip().endswith(f"nothing was merged: {out} is unchanged")
        # The empty lock file a merge (as a build) leaves is the only new thing allowed.
        assert {k: v for k, v in snapshot(out).items() if not k.endswith(outdir.LOCK)} == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left
        return err

    def test_a_pdf_whose_sha256_differs_from_its_entry(self, tmp_path, previous):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"})
        (shard / "demo/en/a.pdf").write_bytes(b"%PDF-tampered")
        err = self.refused(tmp_path, previous, shard)
        assert f"error: {shard}: demo/en/a.pdf: its SHA-256 is not the one manifest.json records" in err

    def test_a_pdf_listed_but_missing(self, tmp_path, previous):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a", "demo/en/b.pdf": b"%PDF-b"})
        (shard / "demo/en/b.pdf").unlink()
        err = self.refused(tmp_path, previous, shard)
        assert f"error: {shard}: demo/en/b.pdf: listed in manifest.json but missing" in err

    def test_a_link_in_a_shard(self, tmp_path, previous):
        secret = tmp_path / "secret.pdf"
        secret.write_bytes(b"%PDF-secret")
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-secret", "other/en/b.pdf": b"%PDF-b"})
        (shard / "demo/en/a.pdf").unlink()
        (shard / "demo/en/a.pdf").symlink_to(secret)  # the right bytes, through a link
        (shard / "other/en/b.pdf").rename(tmp_path / "b.pdf")
        (shard / "other/en").rmdir()
        (shard / "other/en").symlink_to(tmp_path, target_is_directory=True)
        err = self.refused(tmp_path, previous, shard)
        assert f"error: {shard}: demo/en/a.pdf: {shard}/demo/en/a.pdf is a symbolic link" in err
        assert f"error: {shard}: other/en/b.pdf: {shard}/other/en is a symbolic link" in err

    def test_two_shards_that_disagree(self, tmp_path, previous):
        one = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-one"})
        two = make_shard(tmp_path / "s2", {"demo/en/a.pdf": b"%PDF-two"})
        err = self.refused(tmp_path, previous, one, two)
        assert f"error: demo/en/a.pdf differs between shards {one} and {two}" in err

    @pytest.mark.parametrize("change, message", [
        (lambda m: m.update(targets={"path": "a.pdf"}), "not a manifest"),
        (lambda m: m["targets"][0].update(path="/etc/passwd"), "'targets' entry 1 path '/etc/passwd' is not the relative path of a PDF"),
        (lambda m: m["targets"][0].update(path="../../secret.pdf"), "'targets' entry 1 path '../../secret.pdf'"),
        (lambda m: m["targets"][0].pop("sha256"), "'targets' entry 1 (demo/en/a.pdf) has no 'sha256'"),
        (lambda m: m["targets"][0].update(pages="many"), "'targets' entry 1 (demo/en/a.pdf) 'pages' is not a number"),
        (lambda m: m["failed"].append({"path": "x.pdf", "problems": "all"}), "'failed' entry 1 (x.pdf) 'problems'"),
    ])
    def test_a_malformed_manifest(self, tmp_path, previous, change, message):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"})
        edit_manifest(shard, change)
        err = self.refused(tmp_path, previous, shard)
        assert f"error: {shard / 'manifest.json'}: {message}" in err

    def test_a_manifest_that_is_not_json(self, tmp_path, previous):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"})
        (shard / "manifest.json").write_text("{")
        err = self.refused(tmp_path, previous, shard)
        assert f"error: {shard / 'manifest.json'}: cannot be read as JSON" in err

    def test_every_problem_is_said_at_once_one_line_each(self, tmp_path, previous):
        one = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-one", "demo/en/b.pdf": b"%PDF-b"})
        two = make_shard(tmp_path / "s2", {"demo/en/a.pdf": b"%PDF-two", "demo/en/c.pdf": b"%PDF-c"})
        (one / "demo/en/b.pdf").unlink()
        (two / "demo/en/c.pdf").write_bytes(b"%PDF-changed")
        err = self.refused(tmp_path, previous, one, two)
        assert len(err.splitlines()) == 4, err  # missing, changed, conflict; then "nothing was merged"

    def test_a_failure_while_writing_leaves_out_as_it_was(self, tmp_path, previous, monkeypatch):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": b"%PDF-a"})
        monkeypatch.setattr(shards, "write_catalog", lambda *args: (_ for _ in ()).throw(
            OSError(28, "No space left on device")))
        err = self.refused(tmp_path, previous, shard)
        assert "No space left on device" in err


class TestMergeReplacesOut:
    def test_it_records_what_it_wrote_and_keeps_what_the_old_folder_did_not_record(self, tmp_path, previous):
        place(previous, {"thumbnails/mine.png": b"\x89PNG mine", "index.zz.html": b"<h1>mine</h1>"})
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": tiny_pdf(tmp_path / "a.pdf").read_bytes()})
        code, _, err = merge(shard, out=previous)
        assert code == 0, err
        [aside] = [p for p in tmp_path.iterdir() if p.name.startswith(".dist.old-")]
        assert contents(aside / "dist", ["thumbnails/mine.png", "index.zz.html"]) == {
            "thumbnails/mine.png": b"\x89PNG mine", "index.zz.html": b"<h1>mine</h1>"}
        assert f"note: {aside / 'dist'} keeps 2 file(s) handoutkit did not write" in err
        assert {"index.html", "index.csv", "thumbnails/demo/en/a.png"} <= recorded(previous)
        code, _, err = merge(shard, out=previous)  # what the merge wrote, its record names: all of it goes
        assert code == 0 and "note" not in err, err
        assert [p for p in tmp_path.iterdir() if p.name.startswith(".dist.old-")] == [aside]

    def test_the_result_replaces_out_and_only_the_builders_files_of_the_old_one_go(self, tmp_path, previous):
        (previous / "my-notes.txt").write_text("mine")
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": tiny_pdf(tmp_path / "a.pdf").read_bytes()})
        code, out, err = merge(shard, out=previous)
        assert code == 0, err
        assert "merged 1 shards: 1 PDFs, 0 failed" in out
        assert sorted(p.relative_to(previous).as_posix() for p in previous.rglob("*.pdf")) == ["demo/en/a.pdf"]
        assert (previous / outdir.MARKER).is_file() and (previous / "index.html").is_file()
        assert not (previous / "my-notes.txt").exists()
        [aside] = [p for p in tmp_path.iterdir() if p.name.startswith(".dist.old-")]
        assert snapshot(aside) == {"dist": "folder", "dist/my-notes.txt": b"mine"}  # kept, and said
        assert f"note: {aside / 'dist'} keeps 1 file(s) handoutkit did not write" in err


class TestMergeTakesTheLock:
    """A merge replaces --out whole; it waits while a build writes it, and a build that
    waited on the replaced folder's lock file then locks the new folder's."""

    def test_a_merge_waits_for_a_build_of_its_out(self, tmp_path, previous):
        shard = make_shard(tmp_path / "s1", {"demo/en/a.pdf": tiny_pdf(tmp_path / "a.pdf").read_bytes()})
        building = hold_lock(previous)  # a build, writing --out
        stderr, codes = io.StringIO(), []
        merging = threading.Thread(target=lambda: codes.append(
            shards.merge_main([str(shard), "--out", str(previous)], io.StringIO(), stderr)))
        merging.start()
        wait_for(lambda: "waiting for another build of" in stderr.getvalue())
        time.sleep(0.3)
        assert merging.is_alive() and (previous / "demo/en/old.pdf").is_file()  # nothing replaced yet
        building.close()  # the build is done
        merging.join(60)
        assert codes == [0], stderr.getvalue()
        assert (previous / "demo/en/a.pdf").is_file() and not (previous / "demo/en/old.pdf").exists()

    def test_a_build_that_waited_on_a_replaced_folder_locks_the_new_one(self, tmp_path):
        out = tmp_path / "dist"
        old = hold_lock(out)
        taken = []
        waiting = threading.Thread(target=lambda: taken.append(outdir.lock(out, lambda notice: None)))
        waiting.start()
        time.sleep(0.3)  # it has opened and waits on the old folder's lock file
        out.rename(tmp_path / "aside")  # a merge puts its result in place
        out.mkdir()
        (out / outdir.LOCK).touch()
        old.close()
        waiting.join(30)
        [descriptor] = taken
        try:
            assert outdir.is_same_file(descriptor, out / outdir.LOCK)
            with open(out / outdir.LOCK) as other, pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the new folder is locked
        finally:
            os.close(descriptor)
