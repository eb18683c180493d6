"""A realistic team study to work on: 12 therapist-client dyads, 47 interviews, three coders with three tools.

Modelled on a published dual-perspective study of alliance formation (12 dyads, therapist and client
interviewed after sessions 3 and 5, 47 interviews, a "representativeness table" of five themes by dyad),
with synthetic text only. :func:`generate` is deterministic: the same arguments give the same study, byte
for byte, so the committed fixtures can be checked against it.

The study holds a master project (codebook, sources, cases, variables, no codings), a ground truth whose
theme presence per dyad follows the study's table, and three coders who deviate from the truth the way
people do (shifted boundaries, missed passages, a wrong subcode, an extra passage), each exported as their
tool would: NVivo (UTF-16 positions, CR LF, BOM, ``Sources/``), ATLAS.ti (upper-case GUIDs, document
named after the project) and standard REFI-QDA. Everything here is plain model data; writing the files is
:mod:`refi_bridge.demo.pipeline`'s business.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field, replace

from refi_bridge.formats.dialects import ExportStyle
from refi_bridge.model import (
    Case,
    Code,
    Coding,
    PlainTextSelection,
    Project,
    TextSource,
    User,
    Variable,
    VariableValue,
    guid_key,
    map_guids,
)

POSITIVE = (1, 2, 3, 5, 6, 10, 12)
TROUBLED = (4, 7, 8, 9, 11)
PUBLIC = (1, 2, 4, 5, 7, 9, 11)
# -- Table 1 of the study: which dyads lack which theme (every other cell is marked) --
ABSENT = {2: {11}, 3: {11}, 5: {4, 6, 11}}
MISSING_INTERVIEW = (8, "client", 3)  # a client who cancelled the session-3 interview
PROJECT_NAME = "Dyad study"
GENERATOR = "refi_bridge study generator"

# theme number -> (name, colour, description, [(subcode, kind, description)])
THEMES: dict[int, tuple[str, str, str, list[tuple[str, str, str]]]] = {
    1: ("Safety/withdrawal", "#4E79A7",
        "How fear before and during the first sessions is met: growing safety, or withdrawal.",
        [("Feeling safe", "facilitating", "The client relaxes and dares to open up."),
         ("Fear and apprehension", "hindering", "Nervousness, dread, fear of losing control."),
         ("Withdrawal", "hindering", "The client recedes, shifts focus or goes passive.")]),
    2: ("Equal partners", "#F28E2B",
        "Shame and inferiority in the relationship, and how they give way to partnership.",
        [("Shame and inferiority", "hindering", "Feeling small, undeserving or stupid."),
         ("Becoming equal partners", "facilitating", "Meeting as two people on the same level."),
         ("Confrontation", "hindering", "Open irritation or anger toward the therapist.")]),
    3: ("Competence", "#59A14F",
        "Whether the therapist is experienced as skilled and genuine.",
        [("Trust in skill", "facilitating", "Confidence that the therapist knows what to do."),
         ("Doubting the therapist", "hindering", "Unsure the therapist can help.")]),
    4: ("Togetherness", "#B07AA1",
        "Connection on a person-to-person level.",
        [("Person-to-person connection", "facilitating", "Warmth, closeness, being seen."),
         ("Distance", "hindering", "A wall between client and therapist.")]),
    5: ("Optimal level of tension", "#E15759",
        "Enough challenge for therapeutic work to start, not so much that it overwhelms.",
        [("Productive challenge", "facilitating", "Being pushed just enough to work."),
         ("Too little tension", "hindering", "Sessions that stand still."),
         ("Too much tension", "hindering", "Pressure that overwhelms the client.")]),
}

# subcode -> perspective -> sentences (synthetic, written for this study)
PASSAGES: dict[str, dict[str, list[str]]] = {
    "Feeling safe": {
        "client": ["After a while I noticed my shoulders coming down; I could breathe properly in that room.",
                   "It felt safe to cry in front of her, and that surprised me.",
                   "I trust him now, so I dare to say the things I’ve never said aloud. 😊",
                   "When she said “take your time”, something in me settled."],
        "therapist": ["I could see him lean back, and I thought: now he feels safe enough to stay.",
                      "My first task was to make the room feel calm and predictable for her.",
                      "She let the tears run before wiping them, which told me she felt safe with me."]},
    "Fear and apprehension": {
        "client": ["Before the session I was terrified, my hands were shaking in the waiting room.",
                   "I kept thinking she would judge me the moment I opened my mouth.",
                   "There is fear, yes – fear of falling apart completely in there."],
        "therapist": ["He was frightened, I could tell from how he sat on the edge of the chair.",
                      "Her fear filled the room, and I was careful not to push too early."]},
    "Withdrawal": {
        "client": ["I automatically keep my distance; it is hard not to.",
                   "When it got close to the painful stuff I started talking about the weather.",
                   "I just sat there and let her do the talking."],
        "therapist": ["She disappears into herself and I can’t reach her.",
                      "Every time we approached the topic he changed the subject.",
                      "Frankly, she gives nothing back, and I feel I’m working alone."]},
    "Shame and inferiority": {
        "client": ["I felt so small, like I didn’t deserve to take up his time.",
                   "I look down all the time; I think it is shame, honestly.",
                   "Part of me thought everyone else has real problems and I’m just being silly."],
        "therapist": ["I wanted to show her there is nothing wrong with her, that she is not stupid.",
                      "His shame was visible in the way he avoided my eyes."]},
    "Becoming equal partners": {
        "client": ["The difference between us isn’t that big any more; it’s like talking to someone I know.",
                   "We laughed about a TV series and suddenly we were just two people.",
                   "It feels like we are working on this together, side by side."],
        "therapist": ["I put the technique aside and simply met him as a person.",
                      "She started correcting me, which I took as a good sign: we are equals now."]},
    "Confrontation": {
        "client": ["I got really angry with her and told her she wasn’t listening.",
                   "Honestly, I was irritated; why does he keep asking the same question?"],
        "therapist": ["She snapped at me, and for a moment I didn’t know how to respond.",
                      "There was a clear rupture when he said the therapy was pointless."]},
    "Trust in skill": {
        "client": ["She clearly knows what she’s doing, and that makes it easier to follow her.",
                   "He explained what trauma does to the body, and I thought: he gets it.",
                   "I had a feeling of being in good hands, a professional but also genuine person."],
        "therapist": ["I think my experience with panic made it possible to guide her through it.",
                      "I explained the model carefully so that he could see we had a plan."]},
    "Doubting the therapist": {
        "client": ["I’m not sure she can help me; she seems very young.",
                   "He nodded a lot but I didn’t feel he understood anything."],
        "therapist": ["I doubted myself a lot in that session – maybe I am not the right therapist for him.",
                      "She asked whether I had ever treated someone like her, and I hesitated."]},
    "Person-to-person connection": {
        "client": ["In that moment I felt really seen, not as a patient but as me.",
                   "She remembered my daughter’s name, which meant a lot. 🙂",
                   "It was warm; I felt he actually liked me."],
        "therapist": ["As a human being I feel real care for her.",
                      "I felt closer to him after he let himself be vulnerable."]},
    "Distance": {
        "client": ["There is like a wall between us and I don’t know how to climb it.",
                   "She was friendly, but it felt like talking to an office."],
        "therapist": ["I felt disengaged and tired, and I think she noticed.",
                      "There was a distance I couldn’t bridge during the whole session."]},
    "Productive challenge": {
        "client": ["He pushed me a little, just enough, and then we started to really work.",
                   "It was uncomfortable, but the good kind – I went home thinking for days."],
        "therapist": ["Now the relationship could hold some challenge, so I started to confront the avoidance.",
                      "I took a more challenging stance, and she took it in without collapsing."]},
    "Too little tension": {
        "client": ["Nothing really happened; we just chatted.",
                   "It was nice, but I’m not sure we are getting anywhere."],
        "therapist": ["Both sessions stood still; we didn’t accomplish anything significant.",
                      "I was too careful, maybe, and we ended up circling around."]},
    "Too much tension": {
        "client": ["It was too much too soon; I felt cornered.",
                   "When she asked about my father I just froze."],
        "therapist": ["I pushed too hard and he shut down completely.",
                      "The pressure in the room was high, higher than she could handle that day."]},
}

FILLER = {
    "client": ["I came straight from work, so I was a bit out of breath.",
               "The waiting room was quiet that day.", "I’m not sure what else to say about that part.",
               "We talked about my week, the usual things.", "My sister had called the evening before.",
               "I had coffee at the café downstairs first.", "It was raining, I remember that.",
               "I don’t remember exactly what came next.", "We had rescheduled once because of my job."],
    "therapist": ["This was the third time we met.", "I had read my notes from last week before she came in.",
                  "At this point I was mostly listening.", "We spent the first minutes on practical matters.",
                  "The room is small, with two chairs and a window.", "I checked the time once, I think.",
                  "I was trying to follow the thread of what he said.", "We agreed on the next appointment."],
}

QUESTIONS = ["What do you notice when you see yourself here?", "What were you thinking at this moment?",
             "How was it to sit there, waiting for the session to begin?", "What happens between you now?",
             "Can you say more about that?", "How did you feel when you heard that?",
             "What was going through your mind?", "If you look at the two of you here, what do you see?",
             "What did you want to say, but didn’t?", "How is it to watch this now?"]


@dataclass(frozen=True)
class Deviation:
    """How often a coder departs from the truth, per true passage (extra: per source)."""

    miss: float = 0.08
    boundary: float = 0.20
    wrong_code: float = 0.07
    extra: float = 0.30


@dataclass(frozen=True)
class CoderSpec:
    """A fictitious coder, the tool they use and how closely they follow the truth."""

    name: str
    tool: str
    deviation: Deviation = field(default_factory=Deviation)


CODERS = (
    CoderSpec("Ingrid Halvorsen", "nvivo"),
    CoderSpec("Tomás Ferreira", "atlasti", Deviation(miss=0.10, boundary=0.25, wrong_code=0.08, extra=0.35)),
    CoderSpec("Amara Okafor", "refi", Deviation(miss=0.06, boundary=0.15, wrong_code=0.05, extra=0.25)),
)

TOOLS = {
    # tool -> (dialect, file name, style, line break, BOM, upper-case GUIDs)
    "nvivo": ("nvivo", "{slug}-nvivo.qdpx",
              ExportStyle(origin="NVivo for Windows 14.23", sources_folder="Sources", instruction=False),
              "\r\n", True, False),
    "atlasti": ("refi", "{slug}-atlasti.qdpx",
                ExportStyle(origin="ATLAS.ti for Windows 23.2.3.27778", qde_name=PROJECT_NAME + ".qde",
                            instruction=False), "\n", False, True),
    "refi": ("refi", "{slug}-refi.qdpx", ExportStyle(), "\n", False, False),
}
ATLAS_USER = User(guid="C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B", name="ATLAS.ti")


@dataclass(frozen=True)
class Passage:
    """One coded passage in master coordinates (code points into the master text)."""

    coder: str
    source: str
    start: int
    end: int
    code_path: tuple[str, str]


@dataclass(frozen=True)
class CoderFile:
    """A coder's returned file: the project as their tool exports it, and how to write it."""

    coder: str
    tool: str
    file_name: str
    dialect: str
    style: ExportStyle
    project: Project


