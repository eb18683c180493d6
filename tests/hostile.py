"""Hostile and unlucky files built by hand: XML as strings, archives with zipfile, never refi_bridge's writer.

A regression test for a reading or merging defect must not depend on the code it tests to make its input,
so these helpers only glue strings and call the standard library. The second half builds the broken and
hostile files that test_safety refuses one by one and test_survey meets in bulk.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NS = "urn:QDA-XML:project:1.0"
ANA = "a0000000-0000-4000-8000-000000000001"
BEN = "a0000000-0000-4000-8000-000000000002"
THEME = "c0000000-0000-4000-8000-000000000001"
OTHER = "c0000000-0000-4000-8000-000000000002"

_counter = iter(range(1, 10**9))


def guid(prefix: str = "e") -> str:
    """A fresh, well-formed GUID, distinct within a test run."""
    return f"{prefix}{next(_counter):07x}-0000-4000-8000-000000000000"


def coding(code: str = THEME, user: str = ANA) -> str:
    return (f'<Coding guid="{guid()}" creatingUser="{user}"><CodeRef targetGUID="{code}"/></Coding>')


def span(start: int, end: int, code: str = THEME, user: str = ANA) -> str:
    """A PlainTextSelection with one coding."""
    return (f'<PlainTextSelection guid="{guid()}" startPosition="{start}" endPosition="{end}" '
            f'creatingUser="{user}">{coding(code, user)}</PlainTextSelection>')


def text_source(source_guid: str, name: str, text: str, *selections: str) -> str:
    return (f'<TextSource guid="{source_guid}" name={quoteattr(name)}><PlainTextContent>{escape(text)}'
            f'</PlainTextContent>{"".join(selections)}</TextSource>')


def users(*pairs: tuple[str, str]) -> str:
    pairs = pairs or ((ANA, "Ana"),)
    return "<Users>" + "".join(f'<User guid="{g}" name={quoteattr(n)}/>' for g, n in pairs) + "</Users>"


def codebook(*pairs: tuple[str, str]) -> str:
    pairs = pairs or ((THEME, "Theme"), (OTHER, "Other"))
    return ("<CodeBook><Codes>" + "".join(f'<Code guid="{g}" name={quoteattr(n)} isCodable="true"/>'
                                         for g, n in pairs) + "</Codes></CodeBook>")


def project(*sources: str, name: str = "p", user_pairs=(), code_pairs=(), extra: str = "") -> bytes:
    """A whole project document around the given source elements."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name={quoteattr(name)}>'
            f'{users(*user_pairs)}{codebook(*code_pairs)}<Sources>{"".join(sources)}</Sources>{extra}'
            "</Project>").encode()


def archive(path: Path, document: bytes, members: dict[str, bytes] | None = None, *,
            compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A ``.qdpx``: ``project.qde`` and the given members (names as stored, e.g. ``sources/a.txt``)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("project.qde", document)
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return path


# -- broken and hostile files: what test_safety refuses one by one and test_survey meets in bulk --

DATA = Path(__file__).parent / "data"
MINIMAL = (DATA / "minimal.qde").read_bytes()

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&xxe;"/>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol4;"/>"""

DOCTYPE = (b'<?xml version="1.0"?><!DOCTYPE Project SYSTEM "http://example.invalid/x.dtd">'
           b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>')

# -- content that is not a REFI-QDA file at all, and the start of the error it must give --
NOT_REFI = [
    (b"", "neither a ZIP"),
    (b"hello", "neither a ZIP"),
    (b"<Project name='x'", "not well-formed"),
    (b"<Other/>", "not <Project> or <CodeBook>"),
    (b"<Project xmlns='urn:example' name='x'/>", "not a REFI-QDA one"),
    (b"PK\x03\x04garbage", "not a readable ZIP"),
]


def make_zip(path: Path, members: dict[str, bytes], **attributes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            for key, value in attributes.get(name, {}).items():
                setattr(info, key, value)
            zf.writestr(info, data)
    return path


def lying_header(path: Path) -> Path:
    """An archive whose headers claim a size its member does not have."""
    make_zip(path, {"project.qde": MINIMAL})
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 10)
    struct.pack_into("<I", data, central + 24, 10)
    path.write_bytes(bytes(data))
    return path


def overlapping(path: Path) -> Path:
    """Two central-directory entries pointing at one local file: the construction of dense zip bombs."""
    make_zip(path, {"project.qde": MINIMAL})
    data = path.read_bytes()
    central = data.index(b"PK\x01\x02")
    end = data.index(b"PK\x05\x06")
    entry = data[central:end]
    twin = entry.replace(b"project.qde", b"sources/x.t")  # same length, same offset
    eocd = bytearray(data[end:])
    struct.pack_into("<HH", eocd, 8, 2, 2)
    struct.pack_into("<I", eocd, 12, len(entry) * 2)
    path.write_bytes(data[:central] + entry + twin + bytes(eocd))
    return path


def write_hostile(folder: Path) -> dict[Path, str]:
    """Write every kind of broken and hostile file into ``folder``; each path with a regular expression its
    one-line error must match."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {
        make_zip(folder / "slip.qdpx", {"project.qde": MINIMAL, "../evil.txt": b"x"}): "outside the archive",
        make_zip(folder / "link.qdpx", {"project.qde": MINIMAL, "sources/a.txt": b"/etc/passwd"},
                 **{"sources/a.txt": {"external_attr": 0o120777 << 16}}): "symbolic link",
        make_zip(folder / "bomb.qdpx", {"project.qde": MINIMAL, "sources/zeros.txt": b"\0" * (40 * 2**20)}):
            "zip bomb",
        lying_header(folder / "liar.qdpx"): ".",
        overlapping(folder / "overlap.qdpx"): "overlap|damaged|Overlapped",
        make_zip(folder / "empty.qdpx", {"sources/a.txt": b"x"}): "no .qde project document",
        make_zip(folder / "xxe.qdpx", {"project.qde": XXE}): "refused",
    }
    for name, content, pattern in (("xxe.qde", XXE, "refused"), ("laughs.qde", LAUGHS, "refused"),
                                   ("doctype.qde", DOCTYPE, "DOCTYPE"),
                                   ("no-start.qde", MINIMAL.replace(b' startPosition="2"', b""), "startPosition")):
        (folder / name).write_bytes(content)
        files[folder / name] = pattern
    for number, (content, pattern) in enumerate(NOT_REFI):
        path = folder / f"not-refi-{number}.qdpx"
        path.write_bytes(content)
        files[path] = pattern
    return files
