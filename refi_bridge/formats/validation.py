"""``refi-bridge validate``: the schema, and the rules of REFI-QDA that no schema can state.

Beyond the XSD: every reference must point at something of the right kind, GUIDs must be unique, text
positions must lie inside their text with start <= end, every ``internal://`` file must be in the archive,
and a text has exactly one of ``PlainTextContent`` and ``plainTextPath``. Each finding names the file, the
line, the element and its GUID, and says what to do. Where the XML is written on one line (NVivo does this)
line numbers say nothing, so findings are located by element and GUID alone; findings of one kind are
grouped (:meth:`ValidationReport.groups`), so that 68 codes sharing their GUIDs with cases read as one.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

from refi_bridge.errors import RefiBridgeError, RefiBridgeWarning
from refi_bridge.formats import qde, qdpx
from refi_bridge.formats.schema import schema_errors
from refi_bridge.model import guid_key
from refi_bridge.progress import Progress, Reporter, quiet

ERROR = "error"
WARNING = "warning"

_SOURCES = ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource")
_SELECTIONS = ("PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection",
               "TranscriptSelection")
_TEXT_HOLDERS = ("TextSource", "Note", "Representation", "TextDescription", "Transcript")
_USER_ATTRIBUTES = ("creatingUser", "modifyingUser", "creatingUserGUID", "modifyingUserGUID")


@dataclass(frozen=True)
class Finding:
    """One problem in a file: how bad, where, and what to do about it."""

    severity: str
    file: str
    line: int | None
    element: str | None
    guid: str | None
    message: str
    rule: str = ""             # the kind of finding ("shared-guid:Case", "dangling-reference:CodeRef"...)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f" <{self.element}{' guid=' + self.guid if self.guid else ''}>" if self.element else ""
        return f"{where}: {self.severity}:{what} {self.message}"


@dataclass
class ValidationReport:
    """All findings for one file; ``ok`` when none is an error."""

    path: str
    kind: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def groups(self, smallest: int = 3) -> list[FindingGroup]:
        """Findings of one kind together (at least ``smallest`` of them; fewer stay one by one), in the order
        their first finding came."""
        kinds: dict[tuple, list[Finding]] = {}
        for finding in self.findings:
            key = (finding.severity, finding.rule, finding.element) if finding.rule else (id(finding),)
            kinds.setdefault(key, []).append(finding)
        out = []
        for members in kinds.values():
            if len(members) >= smallest:
                out.append(FindingGroup(members))
            else:
                out.extend(FindingGroup([f]) for f in members)
        return out


# -- why a tool writes one GUID on two elements: (element, other element) -> the tool's habit --
SHARED_GUIDS = {("Code", "Case"): "NVivo writes case nodes this way",
                ("Case", "Code"): "NVivo writes case nodes this way",
                ("PDFSelection", "PlainTextSelection"): "ATLAS.ti writes a PDF quotation and its text this way",
                ("PDFSource", "Representation"): "ATLAS.ti writes a PDF and its text this way"}


@dataclass
class FindingGroup:
    """One finding, or several of one kind told once: how many, what they share, and where the first are."""

    findings: list[Finding]

    @property
    def severity(self) -> str:
        return self.findings[0].severity

    def __str__(self) -> str:
        first = self.findings[0]
        if len(self.findings) == 1:
            return str(first)
        return f"{first.file}: {first.severity}: {self.summary()}"

    def summary(self) -> str:
        """What the findings of the group share, in a sentence that counts them."""
        first, n = self.findings[0], len(self.findings)
        kind, _, other = first.rule.partition(":")
        element = f"<{first.element}>" if first.element else "findings"
        if kind == "shared-guid":
            habit = SHARED_GUIDS.get((first.element or "", other))
            return (f"{n} {element} elements share their GUID with a <{other}>" + (f" - {habit}" if habit else "")
                    + "; references to those GUIDs are ambiguous.")
        return f"{n} {element} elements: {_GROUP_TEXT.get(kind, first.message)}"

    def examples(self, count: int = 3) -> list[str]:
        """Where the first few findings are: element and GUID (and line, where lines mean something)."""
        out = []
        for f in self.findings[:count]:
            where = f"<{f.element}{' guid=' + f.guid if f.guid else ''}>" if f.element else f.message
            out.append(f"line {f.line}: {where}" if f.line else where)
        return out


_GROUP_TEXT = {
    "schema": "do not match the REFI-QDA schema. Fix the elements or export the project again from its tool.",
    "duplicate-guid": "use a GUID another element of the same kind has; every element needs its own GUID.",
    "dangling-reference": "point at something that is not in the file. Remove the references or add what they "
                          "name; merging or re-exporting may have lost it.",
    "edge": "name a vertex that is not in their graph.",
    "sync-point": "name a sync point that is not in their transcript.",
    "two-texts": "have both PlainTextContent and plainTextPath; REFI-QDA allows exactly one.",
    "no-text": "have neither PlainTextContent nor plainTextPath, so they have no text. Export the project again "
               "with its texts.",
    "no-scheme": "name their files without a scheme; NVivo 15 imports such sources empty and QualCoder crashes. "
                 "`refi-bridge convert` writes internal://.",
    "missing-file": "name files that are not in the archive's sources folder. Add the files, or export the project "
                    "again.",
    "reversed-span": "start after they end. Swap the positions or remove the selections.",
    "outside-text": "lie outside their text: it was changed after coding, or positions are in another unit.",
}


def validate(path: str, progress: Progress | Reporter | None = None) -> ValidationReport:
    """Check a ``.qdpx``, ``.qde`` or ``.qdc`` file; raises only when it is not a REFI-QDA file at all.

    ``progress`` is told each step (see :mod:`refi_bridge.progress`).
    """
    say = quiet(progress)
    where = str(path)
    say(f"reading {Path(path).name}")
    with open(path, "rb") as stream:
        head = stream.read(8)
    archive = None
    if qdpx.is_archive(head):
        archive = qdpx.open_archive(path)
        data = archive.qde_bytes
        display = f"{where}!{archive.qde_member}"
    else:
        data = Path(path).read_bytes()
        display = where
    with archive or nullcontext():
        root = qde.parse_xml(data, where)
        kind, namespace = qde.document_kind(root, where)
        report = ValidationReport(where, "qdpx" if archive else kind)
        one_line = data.count(b"\n") < 2
        checker = _Checker(report, display, root, one_line)
        checker.namespace(namespace, kind)
        say("checking against the REFI-QDA schema")
        checker.schema()
        say("checking GUIDs and references")
        checker.guids()
        checker.references(kind)
        if kind == "qde":
            checker.text_rule()
            if archive is not None:
                checker.members(archive)
            say("checking text positions")
            checker.positions(root, where, archive)
    if one_line:
        # -- the XML is one line (NVivo writes it so): line numbers would all be 1 and say nothing --
        report.findings = [replace(f, line=None) for f in report.findings]
    return report


class _Checker:
    def __init__(self, report: ValidationReport, display: str, root: etree._Element, one_line: bool = False) -> None:
        self.report = report
        self.one_line = one_line
        self.display = display
        self.root = root
        self.ns = etree.QName(root).namespace or ""
        self.lines: dict[str, int] = {}

    def add(self, severity: str, el: etree._Element | None, message: str, guid: str | None = None,
            line: int | None = None, rule: str = "") -> None:
        element = etree.QName(el).localname if el is not None else None
        if el is not None:
            guid = guid or el.get("guid")
            line = line or el.sourceline
        self.report.findings.append(Finding(severity, self.display, line, element, guid, message, rule))

    def local(self, el: etree._Element) -> str:
        return etree.QName(el).localname if isinstance(el.tag, str) else ""

    def elements(self, *names: str) -> Iterable[etree._Element]:
        prefix = f"{{{self.ns}}}" if self.ns else ""
        for name in names:
            yield from self.root.iter(prefix + name)

    # -- checks ---------------------------------------------------------------------------------------------

    def namespace(self, namespace: str, kind: str) -> None:
        standard = qde.NS_PROJECT if kind == "qde" else qde.NS_CODEBOOK
        if namespace != standard:
            self.add(WARNING, self.root, f"the namespace is {namespace or 'missing'!r}, not the standard "
                     f"{standard!r}; tools that validate will reject the file. `refi-bridge convert` writes it "
                     "in the standard namespace.")
            # -- check the structure anyway, as if the namespace were right --
            for el in self.root.iter():
                if isinstance(el.tag, str) and etree.QName(el).namespace == (namespace or None):
                    el.tag = f"{{{standard}}}{etree.QName(el).localname}"
            self.ns = standard

    def schema(self) -> None:
        for line, message, path in schema_errors(self.root):
            el = None
            if path:
                try:
                    found = self.root.getroottree().xpath(path)
                    el = found[0] if found else None
                except etree.XPathError:
                    el = None
            self.add(ERROR, el, f"does not match the REFI-QDA schema: {qde.one_line(message).rstrip('.')}. Fix the element or export the "
                     "project again from its tool.", line=line, rule="schema")

    def guids(self) -> None:
        seen: dict[str, list[etree._Element]] = defaultdict(list)
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            guid = el.get("guid")
            if guid is not None and self.local(el) != "MemberCode":
                seen[guid_key(guid)].append(el)
                self.lines.setdefault(guid_key(guid), el.sourceline)
        for elements in seen.values():
            if len(elements) < 2:
                continue
            names = {self.local(el) for el in elements}
            first = elements[0]
            others = ", ".join(f"<{self.local(el)}>" + ("" if self.one_line else f" on line {el.sourceline}")
                               for el in elements[1:])
            if len(names) == len(elements):
                self.add(WARNING, first, f"its GUID is also used by {others}. Some tools do this (ATLAS.ti for a "
                         "PDF and its text, NVivo for a case and its code); references to it are ambiguous.",
                         rule=f"shared-guid:{self.local(elements[1])}")
            else:
                self.add(ERROR, first, f"its GUID is used again by {others}; every element needs its own GUID. "
                         "Give the copies new GUIDs.", rule="duplicate-guid")

    def references(self, kind: str) -> None:
        targets: dict[str, set[str]] = defaultdict(set)
        everything: set[str] = set()
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            guid = el.get("guid")
            if guid is None:
                continue
            local = self.local(el)
            key = guid_key(guid)
            everything.add(key)
            family = ("source" if local in _SOURCES else "selection" if local in _SELECTIONS else local)
            targets[family].add(key)

        def check(el: etree._Element, attribute: str, family: str, what: str) -> None:
            value = el.get(attribute)
            if value is None:
                return
            pool = everything if family == "*" else targets[family]
            if guid_key(value) not in pool:
                self.add(ERROR, el, f"{attribute}={value} points at no {what} in the file. Remove the "
                         f"reference or add the {what}; merging or re-exporting may have lost it.",
                         guid=el.get("guid") or (el.getparent().get("guid") if el.getparent() is not None
                                                 else None), rule="dangling-reference")

        if kind == "qdc":
            for el in self.elements("MemberCode"):
                check(el, "guid", "Code", "code")
            return
        for el in self.elements("CodeRef", "MemberCode"):
            check(el, "targetGUID", "Code", "code")
        for el in self.elements("NoteRef", "MemberNote"):
            check(el, "targetGUID", "Note", "note")
        for el in self.elements("SourceRef", "MemberSource"):
            check(el, "targetGUID", "source", "source")
        for el in self.elements("SelectionRef"):
            check(el, "targetGUID", "selection", "selection")
        for el in self.elements("VariableRef"):
            check(el, "targetGUID", "Variable", "variable")
        for el in self.root.iter():
            if isinstance(el.tag, str):
                for attribute in _USER_ATTRIBUTES:
                    check(el, attribute, "User", "user")
        for el in self.elements("Link"):
            check(el, "originGUID", "*", "object")
            check(el, "targetGUID", "*", "object")
        for el in self.elements("Vertex", "Edge"):
            check(el, "representedGUID", "*", "object")
        for graph in self.elements("Graph"):
            vertices = {guid_key(v.get("guid")) for v in graph if self.local(v) == "Vertex"}
            for edge in graph:
                if self.local(edge) != "Edge":
                    continue
                for attribute in ("sourceVertex", "targetVertex"):
                    value = edge.get(attribute)
                    if value is not None and guid_key(value) not in vertices:
                        self.add(ERROR, edge, f"{attribute}={value} is not a vertex of this graph. Remove the "
                                 "edge or add the vertex.", rule="edge")
        for transcript in self.elements("Transcript"):
            points = {guid_key(p.get("guid")) for p in transcript if self.local(p) == "SyncPoint"}
            for selection in transcript:
                if self.local(selection) != "TranscriptSelection":
                    continue
                for attribute in ("fromSyncPoint", "toSyncPoint"):
                    value = selection.get(attribute)
                    if value is not None and guid_key(value) not in points:
                        self.add(ERROR, selection, f"{attribute}={value} is not a sync point of its "
                                 "transcript. Fix the reference.", rule="sync-point")

    def text_rule(self) -> None:
        prefix = f"{{{self.ns}}}" if self.ns else ""
        for el in self.elements(*_TEXT_HOLDERS):
            inline = el.find(prefix + "PlainTextContent") is not None
            path = el.get("plainTextPath") is not None
            if inline and path:
                self.add(ERROR, el, "has both PlainTextContent and plainTextPath; REFI-QDA allows exactly one. "
                         "Remove one of them.", rule="two-texts")
            elif not inline and not path:
                self.add(ERROR, el, "has neither PlainTextContent nor plainTextPath, so it has no text; "
                         "REFI-QDA requires exactly one. Export the project again with its texts.", rule="no-text")

    def members(self, archive: qdpx.Archive) -> None:
        present = {name.lower() for name in archive.members}
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            for attribute in ("plainTextPath", "richTextPath", "path"):
                value = el.get(attribute)
                if value is None:
                    continue
                name = qde.internal_name(value)
                if name is None:
                    continue  # relative:// and absolute:// files live outside the archive by design
                if not value.lower().startswith("internal://"):
                    self.add(WARNING, el, f"{attribute}={value!r} has no scheme; NVivo 15 imports such sources "
                             "empty and QualCoder crashes. `refi-bridge convert` writes internal://.", rule="no-scheme")
                if name.lower() not in present:
                    self.add(ERROR, el, f"{attribute}={value!r} names a file that is not in the archive's "
                             "sources folder. Add the file, or export the project again.", rule="missing-file")

    def positions(self, root: etree._Element, where: str, archive: qdpx.Archive | None) -> None:
        resolve = qdpx.member_reader(archive) if archive is not None else None
        with warnings.catch_warnings(), (resolve or nullcontext()):
            warnings.simplefilter("ignore", RefiBridgeWarning)
            try:
                project = qde.read_root(root, path=where, resolve=resolve, check_spans=False)
            except RefiBridgeError as error:
                if self.report.ok:  # otherwise the schema findings already say what is wrong
                    self.add(ERROR, None, f"cannot be read as a project: {error}")
                return
        info = project.read_info
        for message in (info.warnings if info else []):
            self.add(WARNING, None, message.removeprefix(f"{where}: "))
        for _, selection, owner in project.iter_selections():
            start = getattr(selection, "start", None)
            if start is None:
                continue
            text = getattr(owner, "text", None)
            line = self.lines.get(guid_key(selection.guid))
            if selection.start > selection.end:
                self.report.findings.append(Finding(
                    ERROR, self.display, line, "PlainTextSelection", selection.guid,
                    f"startPosition ({selection.start}) is after endPosition ({selection.end}). Swap them or "
                    "remove the selection.", "reversed-span"))
            if text is not None and (selection.start < 0 or selection.end > len(text)):
                self.report.findings.append(Finding(
                    ERROR, self.display, line, "PlainTextSelection", selection.guid,
                    f"the span {selection.start}-{selection.end} lies outside its text of {len(text)} "
                    "characters. The text was changed after coding, or positions are in another unit.",
                    "outside-text"))
