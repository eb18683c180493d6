"""Agreement: every published and reference vector to its tolerance, the krippendorff package as an oracle,
invariances, undefined cases, and the report of a merged project.

Vectors not tested, and why: `conger_kappa` and irrCAC's alternative alpha `pa` (K2011-C) are not
coefficients we ship; `mvalpha-KC2016-table3` is multi-valued alpha, which we do not implement (see
docs/agreement.md).
"""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from conftest import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.agreement import (
    Tally,
    alpha_u_1995,
    brennan_prediger,
    cohen_kappa,
    compat,
    compute,
    cu_alpha,
    fleiss_kappa,
    gwet_ac1,
    k_u_alpha,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
    u_alpha,
)
from refi_bridge.agreement.consensus import build
from refi_bridge.cli import cli
from refi_bridge.errors import AgreementError, RefiBridgeError, RefiBridgeWarning, UndefinedCoefficientError
from refi_bridge.model import Code, Coding, PlainTextSelection, Project, TextSource, User

NOTES = SHARED / "notes"
VECTORS = {v["id"]: v for v in json.loads((NOTES / "agreement-vectors.json").read_text())}
UNITIZED = json.loads((NOTES / "unitized-vectors.json").read_text())
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"


def close(value, expected, tolerance):
    assert value == pytest.approx(expected, abs=tolerance + 1e-12), (value, expected)


