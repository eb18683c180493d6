"""The key: which words of a project are replaced, and by what.

A key is a table the researcher keeps apart from the data, as CSV or XLSX, with the columns ``original`` and
``replacement`` and, optionally, ``category`` (person, organisation, place...) and ``match``. An entry
matches whole words and is case-sensitive unless its ``match`` says ``ignore-case`` or ``anywhere`` (inside
words too), or both; an original may hold several words ("Verizon Media"). A match never starts or ends
inside a word unless the entry says ``anywhere``: "Ann" does not match in "Annika".

Where matches overlap, the longest entry wins ("Verizon Media" over "Verizon" and over "Media Group"),
the earlier one when they are equally long. A key is refused when a replacement contains an original (its
own or another entry's): replacing would put back what the key takes out.

:meth:`Key.find` scans a text once, whatever the number of entries: the entries of each kind of match are
compiled into one regular expression shaped like a trie of their characters, so the engine follows one path
per position instead of trying every entry in turn.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from refi_bridge.errors import ProjectFileError, PseudonymisationError, RefiBridgeError
from refi_bridge.formats.qdpx import ReadLimits, check_zip

COLUMNS = ("original", "replacement", "category", "match")
# -- a key is a table of hundreds or thousands of rows: a few megabytes at most; the workbook is checked as a
#    ZIP against these before any library decompresses it --
KEY_LIMITS = ReadLimits(max_members=1_000, max_total_size=256 * 2**20, max_ratio=250.0,
                        ratio_applies_above=8 * 2**20)
WORD, IGNORE_CASE, ANYWHERE = "word", "ignore-case", "anywhere"
# -- how people write the match column; empty means whole words, case-sensitive --
_MATCH_WORDS = {"": WORD, "word": WORD, "words": WORD, "whole word": WORD, "whole-word": WORD,
                "case-sensitive": WORD, "exact": WORD, "ignore-case": IGNORE_CASE, "ignore case": IGNORE_CASE,
                "ignorecase": IGNORE_CASE, "case-insensitive": IGNORE_CASE, "any case": IGNORE_CASE,
                "anywhere": ANYWHERE, "substring": ANYWHERE, "inside words": ANYWHERE}


@dataclass(frozen=True)
class Entry:
    """One row of the key: an original, its replacement, and how the original is matched.

    ``row`` is the row of the key file it came from (for messages); ``None`` for entries made in code.
    """

    original: str
    replacement: str
    category: str | None = None
    ignore_case: bool = False
    anywhere: bool = False
    row: int | None = None

    @property
    def match(self) -> str:
        """The ``match`` column as the key writes it: ``word``, ``ignore-case``, ``anywhere`` or both."""
        parts = [ANYWHERE] if self.anywhere else []
        if self.ignore_case:
            parts.append(IGNORE_CASE)
        return ", ".join(parts) or WORD

    @property
    def label(self) -> str:
        """The entry as a message names it: its row and its original."""
        return f"row {self.row} ({self.original!r})" if self.row is not None else repr(self.original)


class Match(NamedTuple):
    """Where an entry matched: ``[start, end)`` of the text, and the entry's index in the key."""

    start: int
    end: int
    entry: int


def _is_word(character: str) -> bool:
    # -- the same notion of a word character as the regular expressions' \w --
    return character.isalnum() or character == "_"


