"""`refi-bridge validate`: schema and the rules the schema cannot state, with file, line, element and GUID."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import CORPUS_FILES, corpus_id, document_bytes
from lxml import etree

from refi_bridge.cli import cli
from refi_bridge.formats.schema import load_schema
from refi_bridge.formats.validation import validate

U = "11111111-1111-4111-8111-111111111111"
CODE = "22222222-2222-4222-8222-222222222222"
SRC = "33333333-3333-4333-8333-333333333333"
SEL = "44444444-4444-4444-8444-444444444444"
CODING = "55555555-5555-4555-8555-555555555555"
GHOST = "99999999-9999-4999-8999-999999999999"


def project_xml(body: str, users: str = f'<Users><User guid="{U}" name="Ada"/></Users>') -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="t">
{users}
<CodeBook><Codes><Code guid="{CODE}" name="Hope" isCodable="true"/></Codes></CodeBook>
{body}
</Project>""".encode()


def archive(tmp_path: Path, xml: bytes, files: dict[str, bytes] | None = None) -> Path:
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", xml)
        for name, data in (files or {}).items():
            zf.writestr("sources/" + name, data)
    return path


def selection(start: int, end: int, code: str = CODE, user: str = U, guid: str = SEL) -> str:
    return (f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}" creatingUser="{user}">'
            f'<Coding guid="{CODING}"><CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>')


def text_source(inner: str, path: str | None = f"internal://{SRC}.txt", inline: str | None = None,
                guid: str = SRC) -> str:
    attribute = f' plainTextPath="{path}"' if path else ""
    content = f"<PlainTextContent>{inline}</PlainTextContent>" if inline is not None else ""
    return f'<Sources><TextSource guid="{guid}" name="Interview"{attribute}>{content}{inner}</TextSource></Sources>'


def findings(report, severity="error"):
    return [f for f in report.findings if f.severity == severity]


def test_a_clean_file_has_no_findings(tmp_path):
    path = archive(tmp_path, project_xml(text_source(selection(0, 5))), {f"{SRC}.txt": b"hello world"})
    report = validate(path)
    assert report.ok and report.findings == []


def test_dangling_code_reference_names_line_element_and_guid(tmp_path):
    path = archive(tmp_path, project_xml(text_source(selection(0, 5, code=GHOST))), {f"{SRC}.txt": b"hello"})
    report = validate(path)
    [finding] = findings(report)
    assert finding.element == "CodeRef" and GHOST in finding.message and finding.line == 5
    assert "points at no code" in finding.message and "p.qdpx" in finding.file


def test_dangling_user_and_variable_and_source_references(tmp_path):
    # -- Cases come before Sources in the schema --
    xml = project_xml(f'<Cases><Case guid="{GHOST[:-1]}1"><VariableValue><VariableRef targetGUID="{GHOST}"/>'
                      f'<TextValue>x</TextValue></VariableValue><SourceRef targetGUID="{GHOST}"/></Case></Cases>'
                      + text_source(selection(0, 5, user=GHOST)))
    path = archive(tmp_path, xml, {f"{SRC}.txt": b"hello"})
    messages = [f.message for f in findings(validate(path))]
    assert any("no user" in m for m in messages)
    assert any("no variable" in m for m in messages)
    assert any("no source" in m for m in messages)


def test_duplicate_guids(tmp_path):
    two = text_source(selection(0, 2) + selection(1, 3))
    path = archive(tmp_path, project_xml(two), {f"{SRC}.txt": b"hello"})
    errors = findings(validate(path))
    assert any("used again" in f.message and f.guid == SEL for f in errors)


def test_guid_shared_across_kinds_is_only_a_warning(tmp_path):
    xml = project_xml(f'<Cases><Case guid="{CODE}" name="also a code"/></Cases>')
    report = validate(archive(tmp_path, xml))
    assert report.ok
    assert any("also used by" in f.message for f in findings(report, "warning"))


@pytest.mark.parametrize("start, end, message", [(3, 2, "after endPosition"), (0, 50, "outside its text")])
def test_positions_outside_the_text_or_reversed(tmp_path, start, end, message):
    path = archive(tmp_path, project_xml(text_source(selection(start, end))), {f"{SRC}.txt": b"hello"})
    errors = findings(validate(path))
    assert any(message in f.message and f.guid == SEL and f.line for f in errors)


def test_missing_archive_member(tmp_path):
    path = archive(tmp_path, project_xml(text_source("")))
    errors = findings(validate(path))
    assert any("not in the archive" in f.message and f.guid == SRC for f in errors)