def expand(table, categories):
    """A contingency table as two coders' ratings of one unit per counted pair."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [categories[i]] * int(count)
            second += [categories[j]] * int(count)
    return [first, second]


# -- coding vectors -----------------------------------------------------------------------------------------

def test_k2011_c_four_coders_with_missing_data():
    v = VECTORS["K2011-C-4coders-missing"]
    ratings, tol = v["data"]["coders"], v["tolerance"]
    for level in ("nominal", "ordinal", "interval", "ratio"):
        close(krippendorff_alpha(ratings, level), v["expected"][f"krippendorff_alpha_{level}"], tol)
    ref = v["software_reference"]
    close(gwet_ac1(ratings), ref["gwet_ac1"], tol)
    close(fleiss_kappa(ratings), ref["fleiss_kappa_gwet"], tol)
    close(brennan_prediger(ratings), ref["brennan_prediger"], tol)
    close(percent_agreement(ratings), ref["percent_agreement"], tol)
    close(krippendorff_alpha(ratings), ref["krippendorff_alpha"], tol)


def test_fleiss_1971():
    v = VECTORS["Fleiss1971-30subjects-6raters"]
    categories = v["data"]["categories"]
    units = [[c for c, n in zip(categories, row) for _ in range(n)] for row in v["data"]["counts"]]
    ratings = [list(column) for column in zip(*units)]
    close(fleiss_kappa(ratings), v["expected"]["fleiss_kappa"], v["tolerance"])
    close(percent_agreement(ratings), v["expected"]["P_bar"], v["tolerance"])
    p_o, kappa = percent_agreement(ratings), fleiss_kappa(ratings)
    close((p_o - kappa) / (1 - kappa), v["expected"]["P_e"], v["tolerance"])


@pytest.mark.parametrize("name", ["Cohen1960-p37", "Cohen1960-p45", "BP1981-p689", "BP1981-p691"])
def test_contingency_tables(name):
    v = VECTORS[name]
    ratings = expand(v["data"]["table"], v["data"]["categories"])
    expected, tol = v["expected"], v["tolerance"]
    kappa, p_o = cohen_kappa(ratings), percent_agreement(ratings)
    close(p_o, expected["p_o"], tol)
    chance = (p_o - kappa) / (1 - kappa)
    close(chance, expected.get("p_e", expected.get("cohen_p_e")), tol)
    if "cohen_kappa" in expected:
        close(kappa, expected["cohen_kappa"], tol)
    if "bennett_S" in expected:
        close(brennan_prediger(ratings, v["data"]["categories"]), expected["bennett_S"], tol)
    derived = v.get("derived", {})
    for key, function in (("scott_pi", scott_pi), ("gwet_ac1", gwet_ac1),
                          ("krippendorff_alpha_nominal", krippendorff_alpha)):
        if key in derived:
            close(function(ratings), derived[key], 1e-5)


def test_k1995_pair_a():
    v = VECTORS["K1995-pairA-digitized"]
    ratings = v["data"]["coders"]
    close(cohen_kappa(ratings), v["expected"]["cohen_kappa"], v["tolerance"])
    close(scott_pi(ratings), v["expected"]["scott_pi"], v["tolerance"])
    close(krippendorff_alpha(ratings), v["expected"]["krippendorff_alpha_nominal"], v["tolerance"])


# -- unitizing vectors --------------------------------------------------------------------------------------

def segments(observers):
    return [[(s["start"], s["end"], s["value"]) for s in observer] for observer in observers]


@pytest.mark.parametrize("vector", UNITIZED, ids=[v["id"] for v in UNITIZED])
def test_unitized_vectors(vector):
    data, expected, tol = vector["data"], vector["expected"], vector.get("tolerance", 1e-6)
    coders, continuum = segments(data["observers"]), tuple(data["continuum"])
    close(u_alpha(coders, continuum), expected["u_alpha_nominal"], tol)
    close(u_alpha(coders, continuum, binary=True), expected["binary_u_alpha"], tol)
    close(cu_alpha(coders, continuum), expected["cu_alpha_nominal"], tol)
    tally = Tally().add(coders, continuum)
    for value, alpha in (expected.get("k_u_alpha") or {}).items():
        close(k_u_alpha(coders, continuum, value), alpha, tol)
    for value, share in (expected.get("coverage") or {}).items():
        close(tally.coverage(value), share, tol)
    if "cu_coverage_of_continuum" in expected:
        close(tally.coverage(), expected["cu_coverage_of_continuum"], tol)
    reference = vector.get("expected_software_reference", {})
    for value, alpha in reference.get("k_u_alpha", {}).items():
        close(k_u_alpha(coders, continuum, value), alpha, 1e-6)


def test_undefined_k_u_alpha_of_a_value_nobody_else_met():
    book = next(v for v in UNITIZED if v["id"] == "K2019-fig12.11-AlexPaulSuzan")
    coders, continuum = segments(book["data"]["observers"]), tuple(book["data"]["continuum"])
    with pytest.raises(UndefinedCoefficientError, match="no other coder's unit"):
        k_u_alpha(coders, continuum, "7")


@pytest.mark.parametrize("name", ["U2016-perfect", "U2016-shifted"])
def test_u2016_vectors(name):
    v = VECTORS[name]
    coders, continuum = segments(v["data"]["observers"]), tuple(v["data"]["continuum"])
    close(u_alpha(coders, continuum), v["expected"]["u_alpha_nominal"], v["tolerance"])
    close(u_alpha(coders, continuum, binary=True), v["expected"]["binary_u_alpha"], v["tolerance"])


def old_units(observers, value=None):
    return [[(s["start"], s["start"] + s["length"]) for s in observer if value is None or s["value"] == value]
            for observer in observers]


def test_old_alpha_u_k2004():
    v = VECTORS["K2004-p254-alphaU-old"]
    continuum, tol, expected = tuple(v["data"]["continuum"]), v["tolerance"], v["expected"]
    alpha_c, observed_c, expected_c = alpha_u_1995(old_units(v["data"]["observers"], "c"), continuum)
    alpha_k, observed_k, expected_k = alpha_u_1995(old_units(v["data"]["observers"], "k"), continuum)
    close(alpha_c, expected["alpha_U_c"], tol)
    close(observed_c, expected["Do_c"], tol)
    close(expected_c, expected["De_c"], tol)
    close(alpha_k, expected["alpha_U_k"], tol)
    close(expected_k, expected["De_k"], tol)
    close(1 - (observed_c + observed_k) / (expected_c + expected_k), expected["alpha_U_overall"], tol)


def test_old_alpha_u_1995_pairs_and_dkpro_toy():
    v = VECTORS["K1995-p57-alphaU-pairs"]
    scale = 50_000  # the paper's continuous case, as DKPro approximates it
    begin, end = v["data"]["continuum"]
    for name, pair in v["data"]["pairs"].items():
        units = [[(s["start"] * scale, (s["start"] + s["length"]) * scale) for s in observer] for observer in pair]
        close(alpha_u_1995(units, (begin * scale, end * scale))[0], v["expected"][f"alpha_U_{name}"], v["tolerance"])
    toy = VECTORS["DKPro-alphaU-toy"]
    alpha, observed, expected = alpha_u_1995(old_units(toy["data"]["observers"]), tuple(toy["data"]["continuum"]))
    close(alpha, toy["expected"]["alpha_U"], toy["tolerance"])
    close(observed, toy["expected"]["Do"], toy["tolerance"])
    close(expected, toy["expected"]["De"], toy["tolerance"])


# -- tool conventions -------------------------------------------------------------------------------------

def test_nvivo_help_example_and_qualcoders_kappa():
    v = VECTORS["NVivo-help-1000chars"]
    d = v["data"]
    counts = compat.CharCounts(d["both"], d["a_only"], d["b_only"], d["neither"])
    close(compat.percent_agreement_chars(counts), v["expected"]["nvivo_percent_agreement"], v["tolerance"])
    close(compat.kappa_chars(counts), v["derived"]["nvivo_kappa"], 1e-6)
    close(compat.qualcoder_kappa(counts), v["derived"]["qualcoder_kappa"], 1e-6)


def test_empty_node_is_undefined_not_a_made_up_one():
    v = VECTORS["NVivo-empty-node"]
    d = v["data"]
    counts = compat.CharCounts(d["both"], d["a_only"], d["b_only"], d["neither"])
    assert compat.percent_agreement_chars(counts) == v["expected"]["nvivo_percent_agreement"]
    with pytest.raises(UndefinedCoefficientError, match="NVivo shows kappa 1"):
        compat.kappa_chars(counts)


def toy_project():
    """TOY-2DOC-conventions as a merged REFI project: two documents, two coders, codes A and B."""
    data = VECTORS["TOY-2DOC-conventions"]["data"]
    users = {name: User(guid=f"00000000-0000-4000-8000-00000000000{i}", name=name)
             for i, name in enumerate(data["coders"], start=1)}
    codes = {"A": Code(guid="00000000-0000-4000-8000-0000000000a1", name="A"),
             "B": Code(guid="00000000-0000-4000-8000-0000000000b1", name="B")}
    sources = []
    for n, (doc, length) in enumerate(data["documents"].items()):
        selections = []
        for coder, per_doc in data["coders"].items():
            for k, span in enumerate(per_doc.get(doc, [])):
                guid = f"{n:08d}-0000-4000-8000-{len(selections):012d}"
                selections.append(PlainTextSelection(
                    guid=guid, start=span["start"], end=span["end"], creating_user=users[coder].guid,
                    codings=(Coding(guid=guid[:-4] + "9999"[:4 - len(str(k))] + str(k),
                                    code_guid=codes[span["code"]].guid, creating_user=users[coder].guid),)))
        sources.append(TextSource(guid=f"{n:08d}-0000-4000-8000-aaaaaaaaaaaa", name=doc, text="x" * length,
                                  selections=tuple(selections)))
    return Project(name="toy", users=tuple(users.values()), codes=tuple(codes.values()), sources=tuple(sources))


def test_toy_two_documents_reproduces_every_tools_number():
    v = VECTORS["TOY-2DOC-conventions"]
    expected, tol = v["expected"], v["tolerance"]
    report = compute(toy_project(), overlap=0.9, lenient=0.5, bootstrap=0)
    per_code = report.per_code.set_index("code")
    for code in ("A", "B"):
        row = per_code.loc[code]
        close(row["nvivo_kappa_mean"], expected[f"nvivo_{code}_mean_kappa"], tol)
        close(row["nvivo_kappa_weighted"], expected[f"nvivo_{code}_size_weighted_kappa"], tol)
        close(row["pooled_char_kappa"], expected[f"pooled_char_{code}_cohen_kappa"], tol)
        close(row["qualcoder_kappa"], expected[f"qualcoder_{code}_kappa"], tol)
        close(row["u_alpha_binary"], expected[f"binary_u_alpha_{code}"], tol)
    overall = report.overall.set_index("measure")["value"]
    close(overall["u-alpha, all codes as one variable"], expected["u_alpha_nominal_domain_AB"], tol)
    close(overall["|u-alpha, all codes as one variable"], expected["binary_u_alpha_domain_AB"], tol)
    close(overall["presence agreement (document x code)"], expected["doc_presence_percent_agreement"], tol)
    close(overall["presence alpha (document x code)"], expected["doc_presence_alpha"], tol)
    close(overall["segment match rate at 90%, all codes"], expected["maxqda_segment_agreement_90"], tol)
    close(overall["segment match rate at 50%, all codes"], expected["maxqda_segment_agreement_50"], tol)
    close(overall["MAXQDA kappa at 90% (2 codes)"], expected["maxqda_kappa_BP_90"], tol)
    close(overall["MAXQDA kappa at 50% (2 codes)"], expected["maxqda_kappa_BP_50"], tol)
    at80 = compute(toy_project(), overlap=0.8, lenient=0.5, bootstrap=0).overall.set_index("measure")["value"]
    close(at80["segment match rate at 80%, all codes"], expected["maxqda_segment_agreement_80"], tol)
    close(at80["MAXQDA kappa at 80% (2 codes)"], expected["maxqda_kappa_BP_80"], tol)
    # the per-document NVivo figures
    data = v["data"]
    for code in ("A", "B"):
        for doc, length in data["documents"].items():
            spans = [[(s["start"], s["end"]) for s in data["coders"][c].get(doc, []) if s["code"] == code]
                     for c in data["coders"]]
            counts = compat.char_counts(sorted(spans[0]), sorted(spans[1]), length)
            close(compat.percent_agreement_chars(counts), expected[f"nvivo_{code}_{doc}_pa"], tol)
            close(compat.kappa_chars(counts), expected[f"nvivo_{code}_{doc}_kappa"], tol)


# -- properties -----------------------------------------------------------------------------------------------

ratings_strategy = st.integers(2, 4).flatmap(lambda m: st.integers(2, 12).flatmap(
    lambda n: st.lists(st.lists(st.none() | st.integers(1, 4), min_size=n, max_size=n), min_size=m, max_size=m)))


@settings(max_examples=150, deadline=None)
@given(ratings=ratings_strategy, level=st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_alpha_matches_the_krippendorff_package(ratings, level):
    data = np.array([[np.nan if x is None else x for x in row] for row in ratings], dtype=float)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # the oracle divides 0 by 0 when undefined
            warnings.simplefilter("ignore", RuntimeWarning)
            theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:
        theirs = None
    try:
        ours = krippendorff_alpha(ratings, level)
    except UndefinedCoefficientError:
        ours = None
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        assert ours is None or math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


COEFFICIENTS = [percent_agreement, fleiss_kappa, brennan_prediger, gwet_ac1, krippendorff_alpha]


def evaluate(function, ratings):
    try:
        return function(ratings)
    except UndefinedCoefficientError:
        return "undefined"


@settings(max_examples=80, deadline=None)
@given(ratings=ratings_strategy, seed=st.integers(0, 10**6))
def test_invariant_under_coder_order_unit_order_and_relabelling(ratings, seed):
    rng = random.Random(seed)
    coders = ratings[:]
    rng.shuffle(coders)
    order = list(range(len(ratings[0])))
    rng.shuffle(order)
    units = [[row[i] for i in order] for row in ratings]
    labels = {v: f"label-{v * 7 % 5}-{v}" for v in range(1, 5)}
    relabelled = [[None if x is None else labels[x] for x in row] for row in ratings]
    for function in COEFFICIENTS + ([scott_pi] if len(ratings) == 2 else []):
        base = evaluate(function, ratings)
        for variant in (coders, units, relabelled):
            other = evaluate(function, variant)
            assert (other == base) if base == "undefined" else other == pytest.approx(base, abs=1e-12)
    if len(ratings) == 2:
        base = evaluate(cohen_kappa, ratings)
        other = evaluate(cohen_kappa, relabelled)
        assert (other == base) if base == "undefined" else other == pytest.approx(base, abs=1e-12)


def test_undefined_cases_raise_a_specific_error_that_says_why():
    with pytest.raises(UndefinedCoefficientError, match="same value") as caught:
        krippendorff_alpha([[1, 1, 1], [1, 1, 1]])
    assert isinstance(caught.value, RefiBridgeError) and isinstance(caught.value, ValueError)
    with pytest.raises(UndefinedCoefficientError, match="two or more coders"):
        percent_agreement([[1, None], [None, 2]])
    with pytest.raises(UndefinedCoefficientError, match="chance agreement is 1"):
        cohen_kappa([["a", "a"], ["a", "a"]])
    with pytest.raises(ValueError, match="exactly two coders"):
        cohen_kappa([[1], [1], [1]])
    with pytest.raises(UndefinedCoefficientError, match="overlap"):
        u_alpha([[(0, 5, "a"), (3, 8, "b")], [(0, 5, "a")]], (0, 10))
    with pytest.raises(UndefinedCoefficientError, match="only one value"):
        cu_alpha([[(0, 5, "a")], [(0, 5, "a")]], (0, 10))


# -- the report of a merged project -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agreement")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"],
                               folder / "handout")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        result = refi_bridge.merge([FIXTURES / n for n in ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx",
                                                            "amara-refi.qdpx")], manifest=handed.manifest)
    return result.project


def test_report_tables_on_the_demo_study(merged):
    report = compute(merged, bootstrap=200)
    assert report.coders == ["Amara Okafor", "Ingrid Halvorsen", "Tomás Ferreira"]
    assert len(report.per_code) == 13 and len(report.per_document) == 47 and len(report.per_case) == 12
    for _, row in report.per_code.iterrows():
        assert -1 <= row["u_alpha_binary"] <= 1
        assert row["ci_low"] <= row["u_alpha_binary"] <= row["ci_high"]
    pairs = report.pairs
    assert (pairs.values == pairs.values.T).all()
    assert set(report.disagreements["kind"]) <= {"miss", "boundary", "different code", "miss / different code"}
    assert (report.disagreements["resolution"] == "").all()
    statement = " ".join(report.statement)
    assert "47 text documents" in statement and "Thresholds" in statement and "assigned to them" in statement
    groups = report.groups.set_index("group")
    assert isinstance(groups.loc["1. Safety/withdrawal", "u_alpha"], float)
    json.dumps(report.to_dict())  # JSON-ready


def test_disagreements_are_in_text_order_and_cover_every_coder(merged):
    table = compute(merged, bootstrap=0).disagreements
    order = {s.name: i for i, s in enumerate(merged.sources)}
    keys = [(order[s], a) for s, a in zip(table["source"], table["start"])]
    assert keys == sorted(keys)
    row = table[table["kind"] == "boundary"].iloc[0]
    spans = [row[f"{c}: span"] for c in ("Amara Okafor", "Ingrid Halvorsen", "Tomás Ferreira")]
    assert all("-" in s and "other" not in s for s in spans) and len(set(spans)) > 1


def test_consensus_layer_from_resolutions(merged):
    report = compute(merged, bootstrap=0)
    rows = report.disagreements.to_dict(orient="records")
    rows[0]["resolution"] = "Amara Okafor"
    rows[1]["resolution"] = "union"
    rows[2]["resolution"] = "none"
    rows[3]["resolution"] = f"{rows[3]['start']}-{rows[3]['start'] + 5}"
    result = build(merged, rows)
    layer = [r for r in result.project.iter_codings()
             if result.project.users_by_guid()[r.coding.creating_user.lower()].name == "consensus"]
    assert result.agreed > 50 and result.resolved == 3 and result.rejected == 1
    assert len(result.unresolved) == len(rows) - 4
    assert len(layer) >= result.agreed
    again = build(result.project, rows)  # a new consensus replaces the old one
    assert sum(1 for _ in again.project.iter_codings()) == sum(1 for _ in result.project.iter_codings())
    rows[4]["resolution"] = "somebody"
    with pytest.raises(AgreementError, match="row 5: resolution 'somebody'"):
        build(merged, rows)


def test_agreement_and_consensus_commands(merged, runner, tmp_path):
    project = tmp_path / "merged.qdpx"
    refi_bridge.write(merged, project)
    out = tmp_path / "agreement.xlsx"
    result = runner.invoke(cli, ["agreement", str(project), "-o", str(out), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["Summary", "Per code", "Segments", "Tool numbers", "Per document", "Per case",
                               "Coder pairs", "Leave one out", "Code groups", "Regions", "Coverage", "Overall",
                               "Disagreements", "About"]
    sheet = book["Disagreements"]
    rows = list(sheet.iter_rows())
    header = next(i for i, r in enumerate(rows) if r[0].value == "source")
    column = [c.value for c in rows[header]].index("resolution")
    rows[header + 1][column].value = "Ingrid Halvorsen"
    book.save(out)
    consensus = tmp_path / "consensus.qdpx"
    result = runner.invoke(cli, ["consensus", str(project), "--resolutions", str(out), "-o", str(consensus)])
    assert result.exit_code == 0, result.output
    assert "consensus" in refi_bridge.read(consensus).coders()
    result = runner.invoke(cli, ["agreement", str(project), "--json", "-", "--bootstrap", "0", "--coders",
                                 "Ingrid Halvorsen,Amara Okafor"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["coders"] == ["Ingrid Halvorsen", "Amara Okafor"]
    result = runner.invoke(cli, ["agreement", str(project), "-o", str(out), "--coders", "Nobody,Amara Okafor"])
    assert result.exit_code == 1 and "no codings by Nobody" in result.stderr
