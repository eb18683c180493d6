"""The ATLAS.ti and MAXQDA dialects: files those tools' strict importers take, built from their own exports."""

from __future__ import annotations

import re
import warnings
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CORPUS_FILES, corpus_id, document_bytes, guid_case_free
from hypothesis import HealthCheck, given, settings
from lxml import etree
from strategies import WIDE_ALPHABET, projects

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.formats.dialects import DIALECTS
from refi_bridge.formats.strict import Relined
from refi_bridge.model import (
    Case,
    Code,
    Coding,
    Foreign,
    Link,
    PDFSelection,
    PDFSource,
    PlainTextSelection,
    Project,
    TextSource,
    User,
    coder_name,
    coder_of,
    guid_key,
)
from refi_bridge.team.merging import MergeInput, merge_projects

STRICT = ("atlasti", "maxqda")
GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")
MEMBER = re.compile(r"^sources/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.[A-Za-z0-9]+$")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return call(*args, **kwargs)


def guids_in(root: etree._Element) -> list[str]:
    """Every attribute value of the document that is a GUID."""
    return [value for el in root.iter() if isinstance(el.tag, str) for value in el.attrib.values()
            if GUID.match(value)]


def same_text(text: str) -> str:
    """A passage as the strict dialects write it: line breaks as LF, no U+FEFF in front."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def coded_texts(project: Project, *, original: bool = False) -> Counter:
    """(source, coding, code path, coder, coded text) for every coding, GUIDs compared without case."""
    paths, users = project.code_paths(), project.users_by_guid()
    out: Counter = Counter()
    for record in project.iter_codings():
        text = None
        if isinstance(record.selection, PlainTextSelection):
            owner_text = record.owner.text
            text = owner_text[record.selection.start:record.selection.end]
            if original:
                lead = len(owner_text) - len(owner_text.lstrip("\ufeff"))
                # -- a span with half a CR LF pair takes the whole line break: "a\r" is "a\n" as "\nb" is --
                text = same_text(owner_text[max(record.selection.start, lead):record.selection.end])
        out[(guid_key(record.source.guid), guid_key(record.coding.guid), paths[guid_key(record.coding.code_guid)],
             coder_name(coder_of(record), users), text)] += 1
    return out


# -- every real export, in both dialects ------------------------------------------------------------------

@pytest.mark.parametrize("dialect", STRICT)
@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_corpus_converts_to_files_the_tool_takes_and_merges_back_unchanged(path, dialect, runner, tmp_path,
                                                                           official_schemas):
    out = tmp_path / ("for-tool" + path.suffix)
    result = runner.invoke(cli, ["convert", str(path), str(out), "--dialect", dialect])
    assert result.exit_code == 0, result.output
    root = etree.fromstring(document_bytes(out))
    schema = official_schemas[etree.QName(root).localname]
    assert schema.validate(root), schema.error_log
    guids = guids_in(root)
    assert all(g == g.upper() and not g.startswith("{") for g in guids)
    codes = [el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "Code"]
    assert all(el.get("isCodable") in ("true", "false") for el in codes)
    if zipfile.is_zipfile(out):
        with zipfile.ZipFile(out) as zf:
            members = [n for n in zf.namelist() if n != "project.qde"]
            assert all(MEMBER.match(n) for n in members), members  # sources/<GUID>.<ext>, as both tools
            for name in members:
                if name.endswith(".txt"):
                    data = zf.read(name)
                    assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
                    data.decode("utf-8")
    original = quietly(refi_bridge.read, path)
    again = quietly(refi_bridge.read, out)
    for owner in [*again.sources, *again.notes]:
        assert "\r" not in (getattr(owner, "text", None) or "")
    report = merge_projects([MergeInput(again, out.name)], base=original).report
    assert report.files[0].codings_added == 0 and report.files[0].codings_not_carried == 0
    assert report.files[0].codings_inexact == 0
    assert report.new_codes == [] and report.conflicts == []
    assert sum(1 for _ in again.iter_codings()) == sum(1 for _ in original.iter_codings())


def test_corpus_numbers(tmp_path):
    """What the strict dialects change on the real exports, counted."""
    nvivo = next(p for p in CORPUS_FILES if "0517" in p.name)
    project = quietly(refi_bridge.read, nvivo)
    notes = quietly(refi_bridge.write, project, tmp_path / "a.qdpx", dialect="atlasti")
    again = quietly(refi_bridge.read, tmp_path / "a.qdpx")
    # -- NVivo writes one selection per coding (303 over 188 spans); ATLAS.ti one quotation per span --
    assert sum(1 for _ in project.iter_selections()) == 303
    assert sum(1 for _ in again.iter_selections()) == 188
    assert any("joined" in note for note in notes)
    assert all(c.creating_user for r in again.iter_codings() for c in [r.coding])
    quietly(refi_bridge.write, project, tmp_path / "m.qdpx", dialect="maxqda")
    maxqda = quietly(refi_bridge.read, tmp_path / "m.qdpx")
    assert sum(1 for _ in maxqda.iter_selections()) == 303  # MAXQDA: no evidence for joining, so none


def test_maxqda_and_atlasti_keep_pdf_areas_as_atlasti_wrote_them(tmp_path):
    path = next(p for p in CORPUS_FILES if "mepit" in p.name)
    project = quietly(refi_bridge.read, path)
    for dialect in STRICT:
        quietly(refi_bridge.write, project, tmp_path / f"{dialect}.qdpx", dialect=dialect)
        again = quietly(refi_bridge.read, tmp_path / f"{dialect}.qdpx")
        areas = [(s.page, s.first_x, s.first_y, s.second_x, s.second_y, s.name) for s in again.sources[0].selections]
        assert areas == [(s.page, s.first_x, s.first_y, s.second_x, s.second_y, s.name)
                         for s in project.sources[0].selections]
        assert again.sources[0].representation.text  # the PDF keeps its text representation


# -- generated projects -------------------------------------------------------------------------------------

@SETTINGS
@given(project=projects(alphabet=WIDE_ALPHABET + "\ufeff"))  # a leading U+FEFF reads as a byte-order mark
def test_every_coding_is_read_back_on_the_same_text(project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("strict")
    for dialect in STRICT:
        quietly(refi_bridge.write, project, folder / f"{dialect}.qdpx", dialect=dialect)
        again = quietly(refi_bridge.read, folder / f"{dialect}.qdpx")
        assert coded_texts(again) == coded_texts(project, original=True)
        assert all("\r" not in s.text and not s.text.startswith("\ufeff") for s in again.sources)


@SETTINGS
@given(project=projects(alphabet=WIDE_ALPHABET))
def test_refi_dialect_gives_back_the_project_up_to_guid_case(project, tmp_path_factory):
    path = tmp_path_factory.mktemp("refi") / "p.qdpx"
    quietly(refi_bridge.write, project, path)
    again = quietly(refi_bridge.read, path)
    assert guid_case_free(again) == guid_case_free(project)
    root = etree.fromstring(document_bytes(path))
    assert all(g == g.upper() for g in guids_in(root))


def test_line_breaks_are_rewritten_with_every_offset_moved():
    relined = Relined("\ufeffab\r\ncd\re")
    assert relined.text == "ab\ncd\ne"
    assert relined.span(1, 3) == (0, 2)              # "ab" (the U+FEFF is gone)
    assert relined.span(1, 4) == (0, 3)              # an end between CR and LF takes the line break
    assert relined.span(4, 6) == (2, 4)              # a start between CR and LF keeps it too: "\nc"
    assert relined.span(5, 7) == (3, 5)              # "cd" after the pair
    assert relined.span(4, 4) == (2, 2)              # an empty selection stays empty
    assert relined.text[slice(*relined.span(7, 9))] == "\ne"  # a lone CR is one LF, no shift


# -- ATLAS.ti: quotations -----------------------------------------------------------------------------------

A, B = "AAAAAAAA-0000-4000-8000-000000000001", "BBBBBBBB-0000-4000-8000-000000000002"
HOPE = "11111111-0000-4000-8000-00000000000a"
FEAR = "11111111-0000-4000-8000-00000000000b"


def two_coders() -> Project:
    """NVivo's layout: one selection per coding, the coder on the selection; a case and a link name one."""
    text = "I still hope, and I fear it."
    selections = (
        PlainTextSelection(guid="51000000-0000-4000-8000-000000000001", start=2, end=12, creating_user=A,
                           codings=(Coding(guid="c1000000-0000-4000-8000-000000000001", code_guid=HOPE),)),
        PlainTextSelection(guid="52000000-0000-4000-8000-000000000002", start=2, end=12, creating_user=B,
                           description="why 'still'?",
                           codings=(Coding(guid="c2000000-0000-4000-8000-000000000002", code_guid=HOPE),)),
        PlainTextSelection(guid="53000000-0000-4000-8000-000000000003", start=2, end=12,
                           codings=(Coding(guid="c3000000-0000-4000-8000-000000000003", code_guid=FEAR),)),
    )
    return Project(
        name="two coders", users=(User(guid=A, name="Ada"), User(guid=B, name="Bo")),
        codes=(Code(guid=HOPE, name="hope"), Code(guid=FEAR, name="fear")),
        sources=(TextSource(guid="5a000000-0000-4000-8000-00000000000a", name="Interview", text=text,
                            selections=selections),),
        cases=(Case(guid="ca000000-0000-4000-8000-00000000000c", name="Dyad",
                    selection_refs=("52000000-0000-4000-8000-000000000002",)),),
        links=(Link(guid="1c000000-0000-4000-8000-00000000001c", name="about",
                    origin_guid="52000000-0000-4000-8000-000000000002", target_guid=HOPE),))


