"""Agreement of a merged project: per code, document, case and coder pair, overall, and the disagreements.

:func:`compute` turns a project coded by two or more coders into an :class:`AgreementReport` of pandas
tables. The headline per code is |u-alpha on the characters of all documents pooled, with a 95% bootstrap
interval over documents; beside it document-level presence, segment matching at two overlap thresholds,
and the numbers NVivo, MAXQDA and QualCoder would show. Every table says what it measured; undefined
values read "undefined: <why>".
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from refi_bridge.agreement import compat, regions
from refi_bridge.agreement.coefficients import gwet_ac1, krippendorff_alpha, percent_agreement, prepare
from refi_bridge.agreement.pdf_text import ANCHORED as ANCHORED_ORIGINS
from refi_bridge.agreement.spans import AgreementData, collect, describe_set_aside
from refi_bridge.agreement.unitizing import CU_READINGS, Tally
from refi_bridge.errors import UndefinedCoefficientError
from refi_bridge.model import Project
from refi_bridge.progress import Progress, Reporter, quiet

RELIABLE, TENTATIVE = 0.800, 0.667
THRESHOLDS = [
    ("alpha >= .800", "reliable (Krippendorff 2004/2019)"),
    (".667 <= alpha < .800", "tentative conclusions only"),
    ("alpha < .667", "discard the code or revise the codebook"),
    ("kappa < 0 / .00-.20 / .21-.40 / .41-.60 / .61-.80 / .81-1", "poor / slight / fair / moderate / substantial / "
     "almost perfect (Landis & Koch 1977; a convention, not a test)"),
]


def undefined(error: UndefinedCoefficientError) -> str:
    return f"undefined: {error.why}"


def _value(function, *args):
    try:
        return function(*args)
    except UndefinedCoefficientError as error:
        return undefined(error)


@dataclass
class AgreementReport:
    """The tables of an agreement analysis (pandas DataFrames) and the statement that goes with them."""

    coders: list[str]
    statement: list[str]
    per_code: pd.DataFrame
    per_document: pd.DataFrame
    per_case: pd.DataFrame
    pairs: pd.DataFrame
    leave_one_out: pd.DataFrame
    groups: pd.DataFrame
    overall: pd.DataFrame
    disagreements: pd.DataFrame
    settings: dict = field(default_factory=dict)
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    left_out: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    methods: str = ""

    TABLES = ("per_code", "per_document", "per_case", "pairs", "leave_one_out", "groups", "overall",
              "disagreements", "regions", "coverage")

    def to_dict(self) -> dict:
        out: dict = {"coders": self.coders, "left_out": self.left_out, "statement": self.statement,
                     "settings": self.settings, "facts": self.facts, "methods": self.methods}
        for name in self.TABLES:
            frame = getattr(self, name)
            out[name] = json_records(frame.reset_index() if name == "pairs" else frame)
        return out


def json_records(frame: pd.DataFrame) -> list[dict]:
    records = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif isinstance(value, (np.integer,)):
                value = int(value)
            elif isinstance(value, (np.floating,)):
                value = float(value)
            clean[str(key)] = value
        records.append(clean)
    return records


# -------------------------------------------------------------------------------------------------------
# The per-(document, code) arithmetic: everything |u-alpha needs for any subset of coders
# -------------------------------------------------------------------------------------------------------

class _Grid:
    """For every document d, code k and coder i: covered characters, sum of squared unit lengths, and the
    pairwise intersections, from which binary unitizing coincidences follow for any subset of coders."""

    def __init__(self, data: AgreementData) -> None:
        self.data = data
        self.codes = list(data.codes)
        n_docs, n_codes, m = len(data.documents), len(self.codes), len(data.coders)
        self.length = np.array([d.length for d in data.documents], dtype=np.float64)
        self.present = np.zeros((n_docs, m), dtype=bool)
        for d in range(n_docs):
            for i, coder in enumerate(data.coders):
                self.present[d, i] = coder in data.present[d]
        self.cover = np.zeros((n_docs, n_codes, m))
        self.squares = np.zeros((n_docs, n_codes, m))
        self.inter = np.zeros((n_docs, n_codes, m, m))
        self.units = np.zeros((n_docs, n_codes, m))
        index = {code: k for k, code in enumerate(self.codes)}
        for (d, code), per_coder in data.spans.items():
            k = index.get(code)
            if k is None:
                continue
            spans = [per_coder.get(c, []) for c in data.coders]
            for i, s in enumerate(spans):
                self.cover[d, k, i] = compat.covered(s)
                self.squares[d, k, i] = sum((b - a) ** 2 for a, b in s)
                self.units[d, k, i] = len(s)
            for i, j in itertools.combinations(range(m), 2):
                if spans[i] and spans[j]:
                    both = compat.intersection(spans[i], spans[j])
                    self.inter[d, k, i, j] = self.inter[d, k, j, i] = both

    def components(self, mask: np.ndarray) -> np.ndarray:
        """Array (docs, codes, 5) of (observed disagreement, gap margin, unit margin, total, self-pairing) for
        the coders in ``mask``, counting only coders present in each document; rows of documents with fewer
        than two such coders are zero."""
        present = self.present & mask[None, :]
        m = present.sum(axis=1).astype(np.float64)                    # coders per document
        usable = m >= 2
        p = present[:, None, :]
        cover = (self.cover * p).sum(axis=2)
        pairs = self.inter * (p[..., None] & p[:, :, None, :])
        both = pairs.sum(axis=(2, 3)) / np.where(usable, m - 1, 1)[:, None]
        total = (m * self.length)[:, None] * np.ones((1, len(self.codes)))
        squares = (self.squares * p).sum(axis=2)
        weight = squares + (m * self.length)[:, None] - cover          # units |g|^2, gaps |g|
        observed = 2 * (cover - both)
        out = np.stack([observed, total - cover, cover, total, weight], axis=-1)
        out[~usable] = 0
        return out


def _binary_alpha(sums: np.ndarray) -> float:
    """|u-alpha from summed components (observed, gaps, units, total, weight)."""
    observed, gaps, units, total, weight = (float(x) for x in sums)
    if total == 0:
        raise UndefinedCoefficientError("no document was read by two of these coders")
    if units == 0:
        raise UndefinedCoefficientError("no coder used the code")
    if gaps == 0:
        raise UndefinedCoefficientError("every character was coded by every coder")
    expected = 2 * gaps * units / (total - weight / total)
    return 1.0 - observed / expected


def _bootstrap(parts: np.ndarray, draws: int, rng: np.random.Generator, batch: int = 100,
               advance=lambda done: None) -> np.ndarray:
    """95% percentile intervals of every code's |u-alpha over resamples of documents: array (codes, 2).

    ``parts`` is (documents, codes, 5). Each resample draws the compared documents with replacement; all
    codes share the resamples, since documents are what was sampled. Resamples are made in batches to keep
    memory flat on large projects; ``advance`` is told how many are done after each batch.
    """
    compared = np.nonzero(parts[:, 0, 3] > 0)[0]
    n_codes = parts.shape[1]
    out = np.full((n_codes, 2), np.nan)
    if draws <= 0 or len(compared) < 2:
        return out
    used = parts[compared].reshape(len(compared), n_codes * 5)  # one matrix product per batch (BLAS)
    alphas = np.empty((draws, n_codes))
    for first in range(0, draws, batch):
        size = min(batch, draws - first)
        weights = rng.multinomial(len(compared), np.full(len(compared), 1 / len(compared)), size=size)
        sums = (weights.astype(np.float64) @ used).reshape(size, n_codes, 5)
        observed, gaps, units, total, weight = (sums[..., i] for i in range(5))
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = 2 * gaps * units / (total - weight / np.where(total == 0, 1, total))
            value = 1 - observed / expected
        value[~((units > 0) & (gaps > 0))] = np.nan
        alphas[first:first + size] = value
        advance(size)
    for k in range(n_codes):
        valid = alphas[:, k][np.isfinite(alphas[:, k])]
        if len(valid) >= draws * 0.5:
            out[k] = np.percentile(valid, [2.5, 97.5])
    return out


# -------------------------------------------------------------------------------------------------------
# compute
# -------------------------------------------------------------------------------------------------------

def compute(project: Project, *, coders: Sequence[str] | None = None, codes: Sequence[str] | None = None,
            overlap: float = 0.9, lenient: float = 0.5, bootstrap: int = 1000, seed: int = 2022,
            only_coded_documents: bool = False, cu_reading: str = "pairsum",
            progress: Progress | Reporter | None = None) -> AgreementReport:
    """Agreement between the coders of a (merged) project.

    Parameters
    ----------
    coders : the coders to compare (default: every coder but the ``consensus`` layer).
    codes : names or paths of codes to include (default: every code used).
    overlap : the overlap (intersection over union) at which two segments, or two regions of a picture or
        PDF page, match (MAXQDA's default 0.9); ``lenient`` is a second, lower threshold.
    bootstrap : resamples of documents for the 95% interval of |u-alpha (0 to skip).
    only_coded_documents : compare a coder only on documents where they made a coding. By default every
        coder is compared on every text document (a coder who coded nothing in one coded nothing there),
        except where the project records who was assigned what (sets ``Assigned to <coder>``, which
        ``merge --manifest`` writes).
    cu_reading : how cu-alpha's correction term is read with three or more coders, ``"pairsum"`` (default)
        or ``"meansq"`` (see :data:`refi_bridge.agreement.unitizing.CU_READINGS`); the report states it.
    progress : told each step, and the bootstrap resamples as they are drawn (see :mod:`refi_bridge.progress`).
    """
    if cu_reading not in CU_READINGS:
        raise ValueError(f"cu_reading must be one of {', '.join(CU_READINGS)}; got {cu_reading!r}")
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of acyclic objects; the cyclic collector would only slow us down
    try:
        return _compute(project, coders, codes, overlap, lenient, bootstrap, seed, only_coded_documents, cu_reading,
                        quiet(progress))
    finally:
        if collecting:
            gc.enable()


def _compute(project, coders, codes, overlap, lenient, bootstrap, seed, only_coded_documents,
             cu_reading, say: Reporter) -> AgreementReport:
    say("collecting every coder's segments")
    data = collect(project, coders, codes, only_coded_documents=only_coded_documents)
    compared = sum(1 for d in range(len(data.documents)) if len(data.coders_of(d)) >= 2)
    say(f"computing agreement: {len(data.coders)} coders, {len(data.codes)} codes, {compared} documents")
    grid = _Grid(data)
    rng = np.random.default_rng(seed)
    everyone = np.ones(len(data.coders), dtype=bool)
    parts = grid.components(everyone)                    # docs x codes x 5
    segment_totals = _segment_totals(data, (overlap, lenient))
    per_code = _per_code(data, grid, parts, overlap, lenient, bootstrap, rng, segment_totals, say)
    per_document = _per_document(data, parts)
    per_case = _per_case(data, parts)
    pairs, leave_one_out = _pairs(data, grid)
    groups = _groups(data, cu_reading)
    region_totals = _region_totals(data, (overlap, lenient))
    region_table = _regions(data, overlap, lenient, region_totals)
    overall = _overall(data, per_code, parts, groups, overlap, lenient, _pooled_totals(segment_totals, (overlap, lenient)),
                       _pooled_totals(region_totals, (overlap, lenient)))
    from refi_bridge.agreement.disagreements import disagreements

    say("listing the disagreements")
    table = disagreements(data)
    statement = _statement(data, overlap, lenient, bootstrap, table, cu_reading)
    report = AgreementReport(data.coders, statement, per_code, per_document, per_case, pairs, leave_one_out, groups,
                             overall, table, {"overlap": overlap, "lenient": lenient, "bootstrap": bootstrap,
                                              "seed": seed, "cu_reading": cu_reading},
                             regions=region_table, coverage=_coverage(data, region_table),
                             left_out=list(data.left_out), facts=_facts(data, table))
    report.methods = methods(report)
    return report


def _pair_indices(m: int):
    return list(itertools.combinations(range(m), 2))


def _per_code(data, grid, parts, overlap, lenient, bootstrap, rng, segment_totals, say: Reporter) -> pd.DataFrame:
    rows = []
    if parts.size:
        with say.counting("bootstrap resamples", bootstrap) as advance:
            intervals = _bootstrap(parts, bootstrap, rng, advance=advance)
    else:
        intervals = np.full((len(grid.codes), 2), np.nan)
    n_codes_in_analysis = len(grid.codes)
    for k, code in enumerate(grid.codes):
        info = data.codes[code]
        row: dict = {"code": info.name, "code_path": " > ".join(info.path)}
        for i, coder in enumerate(data.coders):
            row[f"segments {coder}"] = int(grid.units[:, k, i].sum())
            row[f"characters {coder}"] = int(grid.cover[:, k, i].sum())
        code_parts = parts[:, k, :]
        row["u_alpha_binary"] = _value(_binary_alpha, code_parts.sum(axis=0))
        if isinstance(row["u_alpha_binary"], float):
            row["ci_low"], row["ci_high"] = float(intervals[k, 0]), float(intervals[k, 1])
        else:
            row["ci_low"] = row["ci_high"] = float("nan")
        presence = prepare(_presence(data, code))
        row["presence_alpha"] = _value(krippendorff_alpha, presence)
        row["presence_agreement"] = _value(percent_agreement, presence)
        row["presence_ac1"] = _value(gwet_ac1, presence)
        matches = _segment_agreement(segment_totals[code], (overlap, lenient))
        row[f"match_{overlap:.0%}"], row[f"f1_{overlap:.0%}"] = matches[overlap]
        row[f"match_{lenient:.0%}"], row[f"f1_{lenient:.0%}"] = matches[lenient]
        row["holsti"] = matches["holsti"]
        row.update(_compat(data, code, n_codes_in_analysis, matches[overlap][0]))
        rows.append(row)
    return pd.DataFrame(rows)


def _presence(data: AgreementData, code: str) -> list[list]:
    """Coders x documents: 1 if the coder used the code anywhere in the document, 0 if not, None if the
    coder did not code the document at all."""
    used = {(d, coder) for d in data.by_code.get(code, ()) for coder in data.spans[(d, code)]}
    used |= {(d, coder) for (d, k), coders in data.whole.items() if k == code for coder in coders}
    used |= {(d, coder) for (d, k), coders in data.areas.items() if k == code for coder in coders}
    return [[(1 if (d, coder) in used else 0) if coder in data.present[d] else None
             for d in range(len(data.documents))] for coder in data.coders]


def _segment_totals(data: AgreementData, thresholds) -> dict[str, dict]:
    """Per code and threshold: [segments with a match, one-to-one matched pairs, segments], coder pairs
    pooled; under "exact", identical segments."""
    out: dict[str, dict] = {}
    for code in data.codes:
        totals: dict = {t: [0, 0, 0] for t in thresholds}
        totals["exact"] = [0, 0, 0]
        for d in data.by_code.get(code, ()):
            for a, b in itertools.combinations(data.coders_of(d), 2):
                sa, sb = data.spans_of(d, code, a), data.spans_of(d, code, b)
                if not sa and not sb:
                    continue
                counts = compat.match_counts(sa, sb, thresholds)
                for t in thresholds:
                    totals[t][0] += counts[t][0]
                    totals[t][1] += counts[t][1]
                    totals[t][2] += len(sa) + len(sb)
                totals["exact"][1] += len(set(sa) & set(sb))
                totals["exact"][2] += len(sa) + len(sb)
        out[code] = totals
    return out


def _pooled_totals(per_code: dict[str, dict], thresholds) -> dict:
    pooled: dict = {t: [0, 0, 0] for t in (*thresholds, "exact")}
    for totals in per_code.values():
        for key, values in totals.items():
            pooled[key] = [x + y for x, y in zip(pooled[key], values)]
    return pooled


def _segment_agreement(totals: dict, thresholds) -> dict:
    """Match rate (MAXQDA) and F1 at each threshold, Holsti on identical segments, from one code's totals."""
    out: dict = {}
    for t in thresholds:
        matched, pairs, segments = totals[t]
        if segments == 0:
            why = "undefined: no segments of this code"
            out[t] = (why, why)
        else:
            out[t] = (matched / segments, 2 * pairs / segments)
    _, exact, segments = totals["exact"]
    out["holsti"] = 2 * exact / segments if segments else "undefined: no segments of this code"
    return out


def _compat(data: AgreementData, code: str, n_codes: int, match_rate) -> dict:
    """NVivo per document (mean and size-weighted), pooled character kappa, QualCoder's and MAXQDA's kappa;
    with more than two coders, averaged over coder pairs."""
    kappas, agreements = [], []
    pooled = []
    used = set(data.by_code.get(code, ()))
    for a, b in itertools.combinations(data.coders, 2):
        both_read = [d for d in range(len(data.documents)) if a in data.present[d] and b in data.present[d]]
        # -- documents where neither used the code: all characters agree, and NVivo's kappa is undefined --
        blank = [data.documents[d].length for d in both_read if d not in used]
        total = compat.CharCounts(0, 0, 0, int(sum(blank)))
        agreements.extend((1.0, length) for length in blank)
        for d in (d for d in both_read if d in used):
            document = data.documents[d]
            counts = compat.char_counts(data.spans_of(d, code, a), data.spans_of(d, code, b), document.length)
            total = total + counts
            agreements.append((compat.percent_agreement_chars(counts), document.length))
            with contextlib.suppress(UndefinedCoefficientError):  # nobody used the code here: no kappa
                kappas.append((compat.kappa_chars(counts), document.length))
        pooled.append(total)
    out: dict = {}
    if kappas:
        values, sizes = np.array([k for k, _ in kappas]), np.array([s for _, s in kappas], dtype=float)
        out["nvivo_kappa_mean"] = float(values.mean())
        out["nvivo_kappa_weighted"] = float((values * sizes).sum() / sizes.sum())
    else:
        out["nvivo_kappa_mean"] = out["nvivo_kappa_weighted"] = "undefined: no document where a coder used the code"
    if agreements:
        values, sizes = np.array([p for p, _ in agreements]), np.array([s for _, s in agreements], dtype=float)
        out["nvivo_agreement_mean"] = float(values.mean())
        out["nvivo_agreement_weighted"] = float((values * sizes).sum() / sizes.sum())
    out["pooled_char_kappa"] = _mean_of(compat.kappa_chars, pooled)
    out["maxqda_kappa"] = (_value(compat.maxqda_kappa, match_rate, n_codes) if isinstance(match_rate, float)
                           else match_rate)
    out["qualcoder_kappa"] = _mean_of(compat.qualcoder_kappa, pooled)
    return out


def _mean_of(function, items) -> float | str:
    values = []
    for item in items:
        try:
            values.append(function(item))
        except UndefinedCoefficientError as error:
            last = error
    if not values:
        return undefined(last)  # noqa: F821 -- set whenever values stayed empty
    return float(np.mean(values))


def _per_document(data: AgreementData, parts: np.ndarray) -> pd.DataFrame:
    rows = []
    for d, document in enumerate(data.documents):
        coders = data.coders_of(d)
        row = {"source": document.name, "case": document.case, "characters": document.length,
               "coders": ", ".join(coders)}
        for coder in data.coders:
            row[f"segments {coder}"] = sum(len(data.spans_of(d, code, coder)) for code in data.codes)
        row["u_alpha_binary (codes pooled)"] = (_value(_binary_alpha, parts[d].sum(axis=0)) if len(coders) >= 2
                                                else "undefined: fewer than two coders coded this document")
        rows.append(row)
    return pd.DataFrame(rows)


def _per_case(data: AgreementData, parts: np.ndarray) -> pd.DataFrame:
    by_case: dict[str, list[int]] = defaultdict(list)
    for d, document in enumerate(data.documents):
        for case in document.cases or ("(no case)",):  # a document in two cases counts for both
            by_case[case].append(d)
    rows = []
    for case in sorted(by_case):
        docs = by_case[case]
        rows.append({"case": case, "documents": len(docs),
                     "characters": int(sum(data.documents[d].length for d in docs)),
                     "u_alpha_binary (codes pooled)": _value(_binary_alpha, parts[docs].sum(axis=(0, 1)))})
    return pd.DataFrame(rows)


def _pairs(data: AgreementData, grid: _Grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = len(data.coders)
    matrix = pd.DataFrame(index=data.coders, columns=data.coders, dtype=object)
    for i in range(m):
        matrix.iloc[i, i] = 1.0
    for i, j in _pair_indices(m):
        mask = np.zeros(m, dtype=bool)
        mask[[i, j]] = True
        value = _value(_binary_alpha, grid.components(mask).sum(axis=(0, 1)))
        matrix.iloc[i, j] = matrix.iloc[j, i] = value
    matrix.index.name = "coder"
    rows = []
    everyone = _value(_binary_alpha, grid.components(np.ones(m, dtype=bool)).sum(axis=(0, 1)))
    for i, coder in enumerate(data.coders):
        mask = np.ones(m, dtype=bool)
        mask[i] = False
        without = (_value(_binary_alpha, grid.components(mask).sum(axis=(0, 1))) if mask.sum() >= 2
                   else "undefined: fewer than two coders would remain")
        change = without - everyone if isinstance(without, float) and isinstance(everyone, float) else None
        rows.append({"left out": coder, "u_alpha_binary without": without, "with everyone": everyone,
                     "change": change})
    return matrix, pd.DataFrame(rows)


def _groups(data: AgreementData, cu_reading: str = "pairsum") -> pd.DataFrame:
    """u-alpha and cu-alpha per code group (a top-level code and its subcodes as the values)."""
    by_top: dict[str, list[str]] = defaultdict(list)
    for key, info in data.codes.items():
        by_top[info.top].append(key)
    rows = []
    for top, members in by_top.items():
        if len(members) < 2:
            continue
        name = next((data.codes[k].name for k in members if k == top), None)
        if name is None:
            name = data.codes[members[0]].path[0]
        row: dict = {"group": name, "codes": len(members)}
        row["u_alpha"], row["u_alpha_binary"], tally = _as_one_variable(data, members)
        if tally is None:
            row["cu_alpha"], row["cu_coverage"] = row["u_alpha"], float("nan")
        else:
            row["cu_alpha"] = _value(tally.cu_alpha, cu_reading)
            row["cu_coverage"] = tally.coverage() if tally.total else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=["group", "codes", "u_alpha", "u_alpha_binary", "cu_alpha", "cu_coverage"])


def _as_one_variable(data: AgreementData, members: list[str]) -> tuple:
    """u-alpha and |u-alpha with the codes ``members`` as the values of one variable (undefined when a coder's
    codes overlap, since then they are not mutually exclusive)."""
    tally = Tally()
    try:
        for d, document in enumerate(data.documents):
            coders = data.coders_of(d)
            if len(coders) < 2:
                continue
            tally.add([[(s, e, data.codes[k].name) for k in members for s, e in data.spans_of(d, k, c)]
                       for c in coders], (0, document.length))
        return _value(tally.u_alpha), _value(tally.u_alpha, True), tally
    except UndefinedCoefficientError as error:
        return undefined(error), undefined(error), None


def _overall(data: AgreementData, per_code: pd.DataFrame, parts: np.ndarray, groups: pd.DataFrame,
             overlap: float, lenient: float, totals: dict, region_totals: dict) -> pd.DataFrame:
    rows: list[tuple[str, object]] = [("coders", len(data.coders))]
    compared = sum(1 for d in range(len(data.documents)) if len(data.coders_of(d)) >= 2)
    if data.documents:
        rows += [("documents compared", compared), ("codes", len(per_code))]
        values = [v for v in per_code["u_alpha_binary"] if isinstance(v, float)] if len(per_code) else []
        rows.append(("codes with |u-alpha defined", len(values)))
        if values:
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            rows += [("median |u-alpha per code", float(median)),
                     ("IQR |u-alpha per code", f"{q1:.3f} to {q3:.3f}"),
                     ("share of codes with |u-alpha >= .667", sum(v >= TENTATIVE for v in values) / len(values)),
                     ("share of codes with |u-alpha >= .800", sum(v >= RELIABLE for v in values) / len(values))]
        rows.append(("|u-alpha, all codes pooled", _value(_binary_alpha, parts.sum(axis=(0, 1)))))
        one = _as_one_variable(data, list(data.codes))
        rows.append(("u-alpha, all codes as one variable", one[0]))
        rows.append(("|u-alpha, all codes as one variable", one[1]))
        presence = ([sum(table, []) for table in zip(*(_presence(data, code) for code in data.codes))]
                    if data.codes else [])
        if presence:
            presence = prepare(presence)
            rows.append(("presence agreement (document x code)", _value(percent_agreement, presence)))
            rows.append(("presence alpha (document x code)", _value(krippendorff_alpha, presence)))
        for threshold in (overlap, lenient):
            matched, _, segments = totals[threshold]
            rate = matched / segments if segments else "undefined: no segments"
            rows.append((f"segment match rate at {threshold:.0%}, all codes", rate))
            rows.append((f"MAXQDA kappa at {threshold:.0%} ({len(data.codes)} codes)",
                         _value(compat.maxqda_kappa, rate, len(data.codes)) if isinstance(rate, float) else rate))
        for _, group in groups.iterrows():
            rows.append((f"u-alpha of group {group['group']}", group["u_alpha"]))
    if data.region_codes:
        rows += [("sources with regions (pictures, PDFs)", len(data.region_sources)),
                 ("codes with regions", len(data.region_codes))]
        presence = [sum(table, []) for table in zip(*(_region_presence(data, code) for code in data.region_codes))]
        if presence and any(v is not None for row in presence for v in row):
            presence = prepare(presence)
            rows.append(("region presence agreement (picture x code)", _value(percent_agreement, presence)))
            rows.append(("region presence alpha (picture x code)", _value(krippendorff_alpha, presence)))
        for threshold in (overlap, lenient):
            matched, pairs, count = region_totals[threshold]
            rows.append((f"region match rate at {threshold:.0%}, all codes",
                         matched / count if count else "undefined: no regions"))
            rows.append((f"region F1 at {threshold:.0%}, all codes", 2 * pairs / count if count else "undefined: no regions"))
    return pd.DataFrame(rows, columns=["measure", "value"])


# -------------------------------------------------------------------------------------------------------
# Regions: pictures and PDF areas
# -------------------------------------------------------------------------------------------------------

def _region_presence(data: AgreementData, code: str) -> list[list]:
    """Coders x region sources without a text (pictures, PDFs without a Representation text): 1 if the coder
    used the code there (a region or the whole source), 0 if not, None if the coder was not compared there.
    PDFs with a text count their areas in the documents' presence instead."""
    used = {(canvas, coder) for (canvas, _, k), per in data.regions.items() if k == code for coder in per}
    used |= {(canvas, coder) for (canvas, k), coders in data.region_whole.items() if k == code for coder in coders}
    units = [i for i, r in enumerate(data.region_sources) if r.document is None]
    return [[(1 if (i, coder) in used else 0) if coder in data.region_present[i] else None for i in units]
            for coder in data.coders]


def _region_totals(data: AgreementData, thresholds) -> dict[str, dict]:
    """Per region code and threshold: [regions with a match, one-to-one matched pairs, regions], over every
    picture and PDF page and every pair of coders compared there."""
    out: dict[str, dict] = {code: {t: [0, 0, 0] for t in thresholds} for code in data.region_codes}
    for (canvas, _, code), per_coder in data.regions.items():
        if code not in out:
            continue
        for a, b in itertools.combinations(data.region_coders_of(canvas), 2):
            ra, rb = per_coder.get(a, []), per_coder.get(b, [])
            if not ra and not rb:
                continue
            counts = regions.match_counts(ra, rb, thresholds)
            for t in thresholds:
                out[code][t][0] += counts[t][0]
                out[code][t][1] += counts[t][1]
                out[code][t][2] += len(ra) + len(rb)
    return out


def _regions(data: AgreementData, overlap: float, lenient: float, totals: dict) -> pd.DataFrame:
    """One row per code used on pictures or PDF areas: regions per coder, presence per source, region
    matching at both thresholds."""
    rows = []
    for code, info in data.region_codes.items():
        row: dict = {"code": info.name, "code_path": " > ".join(info.path)}
        canvases = {canvas for (canvas, _, k) in data.regions if k == code}
        canvases |= {canvas for (canvas, k) in data.region_whole if k == code}
        row["sources"] = len(canvases)
        row["pages"] = len({(canvas, page) for (canvas, page, k) in data.regions if k == code})
        for coder in data.coders:
            row[f"regions {coder}"] = sum(len(per.get(coder, ())) for (_, _, k), per in data.regions.items()
                                          if k == code)
        presence = _region_presence(data, code)
        if presence and presence[0]:
            table = prepare(presence)
            row["presence_alpha"] = _value(krippendorff_alpha, table)
            row["presence_agreement"] = _value(percent_agreement, table)
            row["presence_ac1"] = _value(gwet_ac1, table)
        else:
            row["presence_alpha"] = row["presence_agreement"] = row["presence_ac1"] = (
                "undefined: no picture or text-less PDF (PDF areas count in the documents' presence)")
        for threshold in (overlap, lenient):
            matched, pairs, count = totals[code][threshold]
            why = "undefined: no regions of this code"
            row[f"match_{threshold:.0%}"] = matched / count if count else why
            row[f"f1_{threshold:.0%}"] = 2 * pairs / count if count else why
        rows.append(row)
    return pd.DataFrame(rows)


def _coverage(data: AgreementData, region_table: pd.DataFrame) -> pd.DataFrame:
    """Which sources and codes each measure covered, in a researcher's words."""
    compared = [d for d in range(len(data.documents)) if len(data.coders_of(d)) >= 2]
    texts = [data.documents[d] for d in compared]
    pdfs = sum(1 for d in texts if d.kind == "PDF")
    with_regions = {canvas for (canvas, _, _) in data.regions}

    def names(items) -> str:
        shown = [i.name for i in items][:6]
        return ", ".join(shown) + (f" and {len(items) - 6} more" if len(items) > 6 else "")

    rows = [{"measure": "text: |u-alpha, segments, presence per document, disagreements",
             "sources": f"{len(texts)} documents ({len(texts) - pdfs} texts, {pdfs} PDF texts): {names(texts)}"
             if texts else "none",
             "codes": len(data.codes)}]
    region_sources = [r for r in data.region_sources if r.document is None]
    rows.append({"measure": "regions: presence per picture (alpha, agreement, AC1)",
                 "sources": f"{len(region_sources)} pictures and PDFs without text: {names(region_sources)}"
                 if region_sources else "none",
                 "codes": len(region_table)})
    matched = [r for i, r in enumerate(data.region_sources) if i in with_regions]
    rows.append({"measure": "regions: matching by intersection over union (match rate, F1)",
                 "sources": f"{len(matched)} sources ({sum(1 for r in matched if r.kind == 'picture')} pictures, "
                 f"{sum(1 for r in matched if r.kind == 'PDF')} PDFs' areas): {names(matched)}" if matched else "none",
                 "codes": len(region_table)})
    if data.set_aside:
        rows.append({"measure": "not measured", "sources": describe_set_aside(data.set_aside), "codes": ""})
    return pd.DataFrame(rows, columns=["measure", "sources", "codes"])


def _statement(data: AgreementData, overlap: float, lenient: float, bootstrap: int, table: pd.DataFrame,
               cu_reading: str = "pairsum") -> list[str]:
    compared = [d for d in range(len(data.documents)) if len(data.coders_of(d)) >= 2]
    partial = [d for d in compared if len(data.coders_of(d)) < len(data.coders)]
    characters = sum(data.documents[d].length for d in compared)
    whole = sum(len(v) for v in data.whole.values())
    pdfs = sum(1 for d in compared if data.documents[d].kind == "PDF")
    lines = [f"Coders: {', '.join(data.coders)} ({len(data.coders)})."]
    if data.left_out:
        lines.append(f"Left out: {', '.join(data.left_out)}, whose codings are in the project but who were handed "
                     "no sources (codings the master already held); name every coder with --coders to include "
                     "them.")
    if data.documents:
        lines += [
            "Segments per coder after uniting overlaps: "
            + ", ".join(f"{c} {data.segments.get(c, 0)}" for c in data.coders) + ".",
            f"Documents: {len(compared)} text documents compared"
            + (f" ({pdfs} of them PDFs, measured on their Representation text)" if pdfs else "") + ", "
            f"{characters:,} characters; {len(data.documents) - len(compared)} documents had fewer than two "
            "coders and were left out.",
            f"Codes: {len(data.codes)} in the text measures. Unit of analysis: the character (Unicode code point) "
            "of the merged project's texts, so every coder is measured on the same text.",
            f"Overlaps: each coder's overlapping segments of one code were united first ({data.merged_overlaps} "
            "segments united); touching segments stay separate units.",
            f"Whole-document codings: {whole}, counted as presence of the code in the document, not as spans.",
            f"Missing coders: {data.assignment_rule} {len(partial)} documents were compared with fewer than all "
            "coders.",
            f"Headline: |u-alpha (Krippendorff et al. 2016) per code, pooled over documents; 95% interval from "
            f"{bootstrap} bootstrap resamples of documents." if bootstrap else
            "Headline: |u-alpha (Krippendorff et al. 2016) per code, pooled over documents; no bootstrap.",
            f"Segments match when they overlap by {overlap:.0%} (MAXQDA's default) or, leniently, {lenient:.0%} "
            "(intersection over union); F1 counts one-to-one matches; Holsti counts identical segments.",
            "Compatibility columns reproduce NVivo (per document, mean and size-weighted), pooled character "
            "kappa, MAXQDA's Brennan-Prediger kappa and QualCoder's kappa (not Cohen's); with more than two "
            "coders they are averaged over coder pairs.",
            f"cu-alpha of code groups reads its correction term as '{cu_reading}'"
            + (" (with two coders both readings give the same number)." if len(data.coders) == 2 else
               "; the published example does not settle the reading for three or more coders "
               "(docs/agreement.md gives the size of the difference)."),
            f"Disagreements: {len(table)} discordant passages listed for the consensus meeting.",
        ]
    else:
        lines.append("Documents: none with a text, so the text measures (|u-alpha, segments, disagreements) are "
                     "empty; the Regions sheet has the measures of pictures and PDF areas.")
    if not data.region_codes:
        lines.append("Regions: no picture or PDF area codings (the Regions sheet is empty).")
    lines += [
        "Thresholds: " + "; ".join(f"{a}: {b}" for a, b in THRESHOLDS) + ".",
        "These statistics measure the consistency of codebook-based coding; reflexive thematic analysis does "
        "not aim at it.",
    ]
    if data.pdf_origins:
        anchored = {k: v for k, v in data.pdf_origins.items() if k in ANCHORED_ORIGINS}
        rest = sum(v for k, v in data.pdf_origins.items() if k not in ANCHORED_ORIGINS and k != "twin")
        lines.append(
            f"PDF areas: {sum(anchored.values()):,} codings of PDF areas were anchored to the PDF's text ("
            + ", ".join(f"{k} {v:,}" for k, v in sorted(anchored.items())) + ") and measured as text spans (an "
            "area anchored by its excerpt counts as the excerpt, the quotation's first characters); "
            f"{rest:,} did not anchor (the codings table says why) and were measured as regions."
            + (f" {data.pdf_origins['twin']:,} were ATLAS.ti's second record of a text selection and counted once."
               if data.pdf_origins.get("twin") else ""))
    if data.region_codes:
        pictures = sum(1 for r in data.region_sources if r.kind == "picture")
        count = sum(len(v) for per in data.regions.values() for v in per.values())
        lines.append(
            f"Regions: {count:,} regions on {pictures} pictures and {len(data.region_sources) - pictures} PDFs "
            f"(assignment: {data.assignment_rule.rstrip('.')}), "
            f"{len(data.region_codes)} codes. Presence per picture (or PDF without text): alpha, agreement and "
            f"AC1 on whether each coder used the code there. Region matching: two coders' regions of one code on "
            f"one picture or PDF page match when their intersection over union reaches {overlap:.0%} or, "
            f"leniently, {lenient:.0%}; matching is one to one (an optimal assignment: most pairs, then most "
            "overlap); match rate counts regions with a match, F1 one-to-one pairs. Rectangles are compared in "
            "the file's own units (pixels, PDF points).")
    if data.set_aside:
        lines.append(f"Not measured: {describe_set_aside(data.set_aside)}.")
    if data.clipped:
        lines.append(f"{data.clipped} selections reached outside their text (a damaged file; `refi-bridge validate` "
                     "lists them) and were cut to the text.")
    return lines


def _facts(data: AgreementData, table: pd.DataFrame) -> dict:
    """Who was compared on what, as numbers: what a summary and a methods section state."""
    compared = [d for d in range(len(data.documents)) if len(data.coders_of(d)) >= 2]
    return {"coders": len(data.coders), "documents": len(data.documents), "documents_compared": len(compared),
            "documents_with_fewer_coders": sum(1 for d in compared if len(data.coders_of(d)) < len(data.coders)),
            "characters": int(sum(data.documents[d].length for d in compared)), "codes": len(data.codes),
            "segments": {c: int(data.segments.get(c, 0)) for c in data.coders},
            "whole_document_codings": sum(len(v) for v in data.whole.values()),
            "disagreements": len(table)}


_NUMBERS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine", 10: "Ten"}


def apa(value: float) -> str:
    """A coefficient as a paper prints it: two decimals, no leading zero (.77, -.05, 1.00)."""
    text = f"{value:.2f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def methods(report: AgreementReport) -> str:
    """A methods paragraph with this analysis's numbers, for a paper to quote (and edit)."""
    from refi_bridge import __version__

    facts = report.facts
    coders = facts["coders"]
    who = _NUMBERS.get(coders, str(coders))
    values = [v for v in report.per_code["u_alpha_binary"] if isinstance(v, float)] if len(report.per_code) else []
    bootstrap = report.settings.get("bootstrap", 0)
    text = (f"{who} coders ({', '.join(report.coders)}) coded {facts['documents_compared']} text documents "
            f"({facts['characters']:,} characters) with a codebook of {facts['codes']} codes. Agreement was assessed "
            "per code with Krippendorff's binary unitizing alpha (|uα; Krippendorff et al., 2016) on the characters "
            "of all documents")
    text += (f", with 95% bootstrap confidence intervals over documents ({bootstrap:,} resamples)" if bootstrap
             else "")
    text += f", computed with refi_bridge {__version__}."
    if facts["documents_with_fewer_coders"]:
        text += (f" {facts['documents_with_fewer_coders']} documents were compared with fewer than all coders "
                 "(each coder on the documents assigned to them).")
    if values:
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        over = f"the {len(values)} codes" if len(values) == facts["codes"] else f"the {len(values)} codes with a value"
        text += (f" Median |uα across {over} was {apa(median)} (IQR {apa(q1)}–{apa(q3)}); "
                 f"{sum(v >= TENTATIVE for v in values)} of {len(values)} codes reached .667 and "
                 f"{sum(v >= RELIABLE for v in values)} reached .800.")
    pooled = report.overall.set_index("measure")["value"].get("|u-alpha, all codes pooled")
    if isinstance(pooled, float):
        text += f" With all codes pooled, |uα was {apa(pooled)}."
    if facts["disagreements"]:
        text += (f" The {facts['disagreements']:,} passages on which the coders disagreed were listed for "
                 "discussion.")
    return text
