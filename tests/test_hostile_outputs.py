"""Writing safely when the world is hostile or unlucky: planted links, racing threads, SIGTERM, a full disk, a
kill between two outputs, outputs that collide with inputs.

Inputs are built by hand (tests/hostile.py); what is checked is what lands on disk.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hostile import ANA, BEN, THEME, archive, project, span, text_source
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import ProjectFileError, RefiBridgeWarning
from refi_bridge.formats import qdpx
from refi_bridge.team import jobs

DOC = "d0000000-0000-4000-8000-000000000001"
TEXT = "The quick brown fox jumps over the lazy dog."
ROOT = Path(__file__).resolve().parent.parent


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def hand_made(tmp_path, name="in.qdpx", text=TEXT, *selections):
    return archive(tmp_path / name, project(text_source(DOC, "Doc", text, *selections)))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


# -- temporary files ---------------------------------------------------------------------------------------------

def test_a_link_planted_where_the_temporary_file_could_be_is_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    # -- every name a temporary file could have had if it were made from the target's name and our pid --
    for pid in {os.getpid(), os.getppid()}:
        (out / f".merged.qdpx.{pid}.partial").symlink_to(victim)
    refi_bridge.write(read(hand_made(tmp_path)), out / "merged.qdpx")
    assert victim.read_text() == "precious"
    assert (out / "merged.qdpx").is_file() and not (out / "merged.qdpx").is_symlink()
    assert read(out / "merged.qdpx").sources[0].text == TEXT


def test_threads_writing_one_target_each_write_a_whole_file_and_the_last_wins(tmp_path, monkeypatch):
    projects = [read(hand_made(tmp_path, f"in{n}.qdpx", f"Text number {n}. " * (n + 1))) for n in range(5)]
    target = tmp_path / "shared.qdpx"
    together = threading.Barrier(len(projects))
    original = qdpx.write_archive

    def write_then_wait(path, *args, **kwargs):
        original(path, *args, **kwargs)
        together.wait(timeout=30)  # every thread has written its temporary file before any renames it

    monkeypatch.setattr(qdpx, "write_archive", write_then_wait)
    failures = []

    def write(p):
        try:
            refi_bridge.write(p, target)
        except Exception as error:  # noqa: BLE001 -- collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(p,)) for p in projects]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert read(target).sources[0].text in {p.sources[0].text for p in projects}
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    refi_bridge.write(read(hand_made(tmp_path)), tmp_path / "out.qdpx")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.qdpx").stat().st_mode & 0o777 == 0o666 & ~mask


SIGTERM_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from refi_bridge.formats.exchange import all_or_nothing, atomic_output
folder = Path(sys.argv[1])
with all_or_nothing():
    with atomic_output(folder / "first.qdpx") as temporary:
        temporary.write_bytes(b"whole")
    with atomic_output(folder / "second.xlsx") as temporary:
        temporary.write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
"""