class _Group:
    """The entries that share one way of matching, as a trie (for probing) and a pattern (for scanning)."""

    def __init__(self, ignore_case: bool, anywhere: bool) -> None:
        self.ignore_case = ignore_case
        self.anywhere = anywhere
        self.trie: dict = {}
        self.by_text: dict[str, int] = {}

    def fold(self, text: str) -> str:
        return text.lower() if self.ignore_case else text

    def add(self, entry: Entry, index: int) -> int | None:
        """Add an entry; return the index of an entry with the same original, if there is one."""
        folded = self.fold(entry.original)
        if folded in self.by_text:
            return self.by_text[folded]
        self.by_text[folded] = index
        node = self.trie
        for character in folded:
            node = node.setdefault(character, {})
        node[None] = index
        return None

    def branches(self) -> list[str]:
        r"""The group as alternatives that each begin with one literal character.

        -- why: a pattern whose every alternative starts with a literal lets the regular expression engine skip
        to the next possible first character at C speed; a look-behind (the word boundary) or a case-insensitive
        group in front costs that, and scanning gets ten times slower. So the boundary is checked just after
        the first character (``(?<!\w[\s\S])``: the character before it is not a word character), and a
        case-insensitive first character is written in both its cases. --
        """
        out = []
        for character in sorted(k for k in self.trie if k is not None):
            rest = self._node(self.trie[character], character)
            if self.ignore_case:
                rest = f"(?i:{rest})" if rest else ""
            boundary = r"(?<!\w[\s\S])" if not self.anywhere and _is_word(character) else ""
            cases = {character, character.upper()} if self.ignore_case else {character}
            out.extend(re.escape(case) + boundary + rest for case in sorted(cases) if len(case) == 1)
        return out

    def _node(self, node: dict, last: str) -> str:
        alternatives = [re.escape(character) + self._node(node[character], character)
                        for character in sorted(k for k in node if k is not None)]
        if None in node:
            # -- after every longer continuation has failed: the entry ends here, on a word boundary --
            alternatives.append(r"(?!\w)" if not self.anywhere and _is_word(last) else "")
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    def entry_of(self, matched: str) -> int | None:
        """The entry whose original ``matched`` is, if it is one of this group's."""
        return self.by_text.get(self.fold(matched))

    def at(self, text: str, start: int) -> Iterator[tuple[int, int]]:
        """Every entry of the group that matches at ``start``, as ``(end, entry index)``."""
        node = self.trie
        size = len(text)
        position = start
        while position < size:
            character = text[position]
            folded = self.fold(character)
            if position == start and not self.anywhere and _is_word(character) and start > 0 \
                    and _is_word(text[start - 1]):
                return
            for part in folded:
                node = node.get(part)
                if node is None:
                    return
            position += 1
            index = node.get(None)
            if index is not None and (self.anywhere or not _is_word(character) or position >= size
                                      or not _is_word(text[position])):
                yield position, index


