"""PDF and picture codings: the text PDF area quotations stand for (codings table), and agreement on PDF
texts, PDF areas and pictures, on the ATLAS.ti PDF export and the NVivo picture export of the corpus."""

from __future__ import annotations

import bisect
import re
import warnings
from dataclasses import replace

import pytest
from conftest import CORPUS

import refi_bridge
from refi_bridge.agreement import compute
from refi_bridge.agreement.consensus import build
from refi_bridge.agreement.pdf_text import anchor
from refi_bridge.agreement.spans import collect
from refi_bridge.errors import AgreementError, RefiBridgeWarning
from refi_bridge.model import (
    Code,
    Coding,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    TextSource,
    User,
    VideoSelection,
    VideoSource,
    guid_key,
)
from refi_bridge.team.merging import MergeInput, merge_projects

ATLAS_PDF = CORPUS / "atlasti" / "atlasti9.1.3-win_mepit-interviews-pdf.qdpx"
NVIVO_PICTURES = CORPUS / "nvivo" / "nvivo14.23-mac_memes-pictures.qdpx"


def read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


@pytest.fixture(scope="module")
def atlas():
    return read_quietly(ATLAS_PDF)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -- the codings table -------------------------------------------------------------------------------------------

def test_pdf_quotations_of_the_atlas_export_carry_their_text(atlas):
    table = atlas.codings()
    assert len(table) == 866
    assert table["text"].notna().mean() >= 0.95
    names = {guid_key(s.guid): s.name for s in atlas.sources[0].selections}
    with_text = table[table["text"].notna()]
    assert set(with_text["text_origin"]) <= {"excerpt", "excerpt by page order", "excerpt, continued",
                                               "excerpt by page order, continued"}
    # -- what the table gives is the excerpt ATLAS.ti wrote, at the place the offsets say --
    text = atlas.sources[0].representation.text
    for row in with_text.itertuples():
        assert squeeze(row.text) == squeeze(names[guid_key(row.selection_guid)])
        assert text[row.start:row.end] == row.text


def test_excerpts_placed_by_page_order_lie_in_the_interview_of_their_page(atlas):
    """The PDF holds 20 interviews, each asking the same questions: a question's excerpt occurs 20 times. A
    placed excerpt must lie in the interview that the quotations found once on its page (or, for a quotation
    continued from the page before, on that page) belong to."""
    pdf = atlas.sources[0]
    text = pdf.representation.text
    heads = [m.start() for m in re.finditer("ENTREVISTADO", text)]
    assert len(heads) == 20
    found = anchor(pdf)
    interview_on_page: dict[int, set[int]] = {}
    for selection in pdf.selections:
        place = found[guid_key(selection.guid)]
        if place.origin == "excerpt":
            interview_on_page.setdefault(selection.page, set()).add(bisect.bisect_right(heads, place.start))
    placed = [s for s in pdf.selections if found[guid_key(s.guid)].origin.startswith("excerpt by page order")]
    assert len(placed) > 50
    for selection in placed:
        place = found[guid_key(selection.guid)]
        near = set().union(*(interview_on_page.get(p, set()) for p in range(selection.page - 2, selection.page + 1)))
        assert bisect.bisect_right(heads, place.start) in near, (selection.page, selection.name)


def pdf_project(text: str, areas, *, representations=()) -> Project:
    """A PDF whose area selections are (page, top, name, code) on a page 800 points high (y grows up)."""
    selections = tuple(PDFSelection(guid=f"q{i}", name=name, page=page, first_x=100, first_y=top - 50,
                                    second_x=500, second_y=top, codings=(Coding(guid=f"c{i}", code_guid=code,
                                                                                creating_user="u"),))
                       for i, (page, top, name, code) in enumerate(areas))
    representation = TextSource(guid="r", text=text, selections=tuple(representations))
    pdf = PDFSource(guid="p", name="P", path="internal://p.pdf", selections=selections, representation=representation)
    return Project(name="x", users=(User(guid="u", name="Ana"),), codes=(Code(guid="k", name="K"),), sources=(pdf,))


def origins(project: Project) -> list[str]:
    return list(project.codings()["text_origin"])


def test_an_excerpt_found_nowhere_or_too_often_is_reported_and_carries_no_text():
    text = "Question one asks this. Answer one. Question one asks this. Answer two."
    project = pdf_project(text, [(0, 700, "Question one asks this.", "k"), (0, 600, "Not in the text at all", "k"),
                                 (0, 500, "short", "k")])
    table = project.codings()
    assert table["text"].isna().all() and table["start"].isna().all()
    assert table.loc[0, "text_origin"].startswith("ambiguous: the excerpt occurs 2 times")
    assert table.loc[1, "text_origin"].startswith("not found")
    assert table.loc[2, "text_origin"].startswith("no excerpt")