def test_sigterm_removes_every_temporary_file(tmp_path):
    (tmp_path / "first.qdpx").write_bytes(b"previous")
    done = subprocess.run([sys.executable, "-c", SIGTERM_SCRIPT, str(tmp_path)], cwd=ROOT, timeout=60,
                          capture_output=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.qdpx"]
    assert (tmp_path / "first.qdpx").read_bytes() == b"previous"


def test_a_full_disk_is_one_line(tmp_path, runner, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(qdpx, "write_archive", full)
    source = hand_made(tmp_path)
    result = runner.invoke(cli, ["convert", str(source), str(tmp_path / "out.qdpx")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "out.qdpx" in errors[0] and "No space left" in errors[0]
    assert "Traceback" not in result.output and leftovers(tmp_path) == []


# -- a kill between the merged project and its report ------------------------------------------------------------

def test_a_merge_writes_its_project_and_its_report_both_or_neither(tmp_path, monkeypatch):
    master = hand_made(tmp_path, "master.qdpx")
    coder = hand_made(tmp_path, "ben.qdpx", TEXT, span(4, 9, THEME, BEN))
    (tmp_path / "merged.qdpx").write_bytes(b"OLD PROJECT")
    (tmp_path / "report.xlsx").write_bytes(b"OLD REPORT")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the user's Ctrl-C, or a kill, after the project is written

    monkeypatch.setattr(jobs, "write_merge_report", killed)
    with pytest.raises(KeyboardInterrupt):
        jobs.merge_files([master, coder], tmp_path / "merged.qdpx", report=tmp_path / "report.xlsx")
    assert (tmp_path / "merged.qdpx").read_bytes() == b"OLD PROJECT"
    assert (tmp_path / "report.xlsx").read_bytes() == b"OLD REPORT"
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    jobs.merge_files([master, coder], tmp_path / "merged.qdpx", report=tmp_path / "report.xlsx")
    assert len(list(read(tmp_path / "merged.qdpx").iter_codings())) == 1
    assert (tmp_path / "report.xlsx").read_bytes()[:2] == b"PK"


# -- split: every output checked against every input before anything is written ------------------------------------

def test_split_never_overwrites_a_master_named_like_its_manifest(tmp_path):
    out = tmp_path / "handout"
    out.mkdir()
    master = hand_made(out, "manifest.json")
    before = master.read_bytes()
    with pytest.raises(ProjectFileError, match="overwrite an input"):
        refi_bridge.split(master, ["Ana", "Ben"], out, overwrite=True)  # even when asked to replace a handout
    assert master.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize("obstacle", ["folder named like the manifest", "master named like a coder's file"])
def test_split_refused_late_leaves_nothing_behind(tmp_path, obstacle):
    out = tmp_path / "handout"
    out.mkdir()
    if obstacle.startswith("folder"):
        (out / "manifest.json").mkdir()
        master = hand_made(tmp_path, "master-in.qdpx")
    else:
        master = hand_made(out, "ben.qdpx")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ProjectFileError):
        refi_bridge.split(master, ["Ana", "Ben"], out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before


# -- a damaged manifest ---------------------------------------------------------------------------------------------

def good_manifest(tmp_path) -> tuple[Path, dict]:
    handed = refi_bridge.split(hand_made(tmp_path, "master-in.qdpx"), ["Ana"], tmp_path / "out")
    return handed.manifest, json.loads(handed.manifest.read_text(encoding="utf-8"))


@pytest.mark.parametrize("damage", [
    lambda data: "[" * 100_000 + "]" * 100_000,
    lambda data: json.dumps({**data, "sources": ["not", "a", "mapping"]}),
    lambda data: json.dumps({**data, "sources": {DOC: "no details"}}),
    lambda data: json.dumps({**data, "codes": {THEME: "Theme"}}),
    lambda data: json.dumps({**data, "assignment": {"Ana": ["a.qdpx"]}}),
    lambda data: json.dumps({**data, "assignment": {"Ana": {"file": 3, "sources": "all"}}}),
    lambda data: json.dumps({**data, "master": ["master.qdpx"]}),
    lambda data: json.dumps({**data, "master": "../../elsewhere/master.qdpx"}),
    lambda data: json.dumps({**data, "version": "one"}),
    lambda data: '{"format": "refi-bridge manifest", "x": ' + "{\"y\": " * 50_000 + "1" + "}" * 50_001,
], ids=["deep list", "sources a list", "source not a mapping", "code path not a list", "assignment a list",
        "file not a name", "master a list", "master outside", "version text", "deep object"])
def test_a_damaged_manifest_is_one_line(tmp_path, runner, damage):
    manifest, data = good_manifest(tmp_path)
    manifest.write_text(damage(data), encoding="utf-8")
    coder = hand_made(tmp_path, "ana.qdpx", TEXT, span(4, 9, THEME, ANA))
    result = runner.invoke(cli, ["merge", str(coder), "--manifest", str(manifest), "-o", str(tmp_path / "m.qdpx")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "manifest" in errors[0] and "Traceback" not in result.output
    assert not (tmp_path / "m.qdpx").exists()


# -- spreadsheets: names and passages are shown, never run -------------------------------------------------------------

SPLIT, GROUP = "f0000000-0000-4000-8000-000000000001", "f0000000-0000-4000-8000-000000000002"
HOSTILE = ['=HYPERLINK("http://example.invalid/x","click")', "+1+1", "-2+3", "@SUM(1)", "#N/A", "#DIV/0!",
           "=cmd|' /C calc'!A0"]


def value(variable: str, text: str) -> str:
    return f'<VariableValue><VariableRef targetGUID="{variable}"/><TextValue>{escape(text)}</TextValue></VariableValue>'


def formula_project(tmp_path, passage: str = "=1+2 said the client, +3 more") -> Path:
    sources, cases = [], []
    for n, name in enumerate(HOSTILE):
        guid = f"d0000000-0000-4000-8000-{n:012d}"
        sources.append(f'<TextSource guid="{guid}" name={quoteattr(name)}><PlainTextContent>{escape(passage)}'
                       f'</PlainTextContent>{span(0, 4, THEME, ANA)}{span(0, 4, THEME, BEN)}'
                       f'{value(SPLIT, HOSTILE[n % 3])}</TextSource>')
        cases.append(f'<Case guid="c1000000-0000-4000-8000-{n:012d}" name={quoteattr(name)}>'
                     f'{value(GROUP, HOSTILE[-1 - n % 2])}<SourceRef targetGUID="{guid}"/></Case>')
    variables = (f'<Variables><Variable guid="{SPLIT}" name="=SPLIT()" typeOfVariable="Text"/>'
                 f'<Variable guid="{GROUP}" name="@GROUP" typeOfVariable="Text"/></Variables>')
    document = project(*sources, user_pairs=((ANA, "=Ana"), (BEN, "#N/A")),
                       code_pairs=((THEME, "=Theme()"), ("c0000000-0000-4000-8000-000000000009", "-Other")),
                       extra="").decode()
    document = document.replace("<Sources>", variables + "<Cases>" + "".join(cases) + "</Cases><Sources>")
    return archive(tmp_path / "formulas.qdpx", document.encode())


def live_cells(workbook: Path) -> list[str]:
    """Cells stored as formulas or as error values, read from the sheets' XML itself."""
    found = []
    with zipfile.ZipFile(workbook) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                xml = zf.read(name).decode("utf-8")
                found += re.findall(r"<f>[^<]*</f>|<c [^>]*t=\"e\"[^>]*>.*?</c>", xml)
    return found


@pytest.mark.parametrize("options", [["--split", "variable:=SPLIT()"], ["--group-by", "variable:@GROUP"],
                                     ["--split", "variable:=SPLIT()", "--group-by", "variable:@GROUP",
                                      "--title", "=TITLE()"]])
def test_matrix_names_never_become_formulas_or_errors(tmp_path, runner, options):
    path = formula_project(tmp_path)
    out = tmp_path / "matrix.xlsx"
    result = runner.invoke(cli, ["matrix", str(path), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    assert live_cells(out) == []
    shown = {cell.value for sheet in load_workbook(out) for row in sheet.iter_rows() for cell in row}
    assert "#N/A" in shown and any(str(v).startswith("=HYPERLINK") for v in shown)


def test_exported_codings_never_become_formulas(tmp_path, runner):
    path = formula_project(tmp_path)
    assert runner.invoke(cli, ["export", str(path), "-o", str(tmp_path / "c.xlsx")]).exit_code == 0
    assert live_cells(tmp_path / "c.xlsx") == []
    assert runner.invoke(cli, ["export", str(path), "-o", str(tmp_path / "c.csv")]).exit_code == 0
    with open(tmp_path / "c.csv", newline="", encoding="utf-8-sig") as stream:
        cells = [cell for row in csv.reader(stream) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not [cell for cell in cells if cell in ("#N/A", "#DIV/0!")]
    assert "'=1+2" in cells and "'#N/A" in cells  # shown as written, with the quote spreadsheets hide


def test_characters_xml_forbids_do_not_crash_workbooks(tmp_path, runner):
    text = "Before \ufffe and \uffff after \x0b, and more words that were coded."
    document = project(f'<TextSource guid="{DOC}" name="Doc" plainTextPath="internal://a.txt">'
                       f'{span(0, 30, THEME, ANA)}{span(2, 30, THEME, BEN)}</TextSource>',
                       user_pairs=((ANA, "Ana"), (BEN, "Ben")))
    path = archive(tmp_path / "odd.qdpx", document, {"sources/a.txt": text.encode("utf-8")})
    for command in (["export", str(path), "-o", str(tmp_path / "c.xlsx")],
                    ["matrix", str(path), "-o", str(tmp_path / "m.xlsx"), "--columns", "sources"],
                    ["agreement", str(path), "-o", str(tmp_path / "a.xlsx"), "--bootstrap", "0"]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 0, (command, result.output)
    quoted = load_workbook(tmp_path / "c.xlsx")["Codings"]
    assert any(str(cell.value).startswith("Before  and  after") for row in quoted.iter_rows() for cell in row)
