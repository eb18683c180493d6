"""Hypothesis strategies for whole projects whose references hold together (codings point at real codes,
users and in-range spans), as attrs' tests/strategies.py builds nested classes."""

from __future__ import annotations

from hypothesis import strategies as st

from refi_bridge.model import (
    Case,
    Code,
    Coding,
    Note,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    Set,
    TextSource,
    User,
    Variable,
    VariableValue,
)

# -- characters that exercise every quirk: accents, typographic quotes, emoji (UTF-16 pairs), CR LF, XML
#    specials; nothing XML 1.0 forbids --
TEXT_ALPHABET = "abcdefghij klmnop,.;:!?\néøåÆ“”‘’–😊🙂👍\r&<>\"'\t"
NAME_ALPHABET = "abcdefgh ABCÉøå&<>\"'-–/"
# -- and what a tool may count differently still: lone CR, combining marks (e + U+0301 is one letter, two
#    code points), characters above U+FFFF --
WIDE_ALPHABET = TEXT_ALPHABET + "\r\r\n\u0301\u0308e\U0001d11e\U00020000"


@st.composite
def guids(draw) -> str:
    value = str(draw(st.uuids()))
    style = draw(st.sampled_from(["lower", "upper", "braces"]))
    if style == "upper":
        return value.upper()
    if style == "braces":
        return "{" + value + "}"
    return value


names = st.text(NAME_ALPHABET, min_size=1, max_size=12).filter(lambda s: s.strip() == s and s)
texts = st.text(TEXT_ALPHABET, min_size=0, max_size=120)
maybe = st.none() | st.text(NAME_ALPHABET, max_size=20)
stamps = st.none() | st.sampled_from(["2024-05-01T10:00:00Z", "2026-11-26T07:55:01Z"])


@st.composite
def code_trees(draw, depth: int = 0) -> Code:
    children = () if depth >= 2 else tuple(draw(st.lists(code_trees(depth + 1), max_size=2)))
    return Code(guid=draw(guids()), name=draw(names), is_codable=draw(st.booleans()),
                color=draw(st.none() | st.sampled_from(["#FF0000", "#0a0", "#12ab9F"])),
                description=draw(maybe), codes=children)


@st.composite
def spans(draw, text: str) -> tuple[int, int]:
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return start, end


@st.composite
def described_sources(draw, guid: str, name: str, coding) -> PDFSource | PictureSource:
    """A PDF with a Representation or a picture with a TextDescription (or neither), coded on its areas and
    on that text; ``coding()`` makes one coding."""
    text = draw(texts)
    selections = []
    for _ in range(draw(st.integers(0, 3))):
        start, end = draw(spans(text))
        selections.append(PlainTextSelection(guid=draw(guids()), start=start, end=end, codings=(coding(),)))
    described = None
    if draw(st.booleans()):
        described = TextSource(guid=draw(guids()), name="text", text=text, selections=tuple(selections))
    corners = {"first_x": 0, "first_y": 0, "second_x": draw(st.integers(1, 99)), "second_y": 9}
    if draw(st.booleans()):
        areas = tuple(PDFSelection(guid=draw(guids()), page=1, **corners, codings=(coding(),))
                      for _ in range(draw(st.integers(0, 2))))
        return PDFSource(guid=guid, name=name, path="internal://report.pdf", selections=areas,
                         representation=described)
    areas = tuple(PictureSelection(guid=draw(guids()), **corners, codings=(coding(),))
                  for _ in range(draw(st.integers(0, 2))))
    return PictureSource(guid=guid, name=name, path="internal://photo.png", selections=areas,
                         text_description=described)


