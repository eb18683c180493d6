"""Hostile and damaged ``.qdpx`` archives: bombs stop early, damage is one line, nothing is read twice.

Every archive here is made with zipfile and patched by hand (tests/hostile.py), never with our writer.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import warnings
import zipfile

import pytest
from conftest import error_line
from hostile import archive, project, text_source

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import ProjectFileError, RefiBridgeWarning, UnsafeFileError
from refi_bridge.formats import exchange, qdpx
from refi_bridge.tables import excel
from refi_bridge.tables.excel import read_table

DOC = "d0000000-0000-4000-8000-000000000001"
EIGHT_MIB = 8 * 2**20


def read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path, **kwargs)


def spelled_sources(count: int) -> list[str]:
    """``count`` text sources naming one file, each spelling its path another way."""
    spellings = []
    for n in range(count):
        name = "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("text.txt"))
        spellings.append(f"internal://{'/' * (n % 3)}{name}")
    return [f'<TextSource guid="{DOC[:-4]}{n:04x}" name="Doc {n}" plainTextPath="{path}"/>'
            for n, path in enumerate(spellings)]


def test_one_member_is_decoded_once_however_its_path_is_spelled(tmp_path, monkeypatch):
    # -- just under the size from which the ratio of all members together is checked --
    path = archive(tmp_path / "spelled.qdpx", project(*spelled_sources(40)), {"sources/text.txt": b"a" * 8_000_000})
    assert path.stat().st_size < 30_000
    decoded = []
    original = qdpx._read_member

    def counting(fp, info, where, *args, **kwargs):
        decoded.append(info.filename)
        return original(fp, info, where, *args, **kwargs)

    monkeypatch.setattr(qdpx, "_read_member", counting)
    project_read = read(path)
    assert decoded.count("sources/text.txt") == 1
    assert len({id(s.text) for s in project_read.sources}) == 1
    refi_bridge.write(project_read, tmp_path / "out.qdpx")
    with zipfile.ZipFile(tmp_path / "out.qdpx") as zf:
        assert [n for n in zf.namelist() if n.startswith("sources/")] == ["sources/text.txt"]
        assert sum(i.compress_size for i in zf.infolist()) < 100_000


def test_bytes_decoded_in_total_are_limited(tmp_path):
    path = archive(tmp_path / "big.qdpx", project(*spelled_sources(2)), {"sources/text.txt": b"a" * 2**20})
    with pytest.raises(UnsafeFileError, match="decode"):
        read(path, limits=qdpx.ReadLimits(max_decoded=2**19))
    assert len(read(path).sources) == 2


def test_many_small_members_that_expand_too_much_together_are_refused(tmp_path):
    members = {f"sources/zeros-{n}.png": b"\0" * EIGHT_MIB for n in range(4)}
    path = archive(tmp_path / "many.qdpx", project(), members)
    assert path.stat().st_size < 300_000
    with pytest.raises(UnsafeFileError, match="zip bomb") as caught:
        read(path)
    assert "\n" not in str(caught.value)


def test_files_that_compress_are_written_compressed_whatever_their_name(tmp_path):
    path = archive(tmp_path / "in.qdpx", project(), {"sources/zeros.png": b"\0" * (4 * 2**20)})
    refi_bridge.write(read(path), tmp_path / "out.qdpx")
    assert (tmp_path / "out.qdpx").stat().st_size < 64_000
    assert read(tmp_path / "out.qdpx").files["zeros.png"] == b"\0" * (4 * 2**20)


def test_a_file_that_does_not_compress_is_stored(tmp_path):
    noise = b"".join(hashlib.sha256(str(n).encode()).digest() for n in range(6000))
    path = archive(tmp_path / "in.qdpx", project(), {"sources/photo.jpg": noise})
    refi_bridge.write(read(path), tmp_path / "out.qdpx")
    with zipfile.ZipFile(tmp_path / "out.qdpx") as zf:
        assert zf.getinfo("sources/photo.jpg").compress_type == zipfile.ZIP_STORED


@pytest.mark.parametrize("name", ["sources/a.txt", "project.qde"])
def test_duplicate_member_names_are_refused(tmp_path, name):
    path = tmp_path / "twice.qdpx"
    document = project(text_source(DOC, "Doc", "x"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we make on purpose
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("project.qde", document)
            zf.writestr("sources/a.txt", b"first")
            zf.writestr(name, document if name == "project.qde" else b"second")
    with pytest.raises(ProjectFileError, match="twice") as caught:
        read(path)
    assert name in str(caught.value)


# -- damaged headers ------------------------------------------------------------------------------------------

def plain_archive() -> bytearray:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("project.qde", project(f'<TextSource guid="{DOC}" name="Doc" plainTextPath="internal://a.txt"/>'))
        zf.writestr("sources/a.txt", b"abc")
    return bytearray(data.getvalue())


def central_entry(data: bytearray, number: int) -> int:
    at = -1
    for _ in range(number + 1):
        at = data.index(b"PK\x01\x02", at + 1)
    return at


def utf8_flag_on_a_name_that_is_not(data):
    at = central_entry(data, 1)
    struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | 0x800)
    data[at + 46:at + 48] = b"\xff\xfe"


def version_needed_10_5(data):
    struct.pack_into("<H", data, central_entry(data, 0) + 6, 105)


def directory_past_the_end(data):
    struct.pack_into("<I", data, data.index(b"PK\x05\x06") + 16, 10**9)


def member_past_the_end(data):
    struct.pack_into("<I", data, central_entry(data, 1) + 42, 10**9)


@pytest.mark.parametrize("damage", [utf8_flag_on_a_name_that_is_not, version_needed_10_5, directory_past_the_end,
                                    member_past_the_end])
def test_damaged_headers_give_one_line(tmp_path, runner, damage):
    data = plain_archive()
    damage(data)
    path = tmp_path / "damaged.qdpx"
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectFileError) as caught:
        read(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    for command in (["inspect", str(path)], ["validate", str(path)], ["convert", str(path), str(tmp_path / "o.qdpx")]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), command
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Traceback" not in result.output, result.output


def test_a_file_replaced_while_it_is_read_is_read_as_it_was_opened(tmp_path, monkeypatch):
    """The archive is opened once: replacing the file mid-read neither mixes two files nor fails."""
    path = archive(tmp_path / "in.qdpx", project(f'<TextSource guid="{DOC}" name="Doc" '
                                                 'plainTextPath="internal://a.txt"/>'), {"sources/a.txt": b"first"})
    other = archive(tmp_path / "other.qdpx", project(f'<TextSource guid="{DOC}" name="Doc" '
                                                     'plainTextPath="internal://a.txt"/>'),
                    {"sources/padding.bin": os.urandom(5000), "sources/a.txt": b"second version"})
    original = qdpx.open_archive

    def then_replace(*args, **kwargs):
        opened = original(*args, **kwargs)
        os.replace(other, path)
        return opened

    monkeypatch.setattr(qdpx, "open_archive", then_replace)
    assert exchange.read(path).sources[0].text == "first"


# -- a resolutions workbook for `consensus`: its stated size is no promise --------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def workbook(path, rows: str, padding: int = 0):
    """An .xlsx by hand: one sheet 'Disagreements' claiming the whole grid, with the given <row> elements."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{RELATIONS}"><Relationship Id="rId1" '
                    f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE}"><sheets><sheet '
                    'name="Disagreements" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{RELATIONS}"><Relationship Id="rId1" '
                    f'Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        zf.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{MAIN}"><dimension ref="A1:XFD1048576"/>'
                    f'<sheetData>{rows}</sheetData>{" " * padding}</worksheet>')
    return path


def cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER = ('<row r="1">' + "".join(cell(f"{c}1", name) for c, name in zip("ABCDEF", ["source", "code", "start", "end",
          "resolution", "source_guid"])) + cell("G1", "code_guid") + "</row>")


def project_to_resolve(tmp_path):
    return archive(tmp_path / "merged.qdpx", project(text_source(DOC, "Doc", "Some text to code here.")))


def test_a_stray_cell_far_right_does_not_widen_every_row(tmp_path, runner):
    rows = HEADER + "".join(f'<row r="{n}">{cell(f"A{n}", "Doc")}{cell(f"XFD{n}", "x")}</row>' for n in range(2, 60))
    path = workbook(tmp_path / "wide.xlsx", rows)
    frame = read_table(path, "Disagreements", "source")
    assert len(frame.columns) <= excel.MAX_READ_COLUMNS + 1
    result = runner.invoke(cli, ["consensus", str(project_to_resolve(tmp_path)), "--resolutions", str(path),
                                 "-o", str(tmp_path / "c.qdpx")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_a_sheet_longer_than_any_table_is_refused(tmp_path, runner, monkeypatch):
    monkeypatch.setattr(excel, "MAX_READ_ROWS", 1000)  # the mechanism, at a size a test can afford
    rows = HEADER + "".join(f'<row r="{n}">{cell(f"A{n}", "Doc")}</row>' for n in range(2, 1500))
    path = workbook(tmp_path / "long.xlsx", rows)
    result = runner.invoke(cli, ["consensus", str(project_to_resolve(tmp_path)), "--resolutions", str(path),
                                 "-o", str(tmp_path / "c.qdpx")])
    assert result.exit_code == 1 and "more than 1,000 rows" in error_line(result)


def test_a_resolutions_workbook_that_is_a_zip_bomb_is_refused_before_opening(tmp_path, runner, monkeypatch):
    path = workbook(tmp_path / "bomb.xlsx", HEADER, padding=12 * 2**20)
    assert path.stat().st_size < 100_000
    opened = []
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: opened.append(a))
    result = runner.invoke(cli, ["consensus", str(project_to_resolve(tmp_path)), "--resolutions", str(path),
                                 "-o", str(tmp_path / "c.qdpx")])
    assert result.exit_code == 1 and "zip bomb" in result.output and opened == []