class Key:
    """A checked, compiled key: :meth:`find` its matches in a text, :meth:`apply` it to a text.

    Raises:
        PseudonymisationError: an entry without original or replacement, the same original twice, or a
            replacement that contains an original.
    """

    def __init__(self, entries: Iterable[Entry], *, path: str | None = None) -> None:
        self.path = path
        cleaned = []
        for entry in entries:
            original, replacement = (entry.original or "").strip(), (entry.replacement or "").strip()
            if not original:
                raise self._error(f"{entry.label if entry.row is not None else 'an entry'} has no original; fill "
                                  "it in or delete the row")
            if not replacement:
                raise self._error(f"{entry.label} has no replacement; write one (e.g. [Person 1]) or delete the "
                                  "row")
            cleaned.append(Entry(original, replacement, (entry.category or "").strip() or None, entry.ignore_case,
                                 entry.anywhere, entry.row))
        self.entries: tuple[Entry, ...] = tuple(cleaned)
        self._groups: list[_Group] = []
        groups: dict[tuple[bool, bool], _Group] = {}
        for index, entry in enumerate(self.entries):
            group = groups.get((entry.ignore_case, entry.anywhere))
            if group is None:
                group = groups[(entry.ignore_case, entry.anywhere)] = _Group(entry.ignore_case, entry.anywhere)
                self._groups.append(group)
            twin = group.add(entry, index)
            if twin is not None:
                raise self._error(f"{self.entries[twin].label} and {entry.label} replace the same original; keep "
                                  "one of them")
        self._regex = (re.compile("|".join(branch for group in self._groups for branch in group.branches()))
                       if self._groups else None)
        folded = {entry.original.lower(): (entry.ignore_case, entry.anywhere) for entry in self.entries}
        # -- one scan gives the answer unless two entries can match overlapping text: then every candidate
        #    around a match is looked at and the longest kept --
        self._probe = _may_overlap(folded)
        # -- one pass gives the answer unless a replacement can join the words around it into an original, or
        #    an entry matching inside words can leave the rest of its word standing alone --
        self.settles = not any(e.anywhere for e in self.entries) and not _may_join(
            set(folded), {e.replacement.lower() for e in self.entries})
        self._check_entries()

    def _error(self, message: str) -> PseudonymisationError:
        return PseudonymisationError(f"{self.path}: {message}." if self.path else f"key: {message}.")

    def _check_entries(self) -> None:
        for index, entry in enumerate(self.entries):
            # -- two entries of different kinds that match the same text ("Ingrid", "ingrid" ignoring case) --
            for end, other in self._at(entry.original, 0):
                if other != index and end == len(entry.original) and \
                        self.entries[other].replacement != entry.replacement:
                    first, second = sorted((index, other))
                    raise self._error(f"{self.entries[first].label} and {self.entries[second].label} both match "
                                      f"{entry.original!r} with different replacements; keep one of them")
            found = self.find(entry.replacement)
            if found:
                other = self.entries[found[0].entry]
                whose = "its own original" if found[0].entry == index else f"the original of {other.label}"
                raise self._error(f"{entry.label}: the replacement {entry.replacement!r} contains {whose}, which "
                                  "would be put back into the project; choose a replacement without it")

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def _entry_of(self, matched: str) -> int:
        for group in self._groups:
            index = group.entry_of(matched)
            if index is not None:
                return index
        raise AssertionError(f"matched {matched!r}, which is no entry")  # pragma: no cover

    def _at(self, text: str, start: int) -> Iterator[tuple[int, int]]:
        for group in self._groups:
            yield from group.at(text, start)

    def find(self, text: str) -> list[Match]:
        """Every match of the key in ``text``, in order, none overlapping another."""
        if self._regex is None or not text:
            return []
        if not self._probe:
            return [Match(m.start(), m.end(), self._entry_of(m.group())) for m in self._regex.finditer(text)]
        found = []
        position = 0
        search = self._regex.search
        while (m := search(text, position)) is not None:
            # -- a cluster: every candidate that starts inside the matches found so far, resolved longest first --
            start, limit = m.start(), m.end()
            candidates = []
            cursor = start
            while cursor < limit:
                for end, index in self._at(text, cursor):
                    candidates.append((cursor, end, index))
                    limit = max(limit, end)
                cursor += 1
            found.extend(_resolve(candidates))
            position = limit
        return found

    def apply(self, text: str) -> str:
        """``text`` with the key applied until nothing of it is left (see :mod:`refi_bridge.privacy.rewriting`)."""
        from refi_bridge.privacy.rewriting import rewrite

        return rewrite(text, self).text

    def __repr__(self) -> str:
        return f"<Key of {len(self.entries)} entries{' from ' + self.path if self.path else ''}>"


def _resolve(candidates: list[tuple[int, int, int]]) -> list[Match]:
    """Of overlapping candidates, keep the longest first (the earliest of equals), then whatever still fits."""
    chosen: list[tuple[int, int, int]] = []
    for start, end, index in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, index))
    return [Match(*c) for c in sorted(chosen)]


def _may_overlap(kinds: dict[str, tuple]) -> bool:
    """True when matches of two entries (their originals case-folded, with their kind of match) could overlap:
    one starting inside the other, or one the beginning of another of a different kind (the scan prefers the
    longest only among entries of one kind)."""
    prefixes = {text[:n] for text in kinds for n in range(1, len(text) + 1)}
    whole_words = not any(anywhere for _, anywhere in kinds.values())
    for text, kind in kinds.items():
        if any(kinds.get(text[:n], kind) != kind for n in range(1, len(text))):
            return True
        for i in range(1, len(text)):
            if whole_words and _is_word(text[i - 1]) and _is_word(text[i]):
                continue  # no whole-word match starts inside a word
            if text[i:] in prefixes or any(text[i:j] in kinds for j in range(i + 1, len(text))):
                return True
    return False


def _may_join(originals: set[str], replacements: set[str]) -> bool:
    """True when the end of a replacement could be the beginning of an original or the other way round
    (case-folded), so that a replacement and the words around it might spell an original."""
    prefixes = {text[:n] for text in originals for n in range(1, len(text))}
    suffixes = {text[-n:] for text in originals for n in range(1, len(text))}
    return any(r[-n:] in prefixes or r[:n] in suffixes for r in replacements for n in range(1, len(r) + 1))


