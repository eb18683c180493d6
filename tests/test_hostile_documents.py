"""Hostile and unlucky ``project.qde`` documents: DOCTYPEs in every encoding, odd texts and positions, deep trees.

Every document is an XML string written here (tests/hostile.py), in a bare ``.qde`` or a hand-made archive.
"""

from __future__ import annotations

import sys
import warnings

import pytest
from conftest import error_line
from hostile import ANA, THEME, archive, project, span, text_source

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import (
    ProjectFileError,
    ProjectStructureError,
    RefiBridgeError,
    RefiBridgeWarning,
    UnsafeFileError,
)
from refi_bridge.formats.qde import parsing
from refi_bridge.formats.validation import validate

DOC = "d0000000-0000-4000-8000-000000000001"


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


# -- DOCTYPE in every encoding, bare, in an archive, and in validate ------------------------------------------------

ENTITY = ('<?xml version="1.0" encoding="{label}"?>\n<!DOCTYPE Project [<!ENTITY e "EXPANDED">'
          '<!ATTLIST Project origin CDATA "dtd-default">]>\n<Project xmlns="urn:QDA-XML:project:1.0" name="&e;"/>')
ENCODINGS = [("UTF-32BE", "utf-32-be"), ("UTF-32LE", "utf-32-le"), ("UTF-32", "utf-32"), ("UTF-16BE", "utf-16-be"),
             ("UTF-16LE", "utf-16-le"), ("UTF-16", "utf-16"), ("UTF-8", "utf-8-sig"), ("ISO-8859-1", "latin-1"),
             ("UTF-7", "utf-7"), ("IBM037", "cp037")]


@pytest.mark.parametrize("label, codec", ENCODINGS, ids=[label for label, _ in ENCODINGS])
def test_a_doctype_is_refused_in_every_encoding(tmp_path, label, codec):
    data = ENTITY.format(label=label).encode(codec)
    bare = tmp_path / "doc.qde"
    bare.write_bytes(data)
    packed = archive(tmp_path / "doc.qdpx", data)
    for path in (bare, packed):
        for check in (refi_bridge.read, validate):
            with pytest.raises(UnsafeFileError, match="DOCTYPE"):
                check(path)


def test_a_document_in_utf32_without_bom_is_read_as_written(tmp_path):
    document = project(text_source(DOC, "Café", "naïve text")).decode("utf-8")
    data = document.replace('encoding="utf-8"', 'encoding="UTF-32BE"').encode("utf-32-be")
    path = archive(tmp_path / "wide.qdpx", data)
    assert [(s.name, s.text) for s in read(path).sources] == [("Café", "naïve text")]
    assert validate(str(path)).ok


def test_unusual_byte_orders_are_refused_not_parsed(tmp_path):
    path = tmp_path / "odd.qde"
    path.write_bytes(b"\x00\x00<\x00" + b"\x00\x00P\x00" * 4)
    with pytest.raises(ProjectFileError, match="UTF-32 byte order"):
        read(path)


def line_events(function, *args) -> int:
    """How many lines of Python run inside ``function`` (and what it calls in the parsing module)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename == parsing.__file__:
            if event == "line":
                count += 1
            return tracer
        return None

    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_leading_blanks_cost_no_python_step_per_byte():
    body = b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>'
    small = line_events(parsing.refuse_doctype, b" \n" * 1000 + body, "small.qde")
    large = line_events(parsing.refuse_doctype, b" \n" * 1_000_000 + body, "large.qde")
    assert large == small


# -- parser messages ------------------------------------------------------------------------------------------

def test_a_parser_message_over_two_lines_becomes_one(tmp_path, runner):
    path = tmp_path / "cdata.qde"
    path.write_bytes(b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Description><![CDATA[one\ntwo'
                     b"</Description></Project>")
    with pytest.raises(ProjectFileError) as caught:
        read(path)
    assert "\n" not in str(caught.value) and "CData" in str(caught.value)
    result = runner.invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 1 and "CData" in error_line(result)  # after the progress lines, one line


# -- texts: what PlainTextContent and text files may hold -----------------------------------------------------------

def test_a_processing_instruction_inside_a_text_is_refused_not_cut(tmp_path):
    path = tmp_path / "pi.qde"
    path.write_bytes(project(f'<TextSource guid="{DOC}" name="Doc"><PlainTextContent>first half'
                             '<?tool marker?> second half</PlainTextContent></TextSource>'))
    with pytest.raises(ProjectStructureError, match=r"line \d+: <PlainTextContent>.*processing instruction"):
        read(path)
    report = validate(str(path))
    assert not report.ok and any("processing instruction" in f.message for f in report.errors)


@pytest.mark.parametrize("data", [b"\xff\xfea\x00b\x00c", b"\xff\xfea\x00\x00\xd8b\x00", b"\xfe\xff\x00a\xdc\x00"],
                         ids=["odd length", "lone high surrogate", "lone low surrogate"])
def test_a_broken_utf16_text_file_gives_one_line(tmp_path, runner, data):
    path = archive(tmp_path / "utf16.qdpx", project(f'<TextSource guid="{DOC}" name="Doc" '
                                                    'plainTextPath="internal://a.txt"/>'), {"sources/a.txt": data})
    with pytest.raises(ProjectFileError, match=r"a\.txt.*UTF-16") as caught:
        read(path)
    assert "\n" not in str(caught.value)
    result = runner.invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output


# -- positions ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end", [(-3, 4), (7, 2), (0, 10**30), (10**30, 10**30 + 1)])
def test_impossible_spans_are_refused_and_validate_lists_them(tmp_path, runner, start, end):
    path = tmp_path / "spans.qde"
    path.write_bytes(project(text_source(DOC, "Doc", "Hello world", span(start, end, THEME, ANA))))
    with pytest.raises(ProjectStructureError, match=rf"line \d+: <PlainTextSelection.*({start}|{end})") as caught:
        read(path)
    assert "\n" not in str(caught.value)
    report = validate(str(path))
    assert not report.ok and any(str(start) in f.message for f in report.errors)
    for output in ("out.xlsx", "out.csv"):
        result = runner.invoke(cli, ["export", str(path), "-o", str(tmp_path / output)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert not (tmp_path / output).exists()


# -- deep trees --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [150, 1500, 2040])
def test_a_code_tree_too_deep_for_any_codebook_gives_one_line(tmp_path, runner, depth):
    codes = "".join(f'<Code guid="c{n:07x}-0000-4000-8000-000000000000" name="level {n}" isCodable="true">'
                    for n in range(depth)) + "</Code>" * depth
    document = (f'<Project xmlns="urn:QDA-XML:project:1.0" name="deep"><CodeBook><Codes>{codes}</Codes>'
                "</CodeBook></Project>").encode()
    for path in (tmp_path / "deep.qde", archive(tmp_path / "deep.qdpx", document)):
        if path.suffix == ".qde":
            path.write_bytes(document)
        with pytest.raises(RefiBridgeError, match="levels deep|deeper") as caught:
            read(path)
        assert "\n" not in str(caught.value)
        for command in (["inspect", str(path)], ["validate", str(path)]):
            result = runner.invoke(cli, command)
            assert result.exit_code == 1 and "Traceback" not in result.output, result.output