@st.composite
def projects(draw, max_sources: int = 3, one_coding_per_selection: bool = False, min_sources: int = 0,
             alphabet: str = TEXT_ALPHABET, described: int = 0) -> Project:
    """Projects of up to ``max_sources`` text sources and up to ``described`` PDFs and pictures."""
    users = tuple(User(guid=draw(guids()), name=draw(names), id=draw(st.none() | st.just("AB")))
                  for _ in range(draw(st.integers(1, 3))))
    codes = tuple(draw(st.lists(code_trees(), min_size=1, max_size=3)))
    all_codes = [c for top in codes for c, _ in top.walk()]
    variables = (Variable(guid=draw(guids()), name="Outcome", type_of_variable="Text"),
                 Variable(guid=draw(guids()), name="Session", type_of_variable="Integer"))

    def coding() -> Coding:
        return Coding(guid=draw(guids()), code_guid=draw(st.sampled_from(all_codes)).guid,
                      creating_user=draw(st.none() | st.sampled_from([u.guid for u in users])),
                      creation_date_time=draw(stamps))

    sources = []
    for _ in range(draw(st.integers(min_sources, max_sources))):
        text = draw(st.text(alphabet, min_size=0, max_size=120))
        guid = draw(guids())
        selections = []
        for _ in range(draw(st.integers(0, 4))):
            start, end = draw(spans(text))
            count = 1 if one_coding_per_selection else draw(st.integers(0, 3))
            selections.append(PlainTextSelection(
                guid=draw(guids()), start=start, end=end, name=draw(maybe), description=draw(maybe),
                codings=tuple(coding() for _ in range(count)),
                creating_user=draw(st.none() | st.sampled_from([u.guid for u in users])),
                creation_date_time=draw(stamps)))
        inline = draw(st.booleans())
        sources.append(TextSource(
            guid=guid, name=draw(names), text=text, text_bom=False if inline else draw(st.booleans()),
            plain_text_path=None if inline else f"internal://{guid.strip('{}')}.txt",
            selections=tuple(selections), codings=tuple(coding() for _ in range(draw(st.integers(0, 1)))),
            variable_values=(VariableValue(variable_guid=variables[1].guid, type="Integer",
                                           value=str(draw(st.integers(1, 9)))),),
            description=draw(maybe)))
    for _ in range(draw(st.integers(0, described))):
        sources.append(draw(described_sources(draw(guids()), draw(names), coding)))
    cases = tuple(Case(guid=draw(guids()), name=f"Dyad {i:02d}", source_refs=(source.guid,),
                       variable_values=(VariableValue(variable_guid=variables[0].guid, type="Text",
                                                      value=draw(st.sampled_from(["positive", "troubled"]))),))
                  for i, source in enumerate(sources, start=1))
    notes = tuple(Note(guid=draw(guids()), name="memo", text=draw(texts)) for _ in range(draw(st.integers(0, 1))))
    sets = ()
    if draw(st.booleans()):
        sets = (Set(guid=draw(guids()), name=draw(names), member_codes=(all_codes[0].guid,),
                    member_sources=tuple(s.guid for s in sources[:1])),)
    return Project(name=draw(names), origin=draw(st.none() | st.just("hypothesis")), users=users, codes=codes,
                   variables=variables, cases=cases, sources=tuple(sources), notes=notes, sets=sets,
                   description=draw(maybe),
                   creation_date_time=draw(stamps))


# -- pseudonymising: keys whose originals contain a letter no XML scaffolding, GUID or date has (so that a
#    leftover found in the archive is a real one), and projects with those originals written into them --
ORIGINAL_ALPHABET = "abcdefgjkmnopéøåÆ"
_original_words = st.text(ORIGINAL_ALPHABET, min_size=1, max_size=6).filter(lambda w: not w.isascii())


@st.composite
def key_entries(draw, max_entries: int = 5) -> list:
    """Entries of a key: one or two words, every match mode, replacements in brackets (so that no replacement
    joined to its neighbours can spell an original)."""
    from refi_bridge.privacy.key import Entry

    entries, seen = [], set()
    for index in range(draw(st.integers(0, max_entries))):
        words = draw(st.lists(_original_words, min_size=1, max_size=2))
        original = draw(st.sampled_from([" ", "  "])).join(words) if len(words) > 1 else words[0]
        if original.lower() in seen:
            continue
        seen.add(original.lower())
        entries.append(Entry(original, f"[P{index}]", ignore_case=draw(st.booleans()),
                             anywhere=draw(st.integers(0, 3)) == 0, row=index + 2))
    return entries


@st.composite
def named_projects(draw, entries: list) -> Project:
    """A project (see :func:`projects`) whose texts, names, descriptions and notes hold the originals of
    ``entries``, between words, inside words and next to punctuation, with selections on random spans."""
    from dataclasses import replace

    project = draw(projects(max_sources=3, min_sources=1))
    originals = [e.original for e in entries] or ["zz"]

    variants = st.sampled_from(originals).flatmap(
        lambda o: st.sampled_from([o, o, o.upper(), o.lower(), o.capitalize()]))

    def text_with_originals() -> str:
        pieces = draw(st.lists(st.one_of(texts, variants,
                                         st.sampled_from(["Æ", "a", "_", " ", "."])), max_size=12))
        return "".join(pieces)

    def name() -> str:
        return draw(st.one_of(names, st.sampled_from(originals).map(lambda o: f"{o} interview")))

    sources = []
    for source in project.sources:
        text = text_with_originals()
        selections = []
        for selection in source.selections:
            start, end = draw(spans(text))
            selections.append(replace(selection, start=start, end=end,
                                      name=draw(st.none() | st.sampled_from(originals))))
        sources.append(replace(source, text=text, name=name(), selections=tuple(selections),
                               description=draw(st.none() | st.sampled_from(originals))))
    notes = tuple(replace(note, name=name(), text=text_with_originals()) for note in project.notes)
    cases = tuple(replace(case, name=name()) for case in project.cases)
    codes = tuple(replace(code, name=name()) for code in project.codes)
    users = tuple(replace(user, name=name()) for user in project.users)
    return replace(project, sources=tuple(sources), notes=notes, cases=cases, codes=codes, users=users,
                   name=name(), description=draw(st.none() | st.sampled_from(originals)))