@dataclass(frozen=True)
class Study:
    """Everything :func:`generate` makes."""

    master: Project
    truth: Project
    coder_files: tuple[CoderFile, ...]
    passages: tuple[Passage, ...]  # the truth (coder "truth") and every coder's codings, master coordinates
    seed: int
    scale: int

    def dyad_outcome(self, number: int) -> str:
        return "positive" if ((number - 1) % 12) + 1 in POSITIVE else "troubled"


class _Guids:
    """Deterministic GUIDs from a seeded generator: every file gets its own, reproducibly."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass
class _Segment:
    start: int
    end: int
    subcode: str | None  # None: filler a coder may code by mistake


@dataclass
class _Transcript:
    name: str
    dyad: int
    perspective: str
    session: int
    text: str
    segments: list[_Segment]


def generate(seed: int = 2022, scale: int = 1, coders: tuple[CoderSpec, ...] = CODERS) -> Study:
    """Build the study. ``scale`` multiplies the dyads (12 per unit) for benchmark-size projects."""
    if scale < 1:
        raise ValueError("scale must be 1 or more")
    rng = random.Random(seed)
    transcripts = [_transcript(rng, dyad, perspective, session)
                   for dyad in range(1, 12 * scale + 1)
                   for perspective, session in (("therapist", 3), ("client", 3), ("therapist", 5), ("client", 5))
                   if (((dyad - 1) % 12) + 1, perspective, session) != MISSING_INTERVIEW]
    truth = [(t, s) for t in transcripts for s in t.segments if s.subcode is not None]
    passages = [Passage("truth", t.name, s.start, s.end, (_theme_of(s.subcode), s.subcode)) for t, s in truth]

    master = _project(_Guids(random.Random(seed * 7 + 1)), transcripts, users=(User(guid="", name="Study lead"),))
    truth_guids = _Guids(random.Random(seed * 7 + 2))
    truth_project = _with_codings(master, {(p.source, p.start, p.end, p.code_path) for p in passages},
                                  User(guid=truth_guids(), name="Ground truth"), truth_guids)
    files = []
    for index, spec in enumerate(coders):
        coder_rng = random.Random(seed * 101 + index)
        mine = _deviate(coder_rng, spec, transcripts)
        passages.extend(Passage(spec.name, name, start, end, path) for name, start, end, path in mine)
        files.append(_coder_file(spec, transcripts, mine, _Guids(random.Random(seed * 7 + 10 + index))))
    return Study(master, truth_project, tuple(files), tuple(passages), seed, scale)


def theme_label(number: int) -> str:
    """The name of a theme's code, as the codebook spells it: ``"1. Safety/withdrawal"``."""
    return f"{number}. {THEMES[number][0]}"