def test_atlasti_shares_one_quotation_between_coders(tmp_path):
    project = two_coders()
    quietly(refi_bridge.write, project, tmp_path / "a.qdpx", dialect="atlasti")
    again = quietly(refi_bridge.read, tmp_path / "a.qdpx")
    selections = again.sources[0].selections
    # -- one quotation for the two coders; the coding that names no coder is never credited to one --
    assert [len(s.codings) for s in selections] == [2, 1]
    shared = selections[0]
    assert {(guid_key(c.creating_user), guid_key(c.code_guid)) for c in shared.codings} == {
        (guid_key(A), guid_key(HOPE)), (guid_key(B), guid_key(HOPE))}
    assert shared.description == "why 'still'?"
    assert again.cases[0].selection_refs == (shared.guid,) and again.links[0].origin_guid == shared.guid
    assert again.coders() == project.coders() == {"Ada": 1, "Bo": 1}
    assert coded_texts(again) == coded_texts(project)
    # -- MAXQDA: no export shows how it lays out shared spans, so nothing is joined --
    quietly(refi_bridge.write, project, tmp_path / "m.qdpx", dialect="maxqda")
    assert len(quietly(refi_bridge.read, tmp_path / "m.qdpx").sources[0].selections) == 3


def pdf_project(rich_text: bool = False) -> Project:
    text = "Kellogg's\r\nfavoritos.\r\nDificultad: Media\r\nTiempo: 2 horas"
    coding = Coding(guid="c4000000-0000-4000-8000-000000000004", code_guid=HOPE, creating_user=A)
    area = PDFSelection(guid="a1000000-0000-4000-8000-0000000000a1", name="favoritos. Dificultad…", page=0,
                        first_x=18, first_y=45, second_x=577, second_y=234, codings=(coding,),
                        representation=TextSource(guid="a2000000-0000-4000-8000-0000000000a2",
                                                  text="favoritos.Dificultad: Media"))
    image = PDFSelection(guid="a3000000-0000-4000-8000-0000000000a3", page=1, first_x=1, first_y=2, second_x=3,
                         second_y=4, codings=(replace_guid(coding, "c5000000-0000-4000-8000-000000000005"),))
    if rich_text:  # a PDF wrapped in a TextSource, as some writers hold it
        return Project(name="pdf", users=(User(guid=A, name="Ada"),), codes=(Code(guid=HOPE, name="hope"),),
                       sources=(TextSource(guid="bd000000-0000-4000-8000-0000000000bd", name="recipe.pdf",
                                           text=text, rich_text_path="internal://recipe.pdf",
                                           plain_text_path="internal://bd000000-0000-4000-8000-0000000000bd.txt",
                                           selections=(PlainTextSelection(guid="b1000000-0000-4000-8000-0000000000b1",
                                                                          start=11, end=21, codings=(coding,)),)),),
                       files={"recipe.pdf": b"%PDF-1.4 fake"})
    pdf = PDFSource(guid="bd000000-0000-4000-8000-0000000000bd", name="recipe.pdf", path="internal://recipe.pdf",
                    selections=(area, image),
                    representation=TextSource(guid="be000000-0000-4000-8000-0000000000be", text=text,
                                              plain_text_path="internal://recipe.txt"))
    return Project(name="pdf", users=(User(guid=A, name="Ada"),), codes=(Code(guid=HOPE, name="hope"),),
                   sources=(pdf,), files={"recipe.pdf": b"%PDF-1.4 fake"})


