"""Plain-text files of sources: bytes to text and back, so that a text written back is byte for byte the same.

REFI-QDA requires UTF-8. Real files add a byte-order mark (NVivo for Windows, QualCoder) and, rarely, come in
another encoding; the mark is remembered and not counted in positions, other encodings are read with a
warning and written back as UTF-8.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from refi_bridge.errors import ProjectFileError

_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class DecodedText:
    """A decoded text file: the text without BOM, whether it had one, and a warning if it was not UTF-8."""

    text: str
    bom: bool
    warning: str | None = None


def decode_text(data: bytes, name: str = "text file") -> DecodedText:
    """Decode the bytes of a source's plain-text file.

    UTF-8 with or without BOM is the rule; UTF-16 with a BOM and, last, Windows-1252 are accepted with a
    warning, because positions can only be honoured on a text that was read.
    """
    if data.startswith(_BOM):
        body, bom = data[len(_BOM):], True
    else:
        body, bom = data, False
    try:
        return DecodedText(body.decode("utf-8"), bom)
    except UnicodeDecodeError as error:
        problem = error
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            # -- an odd length or a lone surrogate: no reading of it is the text the coders saw --
            raise ProjectFileError(f"{name}: starts as UTF-16 but is not valid UTF-16 ({error.reason} at byte "
                                   f"{error.start}); save the text as UTF-8 and export the project again.",
                                   name) from None
        return DecodedText(text, False,
                           f"{name} is UTF-16, not the UTF-8 REFI-QDA requires; it will be written as UTF-8")
    return DecodedText(data.decode("cp1252", errors="replace"), False,
                       f"{name} is not valid UTF-8 (byte {problem.start}); read as Windows-1252 and will be "
                       "written as UTF-8. Check its special characters")


def encode_text(text: str, bom: bool = False) -> bytes:
    """The bytes of a plain-text file: UTF-8, with a byte-order mark when ``bom``."""
    data = text.encode("utf-8")
    return _BOM + data if bom else data