@pytest.mark.parametrize("path, inline, message", [
    (f"internal://{SRC}.txt", "inline", "both PlainTextContent and plainTextPath"),
    (None, None, "neither PlainTextContent nor plainTextPath"),
])
def test_exactly_one_of_content_and_path(tmp_path, path, inline, message):
    files = {f"{SRC}.txt": b"hello"}
    report = validate(archive(tmp_path, project_xml(text_source("", path=path, inline=inline)), files))
    assert any(message in f.message for f in findings(report))


def test_schema_violations_are_reported_with_lines(tmp_path):
    xml = project_xml(text_source("", inline="x", path=None)).replace(b'isCodable="true"', b'isCodable="maybe"')
    report = validate(archive(tmp_path, xml))
    [finding] = findings(report)
    assert "schema" in finding.message and finding.line == 4 and finding.element == "Code"


def test_old_namespace_is_a_warning_and_structure_is_still_checked(tmp_path):
    xml = project_xml("").replace(b"urn:QDA-XML:project:1.0", b"urn:QDA-XML:project:0:10")
    report = validate(archive(tmp_path, xml))
    assert report.ok
    assert any("not the standard" in f.message for f in findings(report, "warning"))


def test_cli_exit_status_and_output(tmp_path, runner):
    good = archive(tmp_path, project_xml(text_source(selection(0, 5))), {f"{SRC}.txt": b"hello"})
    result = runner.invoke(cli, ["validate", str(good)])
    assert result.exit_code == 0 and "valid (0 errors" in result.output
    broken = archive(tmp_path, project_xml(text_source(selection(0, 5, code=GHOST))), {f"{SRC}.txt": b"hello"})
    result = runner.invoke(cli, ["validate", str(broken)])
    assert result.exit_code == 1 and "NOT valid" in result.output and "CodeRef" in result.output


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_our_schema_agrees_with_the_official_one_on_real_files(path, official_schemas):
    root = etree.fromstring(document_bytes(path))
    local = etree.QName(root).localname
    assert load_schema(local).validate(root.getroottree()) == official_schemas[local].validate(root)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_validate_gives_no_errors_on_real_exports_except_taguettes_empty_sets(path):
    report = validate(path)
    if "taguette" in path.name:
        assert [f.element for f in report.errors] == ["Sets"]
    else:
        assert report.ok, [str(f) for f in report.errors]


MUTATIONS = [
    (b'name="Hope" ', b""),                     # required attribute removed
    (b'isCodable="true"', b'isCodable="yes"'),  # wrong boolean
    (b"<CodeBook>", b"<CodeBook><Codes/>"),     # empty list container
    (b'name="t"', b'name="t" color="#12"'),     # attribute not in the schema
]


@pytest.mark.parametrize("old, new", MUTATIONS)
def test_our_schema_agrees_with_the_official_one_on_broken_documents(old, new, official_schemas):
    xml = project_xml(text_source("", path=None, inline="x")).replace(old, new, 1)
    root = etree.fromstring(xml)
    assert load_schema("Project").validate(root.getroottree()) is False
    assert official_schemas["Project"].validate(root) is False


def test_findings_of_one_kind_are_told_once_and_located_by_guid_when_lines_say_nothing(runner):
    """NVivo writes its XML on one line and a code for every case: 68 warnings that say one thing."""
    from conftest import CORPUS

    path = CORPUS / "nvivo" / "nvivo20.5-mac_constructive-turn-cases.qdpx"
    report = validate(str(path))
    assert len(report.warnings) == 68 and all(f.line is None for f in report.findings)
    (group,) = report.groups()
    assert len(group.findings) == 68
    assert group.summary() == ("68 <Code> elements share their GUID with a <Case> - NVivo writes case nodes this "
                               "way; references to those GUIDs are ambiguous.")
    assert group.examples()[0] == f"<Code guid={report.findings[0].guid}>"
    result = runner.invoke(cli, ["validate", str(path)])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 3, result.stdout
    assert "68 <Code> elements share their GUID" in lines[0] and "and 65 more (--all lists them)" in lines[1]
    assert ":1:" not in result.stdout
    every = runner.invoke(cli, ["validate", str(path), "--all"])
    assert len(every.stdout.splitlines()) == 69


def test_two_findings_of_a_kind_stay_one_by_one(tmp_path):
    body = (f'<Sources><TextSource guid="{SRC}" name="a" plainTextPath="internal://a.txt"/>'
            f'<TextSource guid="{SEL}" name="b" plainTextPath="internal://b.txt"/></Sources>')
    report = validate(str(archive(tmp_path, project_xml(body))))
    missing = [f for f in report.findings if f.rule == "missing-file"]
    assert len(missing) == 2 and all(f.line for f in missing)  # a file of many lines keeps its line numbers
    assert [len(g.findings) for g in report.groups() if g.findings[0].rule == "missing-file"] == [1, 1]
    assert [len(g.findings) for g in report.groups(smallest=2) if g.findings[0].rule == "missing-file"] == [2]
