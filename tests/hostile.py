"""Hostile and unlucky files built by hand: XML as strings, archives with zipfile, never refi_bridge's writer.

A regression test for a reading or merging defect must not depend on the code it tests to make its input,
so these helpers only glue strings and call the standard library.
"""

from __future__ import annotations

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
