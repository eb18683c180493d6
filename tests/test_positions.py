"""Position units: conversions are exact inverses, and the unit of a file is decided from real evidence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refi_bridge.formats.encoding import decode_text, encode_text
from refi_bridge.formats.positions import (
    CODEPOINT,
    CODEPOINT_LF,
    UNITS,
    UTF16,
    OffsetMap,
    decide_unit,
    on_boundary,
)

texts = st.text("ab c\n\r😊é👍.", max_size=60)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(texts, st.data())
def test_utf16_offsets_agree_with_python_encoding(text, data):
    cp = data.draw(st.integers(0, len(text)))
    assert OffsetMap(text).from_codepoint(cp, UTF16) == utf16_length(text[:cp])


@given(texts, st.data())
def test_crlf_as_one_agrees_with_normalised_text(text, data):
    cp = data.draw(st.integers(0, len(text)))
    if text[cp - 1:cp + 1] == "\r\n" and cp > 0:
        cp -= 1  # between CR and LF is not a place in the normalised text
    assert OffsetMap(text).from_codepoint(cp, CODEPOINT_LF) == len(text[:cp].replace("\r\n", "\n"))


@given(texts, st.data(), st.sampled_from(UNITS))
def test_conversion_round_trips_at_character_boundaries(text, data, unit):
    cp = data.draw(st.integers(0, len(text)))
    offsets = OffsetMap(text)
    if unit == CODEPOINT_LF and 0 < cp < len(text) and text[cp - 1:cp + 1] == "\r\n":
        return
    assert offsets.to_codepoint(offsets.from_codepoint(cp, unit), unit) == cp


def test_offset_inside_a_surrogate_pair_rounds_to_the_character():
    offsets = OffsetMap("a😊b")  # UTF-16: a=0, 😊=1..2, b=3
    assert offsets.to_codepoint(2, UTF16) == 1
    assert offsets.to_codepoint(2, UTF16, round_up=True) == 2
    assert offsets.to_codepoint(3, UTF16) == 2
    assert offsets.length_in(UTF16) == 4


def test_unknown_unit_is_an_error():
    with pytest.raises(ValueError, match="unknown position unit"):
        OffsetMap("x").to_codepoint(0, "bytes")


def test_boundaries():
    text = "hello world"
    assert on_boundary(text, 0) and on_boundary(text, 5) and on_boundary(text, 11)
    assert not on_boundary(text, 2) and not on_boundary(text, 12)


def _coded(text: str, words: list[str], unit: str) -> list[tuple[int, int]]:
    offsets = OffsetMap(text)
    spans = []
    for word in words:
        start = text.index(word)
        spans.append((offsets.from_codepoint(start, unit), offsets.from_codepoint(start + len(word), unit)))
    return spans


# -- long words, so that a position read in the wrong unit lands inside a word --
TEXT = "😊 Introduction 👍 " + " ".join(f"therapeuticrelationship{i:02d} 😊" for i in range(20))
WORDS = [f"therapeuticrelationship{i:02d}" for i in range(3, 20)]


def test_nvivo_origin_is_confirmed_by_boundaries():
    decision = decide_unit("NVivo for Mac 12.7.0", [(TEXT, _coded(TEXT, WORDS, UTF16))])
    assert decision.unit == UTF16 and decision.warning is None and "confirmed" in decision.evidence


def test_boundaries_override_a_wrong_origin_with_a_warning():
    decision = decide_unit("NVivo for Windows 20.1", [(TEXT, _coded(TEXT, WORDS, CODEPOINT))])
    assert decision.unit == CODEPOINT and "fit word boundaries better" in decision.warning


def test_unknown_tool_with_utf16_positions_is_detected():
    decision = decide_unit("Some Tool 1.0", [(TEXT, _coded(TEXT, WORDS, UTF16))])
    assert decision.unit == UTF16 and "unknown tool" in decision.evidence


def test_undecidable_file_gets_a_warning_not_a_silent_guess():
    text = "😊xxxxxxxxxxxxxxxxxxxx"  # every edge inside one word: no unit looks better
    decision = decide_unit("Some Tool", [(text, [(3, 6)])])
    assert decision.unit == CODEPOINT and "cannot tell" in decision.warning


def test_no_diverging_text_needs_no_evidence():
    decision = decide_unit("MAXQDA 24", [("plain ascii", [(0, 5)])])
    assert decision.unit == CODEPOINT and decision.warning is None


@given(st.text(max_size=50), st.booleans())
def test_text_files_round_trip_byte_for_byte(text, bom):
    data = encode_text(text, bom)
    decoded = decode_text(data)
    assert (decoded.text, decoded.bom, decoded.warning) == (text.removeprefix("\ufeff") if bom else text, bom,
                                                            None) or text.startswith("\ufeff")
    assert encode_text(decoded.text, decoded.bom) == data


def test_non_utf8_texts_are_read_with_a_warning():
    assert decode_text("héllo".encode("utf-16")).warning.startswith("text file is UTF-16")
    latin = decode_text("héllo".encode("cp1252"))
    assert latin.text == "héllo" and "not valid UTF-8" in latin.warning