# -------------------------------------------------------------------------------------------------------
# Reading a key
# -------------------------------------------------------------------------------------------------------

def read_key(path: str | os.PathLike) -> Key:
    """Read a key from a CSV (UTF-8) or XLSX file; the header row may sit under a title (as ``--suggest``
    writes it). Columns other than those of :data:`COLUMNS` (``count``, ``example``) are ignored.

    Raises:
        ProjectFileError: the file is missing, unreadable, or neither CSV nor XLSX.
        PseudonymisationError: no header row with ``original`` and ``replacement``, or a row that cannot work.
    """
    import pandas as pd

    where = Path(path)
    if not where.is_file():
        raise ProjectFileError(f"{where}: the key does not exist; give the CSV or XLSX file with columns "
                               "original,replacement.", str(where))
    suffix = where.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            check_zip(where, KEY_LIMITS)
            sheets = pd.read_excel(where, sheet_name=None, header=None, dtype=str, keep_default_na=False)
        elif suffix in (".csv", ".txt"):
            sheets = {"": pd.read_csv(where, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                      skip_blank_lines=False)}
        else:
            raise ProjectFileError(f"{where}: a key must be a .csv or .xlsx file; save the table as one of them.",
                                   str(where))
    except RefiBridgeError:
        raise
    except UnicodeDecodeError:
        raise ProjectFileError(f"{where}: not a UTF-8 text file; save the key as CSV UTF-8 (or as .xlsx).",
                               str(where)) from None
    except OSError as error:
        raise ProjectFileError(f"{where}: cannot be read ({error.strerror or error}).", str(where)) from None
    except Exception as error:  # noqa: BLE001 -- pandas and openpyxl fail on damaged files in many ways
        raise ProjectFileError(f"{where}: cannot be read as a {suffix[1:].upper()} table "
                               f"({type(error).__name__}); save the key again as .csv or .xlsx.", str(where)) from None
    for frame in sheets.values():
        rows = frame.values.tolist()
        for number, row in enumerate(rows):
            header = [str(cell).strip().lower() for cell in row]
            if "original" in header and "replacement" in header:
                return Key(_entries(rows[number + 1:], header, number + 2, where), path=str(where))
    raise PseudonymisationError(f"{where}: no header row with the columns original and replacement; the key "
                                "needs them (category and match are optional).")


def _entries(rows: list[list], header: list[str], first_row: int, where: Path) -> list[Entry]:
    column = {name: header.index(name) for name in COLUMNS if name in header}
    entries = []
    for number, row in enumerate(rows, start=first_row):
        cells = {name: _cell(row[i]) if i < len(row) else "" for name, i in column.items()}
        if not any(cells.values()):
            continue
        mode = cells.get("match", "").lower()
        words = {_MATCH_WORDS.get(part.strip()) for part in re.split(r"[,;+/&]| and ", mode)} if mode else {WORD}
        if None in words:
            raise PseudonymisationError(f"{where}: row {number}: match {cells['match']!r} is not one of word, "
                                        "ignore-case, anywhere (or 'anywhere, ignore-case'); leave it empty for "
                                        "whole words, case-sensitive.")
        entries.append(Entry(cells.get("original", ""), cells.get("replacement", ""), cells.get("category") or None,
                             ignore_case=IGNORE_CASE in words, anywhere=ANYWHERE in words, row=number))
    return entries


def _cell(value: object) -> str:
    """A cell's text, without the apostrophe a CSV puts before "+47 ..." or "=..." so that a spreadsheet shows
    it as text (see :func:`refi_bridge.tables.excel.csv_cell`)."""
    text = "" if value is None else str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "#"):
        return text[1:]
    return text


def as_key(key: Key | str | os.PathLike | Mapping[str, str] | Iterable[Entry]) -> Key:
    """A :class:`Key` from a key, a key file, a mapping ``{original: replacement}`` or entries."""
    if isinstance(key, Key):
        return key
    if isinstance(key, (str, os.PathLike)):
        return read_key(key)
    if isinstance(key, Mapping):
        return Key(Entry(str(original), str(replacement)) for original, replacement in key.items())
    return Key(key)
