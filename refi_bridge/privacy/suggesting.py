"""``--suggest``: a draft key for the researcher to review, found by rules that need no model and no network.

What is suggested, from every text and name the key would rewrite:

* **capitalised words** that recur away from the start of a sentence ("... said Ingrid, and ..."), and are
  not mostly written in lower case elsewhere (which rules out "The", or "Post" in "post a comment");
* **runs of two or three capitalised words** ("Ingrid Halvorsen", "New York Times"), wherever they stand;
  a sentence's first word is cut from a run when it is an ordinary word ("Then Ingrid Halvorsen");
* **speaker labels** at the start of a line ("Ingrid:"), other than the generic ones (Interviewer, Q, A...);
* **e-mail addresses, URLs and web domains, phone numbers, dates and long numbers** (six digits or more),
  even once.

Each suggestion comes with its count and an example in context, and a replacement pre-filled by category:
``[Person 1]``, ``[Organisation 1]`` (acronyms, and names with words like "Hospital" or "Ltd"), ``[Place 1]``
(mostly after "in", "from" or "near"), ``[E-mail 1]``... The categories are guesses for a person to
correct; so is the list. It finds nothing that is written in lower case, misspelt, or said only once.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from refi_bridge.formats.positions import text_owners
from refi_bridge.model import AudioSource, Project, VideoSource

COLUMNS = ("original", "replacement", "category", "match", "count", "example")
CATEGORIES = {"person": "Person", "organisation": "Organisation", "place": "Place", "e-mail": "E-mail",
              "url": "URL", "phone": "Phone", "date": "Date", "number": "Number"}

_TOKEN = re.compile(r"[^\W\d_](?:[\w'’.-]*\w)?")
_OPENERS = " \t\u00a0\"“‘'([«¿¡*•·–—->"
_ENDS = ".!?…:"
_CLOSERS = "\"”’')»"
_GENERIC_LABELS = {"interviewer", "interviewee", "respondent", "participant", "question", "answer", "q", "a", "i",
                   "r", "p", "speaker", "moderator", "facilitator", "therapist", "client", "patient", "note",
                   "comment", "transcript", "researcher"}
_ORGANISATION_WORDS = {
    "inc", "ltd", "llc", "plc", "gmbh", "ag", "as", "asa", "ab", "co", "corp", "corporation", "company", "group",
    "university", "college", "school", "academy", "institute", "hospital", "clinic", "centre", "center", "council",
    "ministry", "department", "agency", "authority", "foundation", "association", "society", "union", "church",
    "bank", "trust", "services", "service", "media", "news", "post", "times", "press", "journal", "herald",
    "network", "online", "studio", "studios", "club", "team", "committee", "office", "police", "army"}
# -- words that open a run of capitals without being part of the name ("The Guardian", "Dear Ingrid") --
_LEADING = {"the", "this", "these", "that", "those", "a", "an", "our", "your", "my", "his", "her", "their", "its",
            "and", "or", "of", "to", "in", "on", "for", "with", "dear", "hi", "hello", "mr", "mrs", "ms", "dr"}
_PLACE_PREPOSITIONS = {"in", "from", "near"}

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
# -- structured identifiers, most specific first: where two overlap the earlier kind wins --
_PATTERNS = (
    ("e-mail", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("url", re.compile(r"(?:https?://|www\.)[^\s<>\"”’)\]]+[^\s<>\"”’)\].,;:!?]")),
    ("url", re.compile(r"(?<![\w@.-])(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|info|io|co|uk|no|de|fr|nl|se|dk|fi|"
                       r"au|ca|us|eu|ie|es|it|ch|at|be|nz|in)(?![\w.-]|\.\w)", re.IGNORECASE)),
    ("date", re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])|(?<![\w./])\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})"
                        r"(?![\w./])|(?<!\w)\d{1,2}\.? (?:" + _MONTHS + r")\.?,? \d{4}(?!\w)|(?<!\w)(?:" + _MONTHS
                        + r")\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}(?!\w)")),
    ("phone", re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?![\w])")),
    ("number", re.compile(r"(?<![\w.,-])\d{6,}(?!\w)")),
)


@dataclass
class _Found:
    count: int = 0
    example: str | None = None
    category: str | None = None
    context: Counter = field(default_factory=Counter)  # the word before each occurrence


def texts_of(project: Project) -> Iterator[str]:
    """Every text and name of a project the key would rewrite (code and user names excepted)."""
    for owner in text_owners(project.sources, project.notes):
        yield from (owner.text or "", owner.name or "", owner.description or "")
        for selection in owner.selections:
            yield from (selection.name or "", selection.description or "")
    for source in project.sources:
        yield from (source.name or "", source.description or "")
        yield from (v.value or "" for v in source.variable_values if v.type == "Text")
        if isinstance(source, (AudioSource, VideoSource)):
            for transcript in source.transcripts:
                yield from (transcript.text or "", transcript.name or "")
    for case in project.cases:
        yield from (case.name or "", case.description or "")
        yield from (v.value or "" for v in case.variable_values if v.type == "Text")
    yield from (project.name or "", project.description or "")


def _context(text: str, start: int, end: int) -> str:
    left, right = max(0, start - 40), min(len(text), end + 40)
    snippet = ("…" if left else "") + text[left:start] + "[" + text[start:end] + "]" + text[end:right] + \
        ("…" if right < len(text) else "")
    return " ".join(snippet.split())


def _token(m: re.Match) -> tuple[int, int, str]:
    """A word as ``(start, end, word)``, without a possessive ending ("BBC's" is "BBC")."""
    word = m.group()
    if word.endswith(("'s", "’s")) and len(word) > 2:
        return m.start(), m.end() - 2, word[:-2]
    return m.start(), m.end(), word


def _sentence_start(text: str, start: int) -> bool:
    """True when the word at ``start`` opens a sentence, a line or a text (so its capital says nothing)."""
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    if i < 0 or text[i] in "\n\r" or text[i] in _ENDS or text[i].isdigit():
        return True
    return text[i] in _CLOSERS and i > 0 and text[i - 1] in _ENDS


def _capitalised(word: str) -> bool:
    return word[0].isupper() and len(word) > 1 and not word.startswith(("I'", "I’"))


def suggest(project: Project, *, min_count: int = 2) -> pd.DataFrame:
    """A draft key for ``project`` (see the module): columns original, replacement, category, match, count,
    example; ``min_count`` is how often a capitalised word or run must recur to be suggested."""
    texts = [text for text in texts_of(project) if text]
    lower: Counter = Counter()
    tokens_of: list[list[tuple[int, int, str]]] = []
    for text in texts:
        tokens = [_token(m) for m in _TOKEN.finditer(text)]
        tokens_of.append(tokens)
        lower.update(word for _, _, word in tokens if word.islower())
    found: dict[str, _Found] = defaultdict(_Found)

    def note(original: str, text: str, start: int, end: int, category: str | None = None, before: str = "") -> None:
        item = found[original]
        item.count += 1
        item.example = item.example or _context(text, start, end)
        item.category = item.category or category
        item.context[before.lower()] += 1

    for text, tokens in zip(texts, tokens_of):
        taken = _structured(text, note)
        i = 0
        while i < len(tokens):
            start, end, word = tokens[i]
            if not _capitalised(word) or taken[start]:
                i += 1
                continue
            # -- a run of capitalised words joined by single spaces --
            j = i
            while j + 1 < len(tokens) and _capitalised(tokens[j + 1][2]) and \
                    text[tokens[j][1]:tokens[j + 1][0]] in (" ", "\u00a0"):
                j += 1
            first = i
            at_start = _sentence_start(text, start)
            if j > i and (word.lower() in _LEADING or (at_start and lower[word.lower()] > 0)):
                first = i + 1  # "Then Ingrid Halvorsen", "The Washington Post": an ordinary first word is not part
            before = tokens[first - 1][2] if first > 0 else ""
            if 1 <= j - first <= 2:
                note(text[tokens[first][0]:tokens[j][1]], text, tokens[first][0], tokens[j][1], before=before)
            elif j == first and not (at_start and first == i):
                single = tokens[first]
                note(single[2], text, single[0], single[1], before=before)
            elif j == i and at_start and text[end:end + 1] == ":" and word.lower() not in _GENERIC_LABELS \
                    and (start == 0 or text[start - 1] in "\n\r"):
                note(word, text, start, end, "person")  # a speaker label
            i = j + 1
    rows = []
    for original, item in found.items():
        structured = item.category in ("e-mail", "url", "phone", "date", "number")
        if not structured:
            if item.count < min_count or original.lower() in {c.lower() for c in CATEGORIES.values()}:
                continue
            if " " not in original and lower[original.lower()] >= item.count:
                continue  # mostly an ordinary word: "Post", "Site"
        rows.append([original, None, item.category or _category(original, item), "", item.count, item.example])
    order = list(CATEGORIES)
    rows.sort(key=lambda row: (order.index(row[2]), -row[4], row[0]))
    numbers: Counter = Counter()
    for row in rows:
        numbers[row[2]] += 1
        row[1] = f"[{CATEGORIES[row[2]]} {numbers[row[2]]}]"
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _structured(text: str, note) -> bytearray:
    """Find e-mails, URLs, dates, phone numbers and long numbers in ``text``; return which characters they
    take (1 for taken), so that words inside them are not counted again."""
    taken = bytearray(len(text))
    for category, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if 1 in taken[m.start():m.end()]:
                continue
            if category == "phone" and sum(c.isdigit() for c in m.group()) < 7:
                continue
            taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
            note(m.group(), text, m.start(), m.end(), category)
    return taken


def _category(original: str, item: _Found) -> str:
    words = original.split()
    if any(w.isupper() and len(w) > 1 for w in words) or any(w.lower().strip(".") in _ORGANISATION_WORDS
                                                             for w in words):
        return "organisation"
    after = sum(n for word, n in item.context.items() if word in _PLACE_PREPOSITIONS)
    if after * 2 > item.count:
        return "place"
    return "person"


def write_suggestion(frame: pd.DataFrame, path, *, project_name: str | None = None) -> None:
    """Write a draft key as CSV or, for ``.xlsx``, as a workbook with the review instructions above it."""
    from pathlib import Path

    from refi_bridge.formats.exchange import atomic_output
    from refi_bridge.tables.excel import Sheet, csv_cell, write_workbook

    target = Path(path)
    with atomic_output(target) as temporary:
        if target.suffix.lower() == ".csv":
            # -- as every CSV we write: UTF-8 with a BOM (Excel on Windows reads it as UTF-8), and a phone
            #    number "+47 ..." behind the apostrophe spreadsheets hide, so that it is not a formula --
            safe = frame.copy()
            for column in ("original", "replacement", "category", "example"):
                safe[column] = safe[column].map(csv_cell)
            safe.to_csv(temporary, index=False, encoding="utf-8-sig")
            return
        caption = [
            "A draft: review every row before using it as the key. Delete rows that do not identify anyone, "
            "correct the category and the replacement, add what the rules cannot find (names written in lower "
            "case, nicknames, places of work, rare events).",
            "match: empty = whole words, case-sensitive; 'ignore-case'; 'anywhere' (inside words too).",
            "Keep this file apart from the data: it holds the names it replaces.",
        ]
        write_workbook(temporary, [Sheet(name="Key", frame=frame, caption=caption, wrap=["example"],
                                         title=f"Draft key{' for ' + project_name if project_name else ''}",
                                         widths={"example": 70, "original": 28, "replacement": 20})])
