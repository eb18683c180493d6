"""Four decisions in the statistics, with the inputs that raised them: ordinal alpha on labels needs an
explicit order, Scott's pi is a two-coder coefficient, the reading of cu-alpha's correction is the caller's
choice and stated, and unitizing values depend on the scale of the continuum."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from refi_bridge.agreement import (
    Tally,
    compute,
    cu_alpha,
    fleiss_kappa,
    k_u_alpha,
    krippendorff_alpha,
    scott_pi,
    u_alpha,
)
from refi_bridge.model import Code, Coding, PlainTextSelection, Project, TextSource, User

NOTES = SHARED / "notes"
VECTORS = {v["id"]: v for v in json.loads((NOTES / "agreement-vectors.json").read_text())}
UNITIZED = {v["id"]: v for v in json.loads((NOTES / "unitized-vectors.json").read_text())}
LABELS = [["low", "mid", "high", "high"], ["low", "high", "high", "mid"]]


# -- ordinal alpha on labels ------------------------------------------------------------------------------------

def test_ordinal_labels_without_an_order_are_refused_with_a_message_that_says_what_to_do():
    with pytest.raises(ValueError, match=r"not numbers.*order="):
        krippendorff_alpha(LABELS, level="ordinal")


def test_ordinal_labels_are_ranked_by_the_order_given():
    # -- the order low < mid < high makes these the numbers 1, 2, 3: the value must be the numbers' value --
    numbers = [[{"low": 1, "mid": 2, "high": 3}[x] for x in row] for row in LABELS]
    value = krippendorff_alpha(LABELS, level="ordinal", order=["low", "mid", "high"])
    assert value == pytest.approx(0.5625, abs=1e-12)
    assert value == pytest.approx(krippendorff_alpha(numbers, level="ordinal"), abs=1e-12)


def test_krippendorffs_2011_example_with_word_labels_gives_the_published_815():
    v = VECTORS["K2011-C-4coders-missing"]
    words = ["very low", "low", "medium", "high", "very high"]
    labelled = [[None if x is None else words[x - 1] for x in row] for row in v["data"]["coders"]]
    value = krippendorff_alpha(labelled, level="ordinal", order=words)
    assert value == pytest.approx(v["expected"]["krippendorff_alpha_ordinal"], abs=v["tolerance"])
    # -- the alphabet would rank "high" first and "very low" last: the reason an order is required --
    alphabetical = sorted(words)
    ranked = [[None if x is None else alphabetical.index(x) for x in row] for row in labelled]
    assert abs(krippendorff_alpha(ranked, level="ordinal") - value) > 0.1


def test_an_order_that_misses_a_value_or_repeats_one_is_refused():
    with pytest.raises(ValueError, match="does not rank 'mid'"):
        krippendorff_alpha(LABELS, level="ordinal", order=["low", "high"])
    with pytest.raises(ValueError, match="twice"):
        krippendorff_alpha(LABELS, level="ordinal", order=["low", "mid", "mid", "high"])
    with pytest.raises(ValueError, match="ordinal level"):
        krippendorff_alpha(LABELS, level="nominal", order=["low", "mid", "high"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.none() | st.integers(1, 5), min_size=6, max_size=6), min_size=2, max_size=4))
def test_an_order_equal_to_the_numbers_own_changes_nothing(ratings):
    try:
        plain = krippendorff_alpha(ratings, level="ordinal")
    except Exception as error:  # noqa: BLE001 - the same data must fail the same way with the order
        with pytest.raises(type(error)):
            krippendorff_alpha(ratings, level="ordinal", order=[1, 2, 3, 4, 5])
        return
    assert krippendorff_alpha(ratings, level="ordinal", order=[1, 2, 3, 4, 5]) == pytest.approx(plain, abs=1e-12)


# -- Scott's pi ----------------------------------------------------------------------------------------------------

def test_scotts_pi_refuses_three_coders_and_points_to_fleiss_kappa():
    ratings = [[1, 1, None], [1, 2, 2], [2, None, 2]]
    with pytest.raises(ValueError, match="fleiss_kappa"):
        scott_pi(ratings)
    assert fleiss_kappa(ratings) == pytest.approx(-0.1688, abs=1e-4)
    assert krippendorff_alpha(ratings) == pytest.approx(0.0, abs=1e-12)


def test_scotts_pi_of_two_coders_is_the_published_value():
    v = VECTORS["K1995-pairA-digitized"]
    assert scott_pi(v["data"]["coders"]) == pytest.approx(v["expected"]["scott_pi"], abs=v["tolerance"])


# -- cu-alpha: the caller chooses the reading ----------------------------------------------------------------

def observers(vector_id):
    data = UNITIZED[vector_id]["data"]
    return [[(s["start"], s["end"], s["value"]) for s in o] for o in data["observers"]], tuple(data["continuum"])


@pytest.mark.parametrize(("vector_id", "pairsum", "meansq"), [
    ("K2019-fig12.11-AlexPaulSuzan", 0.724082, 0.723929),   # both round to the printed .724
    ("DERIVED-cu-m3-variant-split", 0.283217, 0.279575),    # built so that the readings differ
])
def test_both_readings_of_cu_alpha_with_three_coders(vector_id, pairsum, meansq):
    coders, continuum = observers(vector_id)
    assert cu_alpha(coders, continuum) == pytest.approx(pairsum, abs=1e-6)
    assert cu_alpha(coders, continuum, reading="pairsum") == pytest.approx(pairsum, abs=1e-6)
    assert cu_alpha(coders, continuum, reading="meansq") == pytest.approx(meansq, abs=1e-6)
    with pytest.raises(ValueError, match="pairsum, meansq"):
        cu_alpha(coders, continuum, reading="mean")


segment = st.tuples(st.integers(0, 40), st.integers(1, 12), st.sampled_from("ab")).map(
    lambda t: (t[0], min(t[0] + t[1], 50), t[2]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(segment, max_size=4), min_size=2, max_size=2))
def test_with_two_coders_the_readings_are_one_number(coders):
    # -- a coder's segments of different values must not overlap (a partition): keep the first of each clash --
    clean = []
    for segments in coders:
        kept = []
        for s in sorted(segments):
            if all(s[1] <= k[0] or s[0] >= k[1] for k in kept):
                kept.append(s)
        clean.append(kept)
    tally = Tally().add(clean, (0, 50))
    for value in "ab":
        try:
            first = tally.k_u_alpha(value, "pairsum")
        except Exception:  # noqa: BLE001 - undefined in both readings alike
            continue
        assert tally.k_u_alpha(value, "meansq") == pytest.approx(first, abs=1e-12)
    try:
        first = tally.cu_alpha("pairsum")
    except Exception:  # noqa: BLE001
        return
    assert tally.cu_alpha("meansq") == pytest.approx(first, abs=1e-12)


def test_the_report_states_the_reading_it_used():
    users = tuple(User(guid=f"u{i}", name=name) for i, name in enumerate(["Ana", "Bo", "Cy"]))
    codes = (Code(guid="g", name="Group", codes=(Code(guid="a", name="A"), Code(guid="b", name="B"))),)
    spans = [(0, 10, "a", "u0"), (20, 30, "b", "u0"), (0, 12, "a", "u1"), (20, 28, "a", "u1"),
             (2, 10, "b", "u2"), (22, 30, "b", "u2")]
    selections = tuple(PlainTextSelection(guid=f"s{i}", start=s, end=e, codings=(
        Coding(guid=f"c{i}", code_guid=k, creating_user=u),)) for i, (s, e, k, u) in enumerate(spans))
    project = Project(name="p", users=users, codes=codes, sources=(
        TextSource(guid="t", name="T", text="x" * 40, selections=selections),))
    for reading in ("pairsum", "meansq"):
        report = compute(project, bootstrap=0, cu_reading=reading)
        assert report.settings["cu_reading"] == reading
        assert any(f"'{reading}'" in line for line in report.statement)
    pairsum = compute(project, bootstrap=0).groups.set_index("group").loc["Group", "cu_alpha"]
    meansq = compute(project, bootstrap=0, cu_reading="meansq").groups.set_index("group").loc["Group", "cu_alpha"]
    assert pairsum != meansq  # three coders with uneven overlaps: the reading matters
    with pytest.raises(ValueError, match="cu_reading"):
        compute(project, cu_reading="median")


def test_k_u_alpha_takes_the_reading_too():
    coders, continuum = observers("DERIVED-cu-m3-variant-split")
    values = {s[2] for c in coders for s in c}
    differs = [v for v in values if k_u_alpha(coders, continuum, v) != k_u_alpha(coders, continuum, v, "meansq")]
    assert differs


# -- unitizing on another scale -----------------------------------------------------------------------------

def test_unitizing_alpha_changes_when_the_continuum_is_rescaled():
    """Gaps weigh |g| and units |g|^2 in the self-pairing term, so multiplying every position by a factor
    moves u-alpha a little: characters, tokens and seconds give numbers that are not interchangeable."""
    coders, continuum = observers("K2019-fig12.11-AlexPaulSuzan")
    base = u_alpha(coders, continuum, binary=True)
    for factor in (2, 5):
        scaled = [[(s * factor, e * factor, v) for s, e, v in c] for c in coders]
        value = u_alpha(scaled, (continuum[0] * factor, continuum[1] * factor), binary=True)
        assert value != pytest.approx(base, abs=1e-6)
        assert abs(value - base) < 0.02