def _theme_of(subcode: str) -> str:
    return theme_label(_theme_number(subcode))


def _transcript(rng: random.Random, dyad: int, perspective: str, session: int) -> _Transcript:
    pattern = ((dyad - 1) % 12) + 1
    outcome = "positive" if pattern in POSITIVE else "troubled"
    themes = [n for n in THEMES if pattern not in ABSENT.get(n, set())]
    # -- most themes show up in most interviews of a dyad; at least one interview per present theme --
    chosen = [n for n in themes if rng.random() < 0.7] or themes[:1]
    label = "Therapist" if perspective == "therapist" else "Client"
    parts: list[str] = []
    segments: list[_Segment] = []
    length = 0

    def add(text: str, subcode: str | None = None) -> None:
        nonlocal length
        parts.append(text)
        segments.append(_Segment(length, length + len(text), subcode))
        length += len(text)

    def put(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    put(f"Interview {perspective}, dyad {dyad:02d}, after session {session}\n\n")
    plan = []
    for theme in chosen:
        for _ in range(rng.choice((1, 1, 2))):
            plan.append(theme)
    plan += [None] * rng.randint(2, 5)
    rng.shuffle(plan)
    for theme in plan:
        put(f"Interviewer: {rng.choice(QUESTIONS)}\n{label}: ")
        if rng.random() < 0.5:
            add(rng.choice(FILLER[perspective]))
            put(" ")
        if theme is None:
            add(rng.choice(FILLER[perspective]))
        else:
            _, _, _, subcodes = THEMES[theme]
            kind = "facilitating" if outcome == "positive" else "hindering"
            weighted = [s for s, k, _ in subcodes if k == kind] * 3 + [s for s, _, _ in subcodes]
            subcode = rng.choice(weighted)
            sentences = rng.sample(PASSAGES[subcode][perspective], k=min(2, len(PASSAGES[subcode][perspective])))
            add(" ".join(sentences[: rng.choice((1, 1, 2))]), subcode)
        if rng.random() < 0.4:
            put(" ")
            add(rng.choice(FILLER[perspective]))
        put("\n\n")
    name = f"D{dyad:02d}-{perspective}-S{session}"
    return _Transcript(name, dyad, perspective, session, "".join(parts), segments)


def _word_edges(text: str, start: int, end: int) -> list[int]:
    """Offsets in [start, end] where a word begins or ends, for moving a boundary by whole words."""
    edges = {start, end}
    for i in range(start + 1, end):
        if text[i - 1].isspace() != text[i].isspace():
            edges.add(i)
    return sorted(edges)


def _deviate(rng: random.Random, spec: CoderSpec, transcripts: list[_Transcript]
             ) -> list[tuple[str, int, int, tuple[str, str]]]:
    out: list[tuple[str, int, int, tuple[str, str]]] = []
    d = spec.deviation
    for t in transcripts:
        for seg in t.segments:
            if seg.subcode is None:
                continue
            if rng.random() < d.miss:
                continue
            start, end, subcode = seg.start, seg.end, seg.subcode
            if rng.random() < d.boundary:
                # -- move one or both edges by a few words, staying in the participant's turn --
                line_start = t.text.rfind("\n", 0, start) + 1
                line_end = t.text.find("\n", end)
                edges = _word_edges(t.text, line_start + len(t.text[line_start:].split(":", 1)[0]) + 2, line_end)
                i, j = edges.index(start), edges.index(end)
                i = max(0, min(i + rng.choice((-4, -2, 2, 3)), j - 1))
                j = min(len(edges) - 1, max(j + rng.choice((-3, -2, 2, 4)), i + 1))
                start, end = edges[i], edges[j]
                start, end = _trim(t.text, start, end)
            if rng.random() < d.wrong_code:
                siblings = [s for s, _, _ in THEMES[_theme_number(subcode)][3] if s != subcode]
                subcode = rng.choice(siblings)
            out.append((t.name, start, end, (_theme_of(subcode), subcode)))
        if rng.random() < d.extra:
            # -- an extra passage: a filler sentence coded with a theme this dyad does discuss --
            fillers = [s for s in t.segments if s.subcode is None]
            present = [n for n in THEMES if ((t.dyad - 1) % 12) + 1 not in ABSENT.get(n, set())]
            if fillers:
                seg = rng.choice(fillers)
                subcode = rng.choice([s for s, _, _ in THEMES[rng.choice(present)][3]])
                out.append((t.name, seg.start, seg.end, (_theme_of(subcode), subcode)))
    return list(dict.fromkeys(out))  # a coder codes one passage with one code once


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _theme_number(subcode: str) -> int:
    return next(n for n, (_, _, _, subs) in THEMES.items() if any(s == subcode for s, _, _ in subs))


def _codebook(guid: _Guids) -> tuple[Code, ...]:
    return tuple(
        Code(guid=guid(), name=theme_label(number), is_codable=False, color=colour, description=description,
             codes=tuple(Code(guid=guid(), name=sub, color=colour, description=f"{kind.capitalize()}: {text}")
                         for sub, kind, text in subcodes))
        for number, (name, colour, description, subcodes) in THEMES.items())


def _project(guid: _Guids, transcripts: list[_Transcript], users: tuple[User, ...], line_break: str = "\n",
             bom: bool = False, inline: bool = False) -> Project:
    users = tuple(replace(u, guid=u.guid or guid()) for u in users)
    codes = _codebook(guid)
    outcome, clinic, perspective, session = (
        Variable(guid=guid(), name="Outcome", type_of_variable="Text",
                 description="Relational outcome group: positive, or troubled/frail"),
        Variable(guid=guid(), name="Clinic", type_of_variable="Text", description="public or private"),
        Variable(guid=guid(), name="Perspective", type_of_variable="Text", description="therapist or client"),
        Variable(guid=guid(), name="Session", type_of_variable="Integer",
                 description="the session the interview followed"))
    sources = []
    by_dyad: dict[int, list[str]] = {}
    for t in transcripts:
        source_guid = guid()
        by_dyad.setdefault(t.dyad, []).append(source_guid)
        sources.append(TextSource(
            guid=source_guid, name=t.name, text=t.text.replace("\n", line_break), text_bom=bom,
            plain_text_path=f"internal://{source_guid}.txt", creating_user=users[0].guid,
            creation_date_time="2022-03-01T09:00:00Z",
            variable_values=(VariableValue(variable_guid=perspective.guid, type="Text", value=t.perspective),
                             VariableValue(variable_guid=session.guid, type="Integer", value=str(t.session)))))
    cases = []
    for dyad, refs in by_dyad.items():
        pattern = ((dyad - 1) % 12) + 1
        cases.append(Case(guid=guid(), name=f"Dyad {dyad:02d}", source_refs=tuple(refs), variable_values=(
            VariableValue(variable_guid=outcome.guid, type="Text",
                          value="positive" if pattern in POSITIVE else "troubled"),
            VariableValue(variable_guid=clinic.guid, type="Text",
                          value="public" if pattern in PUBLIC else "private"))))
    return Project(name=PROJECT_NAME, origin=GENERATOR, creating_user=users[0].guid,
                   creation_date_time="2022-03-01T09:00:00Z", users=users, codes=codes,
                   variables=(outcome, clinic, perspective, session), cases=tuple(cases), sources=tuple(sources),
                   description="Synthetic dual-perspective study of 12 therapist-client dyads (sessions 3 and 5).")


def _with_codings(project: Project, coded, user: User, guid: _Guids, shift=None) -> Project:
    """A copy of ``project`` with ``coded`` = {(source name, start, end, code path)} coded by ``user``."""
    paths = {path: code.guid for code, path in project.iter_codes()}
    per_source: dict[str, list] = {}
    for source_name, start, end, path in sorted(coded):
        per_source.setdefault(source_name, []).append((start, end, path))
    sources = []
    for source in project.sources:
        selections = []
        for start, end, path in per_source.get(source.name, []):
            if shift is not None:
                start, end = shift(source, start), shift(source, end)
            selections.append(PlainTextSelection(
                guid=guid(), start=start, end=end, creating_user=user.guid,
                creation_date_time="2022-06-01T12:00:00Z",
                codings=(Coding(guid=guid(), code_guid=paths[path], creating_user=user.guid,
                                creation_date_time="2022-06-01T12:00:00Z"),)))
        sources.append(replace(source, selections=tuple(selections)))
    users = project.users if any(guid_key(u.guid) == guid_key(user.guid) for u in project.users) \
        else project.users + (user,)
    return replace(project, users=users, sources=tuple(sources))


def _coder_file(spec: CoderSpec, transcripts: list[_Transcript], mine, guid: _Guids) -> CoderFile:
    dialect, pattern, style, line_break, bom, upper = TOOLS[spec.tool]
    users = (User(guid="", name=spec.name),) + ((ATLAS_USER,) if spec.tool == "atlasti" else ())
    base = _project(guid, transcripts, users=users, line_break=line_break, bom=bom)

    def shift(source: TextSource, offset: int) -> int:
        # -- master offsets to this copy's offsets: each LF before the offset became line_break --
        if line_break == "\n":
            return offset
        master_text = source.text.replace(line_break, "\n")
        return offset + (len(line_break) - 1) * master_text.count("\n", 0, offset)

    project = _with_codings(base, mine, base.users[0], guid, shift=shift)
    if upper:
        project = upper_case_guids(project)
    slug = unicodedata.normalize("NFKD", spec.name.split()[0].lower()).encode("ascii", "ignore").decode()
    return CoderFile(spec.name, spec.tool, pattern.format(slug=slug), dialect, style, project)


def upper_case_guids(project: Project) -> Project:
    """The same project with every GUID in upper case, as ATLAS.ti and MAXQDA write them."""
    return map_guids(project, str.upper)
