"""Vendor extensions (attributes and elements REFI-QDA does not define) are kept and written back."""

from __future__ import annotations

import zipfile

from lxml import etree

import refi_bridge

VENDOR = "urn:example:vendor"
DOCUMENT = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" xmlns:nv="{VENDOR}" name="ext" nv:build="123">
  <Users><User guid="11111111-1111-4111-8111-111111111111" name="Ada" nv:role="lead"/></Users>
  <CodeBook><Codes>
    <Code guid="22222222-2222-4222-8222-222222222222" name="Hope" isCodable="true" nv:shortcut="F1"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="33333333-3333-4333-8333-333333333333" name="Interview">
      <PlainTextContent>I still hope.</PlainTextContent>
      <PlainTextSelection guid="44444444-4444-4444-8444-444444444444" startPosition="2" endPosition="12">
        <Coding guid="55555555-5555-4555-8555-555555555555" creatingUser="11111111-1111-4111-8111-111111111111"
                nv:weight="2"><CodeRef targetGUID="22222222-2222-4222-8222-222222222222"/></Coding>
        <nv:Annotation colour="red">check this</nv:Annotation>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <nv:Settings mode="team"><nv:Item key="a"/></nv:Settings>
</Project>""".encode()


def test_foreign_attributes_and_elements_survive_a_round_trip(tmp_path):
    source = tmp_path / "ext.qde"
    source.write_bytes(DOCUMENT)
    project = refi_bridge.read(source)
    assert (f"{{{VENDOR}}}build", "123") in project.foreign.attributes
    assert any("Settings" in element for element in project.foreign.elements)
    code = project.codes[0]
    assert code.foreign.attributes == ((f"{{{VENDOR}}}shortcut", "F1"),)
    selection = project.sources[0].selections[0]
    assert "check this" in selection.foreign.elements[0]
    assert selection.codings[0].foreign.attributes == ((f"{{{VENDOR}}}weight", "2"),)
    out = tmp_path / "copy.qdpx"
    refi_bridge.write(project, out)
    assert refi_bridge.read(out) == project
    with zipfile.ZipFile(out) as zf:
        root = etree.fromstring(zf.read("project.qde"))
    assert root.get(f"{{{VENDOR}}}build") == "123"
    assert root.find(f"{{{VENDOR}}}Settings/{{{VENDOR}}}Item").get("key") == "a"
    annotation = root.find(f".//{{{VENDOR}}}Annotation")
    assert annotation.text == "check this" and annotation.getparent().tag.endswith("PlainTextSelection")