def replace_guid(coding: Coding, guid: str) -> Coding:
    return replace(coding, guid=guid)


def test_atlasti_writes_a_pdf_text_quotation_as_area_and_text(tmp_path, official_schemas):
    quietly(refi_bridge.write, pdf_project(), tmp_path / "a.qdpx", dialect="atlasti")
    again = quietly(refi_bridge.read, tmp_path / "a.qdpx")
    pdf = again.sources[0]
    twin = {guid_key(s.guid): s for s in pdf.representation.selections}
    area = pdf.selections[0]
    assert guid_key(area.guid) in twin  # the same GUID, as ATLAS.ti 8.4 writes it
    text = twin[guid_key(area.guid)]
    assert pdf.representation.text[text.start:text.end] == "favoritos.\nDificultad: Media"
    assert [guid_key(c.code_guid) for c in text.codings] == [guid_key(HOPE)]
    assert guid_key(text.codings[0].guid) != guid_key(area.codings[0].guid)  # each has its own Coding
    assert len(pdf.representation.selections) == 1  # the image region stays an area only
    with zipfile.ZipFile(tmp_path / "a.qdpx") as zf:
        assert official_schemas["Project"].validate(etree.fromstring(zf.read("project.qde")))
        assert all(MEMBER.match(n) for n in zf.namelist() if n != "project.qde")
        assert zf.read("sources/" + pdf.path.split("//")[1]) == b"%PDF-1.4 fake"
    quietly(refi_bridge.write, pdf_project(), tmp_path / "m.qdpx", dialect="maxqda")
    assert not quietly(refi_bridge.read, tmp_path / "m.qdpx").sources[0].representation.selections