def test_page_order_decides_between_places_of_a_repeated_excerpt():
    text = ("Interview A. Question one asks this. Alpha answers first. Beta answers second. "
            "Interview B. Question one asks this. Gamma answers third. Delta answers fourth.")
    project = pdf_project(text, [
        (0, 700, "Alpha answers first.", "k"), (0, 600, "Beta answers second.", "k"),
        (1, 650, "Question one asks this.", "k"),             # begins part-way down page 1: after Beta
        (1, 600, "Gamma answers third.", "k"), (1, 500, "Delta answers fourth.", "k")])
    table = project.codings()
    assert table.loc[2, "text_origin"] == "excerpt by page order"
    assert table.loc[2, "start"] == text.index("Question one", text.index("Interview B"))
    assert (table["text"].str.len() > 0).all()


def test_the_reading_direction_comes_from_the_excerpts_found_once():
    # -- the same quotations with y growing down the page (a top-left origin): the order still decides --
    text = "A. Question one asks this. Alpha answers first. B. Question one asks this. Gamma answers third."
    flipped = pdf_project(text, [(0, 100, "Alpha answers first.", "k"), (1, 100, "Question one asks this.", "k"),
                                 (1, 200, "Gamma answers third.", "k"), (0, 50, "A. Question one", "k")])
    table = flipped.codings()
    assert table.loc[1, "text_origin"] == "excerpt by page order"
    assert table.loc[1, "start"] == text.index("Question one", text.index("B."))


def test_a_text_twin_and_an_own_representation_give_the_text():
    text = "The recipe needs granola and milk, then two hours in the oven."
    twin = PlainTextSelection(guid="q0", start=17, end=24, codings=(Coding(guid="t", code_guid="k", creating_user="u"),))
    project = pdf_project(text, [(0, 700, "granola", "k"), (0, 600, "Quotation 12:3", "k")], representations=[twin])
    pdf = project.sources[0]
    own = replace(pdf.selections[1], representation=TextSource(guid="o", text="then two hours in the oven"))
    project = replace(project, sources=(replace(pdf, selections=(pdf.selections[0], own)),))
    table = project.codings()
    rows = table[table["selection_kind"] == "PDFSelection"].set_index("selection_guid")
    assert rows.loc["q0", "text"] == "granola" and rows.loc["q0", "text_origin"] == "twin"
    assert rows.loc["q1", "text"] == "then two hours in the oven" and rows.loc["q1", "text_origin"] == "own representation"
    text_row = table[table["selection_kind"] == "PlainTextSelection"].iloc[0]
    assert text_row["text_origin"] == "selected text"
    # -- agreement counts the twin once, as the text selection --
    bo = PlainTextSelection(guid="b0", start=17, end=24, codings=(Coding(guid="bc", code_guid="k", creating_user="v"),))
    pdf = project.sources[0]
    two = replace(project, users=project.users + (User(guid="v", name="Bo"),), sources=(replace(
        pdf, representation=replace(pdf.representation, selections=pdf.representation.selections + (bo,))),))
    data = collect(two)
    assert data.pdf_origins["twin"] == 1
    then = text.index("then")
    assert data.spans[(0, "k")] == {"Ana": [(17, 24), (then, then + 26)], "Bo": [(17, 24)]}


# -- agreement: identical copies of one coder's work agree perfectly ---------------------------------------------

def identical_copies(path):
    project = read_quietly(path)
    return merge_projects([MergeInput(project, "ana.qdpx", coder="Ana", override=True),
                           MergeInput(project, "ben.qdpx", coder="Ben", override=True)]).project


@pytest.fixture(scope="module")
def atlas_copies():
    return identical_copies(ATLAS_PDF)


def test_the_consensus_of_a_pdf_lies_on_its_text(atlas_copies):
    result = build(atlas_copies, [])
    table = result.project.codings()
    consensus = table[table["coder"] == "consensus"]
    assert len(consensus) == result.agreed > 0
    assert (consensus["text_origin"] == "selected text").all() and consensus["text"].str.len().gt(0).all()