def test_a_pdf_held_as_text_source_is_written_as_pdf_source(tmp_path):
    for dialect in STRICT:
        notes = quietly(refi_bridge.write, pdf_project(rich_text=True), tmp_path / f"{dialect}.qdpx",
                        dialect=dialect)
        again = quietly(refi_bridge.read, tmp_path / f"{dialect}.qdpx")
        pdf = again.sources[0]
        assert isinstance(pdf, PDFSource) and pdf.representation.text.startswith("Kellogg's\nfavoritos.")
        selection = pdf.representation.selections[0]
        assert pdf.representation.text[selection.start:selection.end] == "favoritos."
        assert any("PDF" in note for note in notes)


def test_strict_dialects_drop_what_the_tools_refuse(tmp_path, official_schemas):
    project = Project(
        name="odd", codes=(Code(guid=HOPE, name="hope", foreign=Foreign(attributes=(("{urn:x}tag", "1"),))),),
        sources=(TextSource(guid="5a000000-0000-4000-8000-00000000000a", name="notes.rtf", text="text",
                            plain_text_path="internal://board_2017.txt", rich_text_path="internal://notes.rtf"),),
        files={"notes.rtf": b"{\\rtf1}", ".root": b""})
    notes = quietly(refi_bridge.write, project, tmp_path / "odd.qdpx", dialect="atlasti")
    assert len(notes) == 3  # foreign attribute, non-DOCX rich text, a file nothing names
    with zipfile.ZipFile(tmp_path / "odd.qdpx") as zf:
        root = etree.fromstring(zf.read("project.qde"))
        assert official_schemas["Project"].validate(root)
        assert [n for n in zf.namelist() if n != "project.qde"] == [
            "sources/" + root.find(".//{*}TextSource").get("plainTextPath").split("//")[1]]
    assert quietly(refi_bridge.read, tmp_path / "odd.qdpx").sources[0].text == "text"


# -- the command line ---------------------------------------------------------------------------------------

def test_every_command_offers_every_dialect(runner):
    for command in ("convert", "split", "merge", "consensus"):
        text = runner.invoke(cli, [command, "--help"]).output
        for name, dialect in DIALECTS.items():
            assert name in text and dialect.tool.split()[0] in text, (command, name)


def test_split_and_merge_in_the_atlasti_dialect(runner, tmp_path):
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"
    result = runner.invoke(cli, ["split", str(fixtures / "master.qdpx"), "--coders", "Ingrid,Tomás",
                                 "-o", str(tmp_path / "out"), "--dialect", "ATLASTI"])
    assert result.exit_code == 0, result.output
    handed = sorted((tmp_path / "out").glob("*.qdpx"))
    assert handed
    for path in handed:
        assert all(g == g.upper() for g in guids_in(etree.fromstring(document_bytes(path))))
    merged = tmp_path / "merged.qdpx"
    coders = [str(fixtures / n) for n in ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx")]
    result = runner.invoke(cli, ["merge", *coders, "-o", str(merged), "--dialect", "maxqda"])
    assert result.exit_code == 0, result.output
    assert all(g == g.upper() for g in guids_in(etree.fromstring(document_bytes(merged))))