def test_identical_copies_of_the_atlas_pdf_agree_perfectly_on_every_code(atlas_copies):
    merged = atlas_copies
    assert merged.coders() == {"Ana": 866, "Ben": 866}
    report = compute(merged, bootstrap=0)
    assert len(report.per_code) == 40 and report.regions.empty
    for column in ("u_alpha_binary", "presence_agreement", "match_90%", "f1_90%", "match_50%", "f1_50%", "holsti",
                   "pooled_char_kappa"):
        assert (report.per_code[column] == 1.0).all(), column
    assert report.disagreements.empty
    assert any("PDF areas: 1,732 codings of PDF areas were anchored" in line for line in report.statement)


def test_identical_copies_of_the_nvivo_pictures_agree_perfectly_on_every_code():
    merged = identical_copies(NVIVO_PICTURES)
    report = compute(merged, bootstrap=0)
    assert report.per_code.empty
    regions = report.regions
    assert len(regions) == 29 and (regions["regions Ana"] == regions["regions Ben"]).all()
    assert regions["regions Ana"].sum() == 176
    for column in ("presence_agreement", "match_90%", "f1_90%", "match_50%", "f1_50%"):
        assert (regions[column] == 1.0).all(), column
    # -- alpha is 1 where there is variation to agree on, and says why where there is none --
    alphas = regions["presence_alpha"]
    assert all(a == 1.0 or a.startswith("undefined") for a in alphas) and (alphas == 1.0).any()
    coverage = report.coverage.set_index("measure")
    assert coverage.iloc[2]["sources"].startswith("27 sources (27 pictures")


def picture_project(ana, ben) -> Project:
    def selections(regions, user, prefix):
        return tuple(PictureSelection(guid=f"{prefix}{i}", first_x=x1, first_y=y1, second_x=x2, second_y=y2,
                                      codings=(Coding(guid=f"{prefix}c{i}", code_guid=code, creating_user=user),))
                     for i, (x1, y1, x2, y2, code) in enumerate(regions))
    pictures = tuple(PictureSource(guid=f"p{n}", name=f"picture {n}", path=f"internal://p{n}.jpg",
                                   selections=selections(ana.get(n, ()), "a", f"a{n}-") + selections(ben.get(n, ()), "b", f"b{n}-"))
                     for n in range(3))
    return Project(name="pictures", users=(User(guid="a", name="Ana"), User(guid="b", name="Ben")),
                   codes=(Code(guid="k", name="Smile"), Code(guid="m", name="Sign")), sources=pictures)


def test_region_measures_of_two_coders_who_differ():
    ana = {0: [(0, 0, 100, 100, "k")], 1: [(0, 0, 100, 100, "k"), (200, 200, 300, 300, "m")], 2: [(0, 0, 10, 10, "m")]}
    ben = {0: [(0, 0, 100, 80, "k")], 1: [(200, 200, 300, 300, "m")], 2: [(0, 0, 10, 10, "m")]}
    report = compute(picture_project(ana, ben), bootstrap=0)
    rows = report.regions.set_index("code")
    # -- Smile: picture 0 overlaps by 80% (matches at 50%, not at 90%); picture 1 only Ana --
    assert rows.loc["Smile", "match_90%"] == 0.0
    assert rows.loc["Smile", "match_50%"] == pytest.approx(2 / 3)
    assert rows.loc["Smile", "f1_50%"] == pytest.approx(2 / 3)
    assert rows.loc["Smile", "presence_agreement"] == pytest.approx(2 / 3)
    # -- Sign: identical on pictures 1 and 2, absent from 0 for both --
    assert rows.loc["Sign", "match_90%"] == 1.0 and rows.loc["Sign", "presence_alpha"] == 1.0


def test_a_project_of_kinds_agreement_cannot_measure_names_them_with_counts():
    video = VideoSource(guid="v", name="Clip", path="internal://v.mp4", selections=tuple(
        VideoSelection(guid=f"s{i}", begin=i * 1000, end=i * 1000 + 500,
                       codings=(Coding(guid=f"c{i}", code_guid="k", creating_user=u),))
        for i, u in enumerate(["a", "b"] * 3)))
    project = Project(name="v", users=(User(guid="a", name="Ana"), User(guid="b", name="Ben")),
                      codes=(Code(guid="k", name="K"),), sources=(video,))
    with pytest.raises(AgreementError, match="6 codings are video segments") as caught:
        compute(project)
    assert "none" not in str(caught.value)


def test_one_coder_of_pictures_is_named_not_called_none():
    with pytest.raises(AgreementError, match="all by alyviawalters") as caught:
        compute(read_quietly(NVIVO_PICTURES))
    assert "has none" not in str(caught.value)
