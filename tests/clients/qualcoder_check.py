#!/usr/bin/env python3
"""Check what QualCoder keeps when it imports a .qdpx: run by hand, not in CI.

    python3 qualcoder_check.py FILE.qdpx [--qualcoder-src DIR] [--qcvenv DIR] [--harness PATH]
                                         [--keep DIR] [--details] [--strict]

Runs the shared headless harness (shared/clients/qualcoder_import.py: QualCoder's own
"Import REFI-QDA project", set up as its README says) on FILE, then compares QualCoder's SQLite
project with what the file means:

  text codings      landed on the same text (code points of the file's text) and with the coder
                    (Coding@creatingUser, else the selection's)
  picture/PDF areas same rectangle and code, and the coder
  cases             kept; every case-source link (SourceRef, or codings at a code whose GUID is the
                    case's) present in case_text, and whole-source links covering the whole text
  notes             attached (annotation at the passage), kept elsewhere (journal, memo) or lost
  sources           present and under their own name

Defaults: --qualcoder-src $HOME/qualcoder-src, --qcvenv $HOME/qcvenv, --harness: $QC_HARNESS, else
the first shared/clients/qualcoder_import.py found above this script or the working directory.
Exit status: 0 ran (problems are printed), 1 the harness failed, 3 with --strict and a problem found.
Needs only the standard library; QualCoder runs in its own venv.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

CATEGORY_FALSE = "false"


# ------------------------------------------------------------------ what the file means
def _tag(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _kids(el, name):
    return [c for c in el if _tag(c) == name]


def _member(names: list[str], ref: str | None) -> str | None:
    if not ref:
        return None
    r = re.sub(r"^internal:/+", "", ref)
    low = {n.lower(): n for n in names}
    for cand in (f"sources/{r}", r):
        if cand.lower() in low:
            return low[cand.lower()]
    return None


def read_file(path: Path) -> dict:
    z = zipfile.ZipFile(path)
    names = z.namelist()
    qde = "project.qde" if "project.qde" in names else next(n for n in names if n.lower().endswith(".qde"))
    root = ET.fromstring(z.read(qde))

    def text_of(ref):
        m = _member(names, ref)
        return z.read(m).decode("utf-8-sig", errors="replace") if m else None

    users = {u.get("guid"): u.get("name") for u in root.iter() if _tag(u) == "User"}
    codes = {c.get("guid"): {"name": c.get("name"), "codable": c.get("isCodable") != CATEGORY_FALSE}
             for c in root.iter() if _tag(c) == "Code"}
    cases = {c.get("guid"): c for c in root.iter() if _tag(c) == "Case" and c.get("name") is not None}
    notes = {}
    for n in root.iter():
        if _tag(n) == "Note":
            pc = _kids(n, "PlainTextContent")
            body = text_of(n.get("plainTextPath")) if n.get("plainTextPath") else None
            inline = (pc[0].text or "").strip() if pc else ""
            own = _kids(n, "PlainTextSelection")
            notes[n.get("guid")] = {"name": n.get("name"), "text": (body or "").strip() or inline,
                                    "alt": inline, "targets": [],
                                    # QualCoder's own form: positions of the passage in the SOURCE text
                                    "own_selection": (int(own[0].get("startPosition")), int(own[0].get("endPosition")))
                                    if own and own[0].get("startPosition") and own[0].get("endPosition") else None}
    sources, text_codings, area_codings, case_links = [], [], [], []
    sel_index = {}  # selection guid -> (source index, start, end)

    def add_text_selections(parent, si, text):
        for sel in _kids(parent, "PlainTextSelection"):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            sel_index[sel.get("guid")] = (si, a, b)
            su = sel.get("creatingUser") or sel.get("modifyingUser")
            for cod in _kids(sel, "Coding"):
                ref = next((c.get("targetGUID") for c in cod if _tag(c) == "CodeRef"), None)
                coder = users.get(cod.get("creatingUser") or su)
                if ref in cases:
                    case_links.append({"case": cases[ref].get("name"), "si": si, "start": a, "end": b,
                                       "whole": text is not None and a == 0 and b >= len(text)})
                    continue
                text_codings.append({"si": si, "code": (codes.get(ref) or {}).get("name"),
                                     "code_is_category": not (codes.get(ref) or {"codable": True})["codable"],
                                     "start": a, "end": b, "coder": coder,
                                     "text": text[a:b] if text is not None else None})
            for nr in _kids(sel, "NoteRef"):
                if nr.get("targetGUID") in notes:
                    notes[nr.get("targetGUID")]["targets"].append(("passage", si, a, b))
            desc = [d.text for d in _kids(sel, "Description") if d.text]
            if not _kids(sel, "Coding") and desc:  # a memo on an uncoded passage
                notes[sel.get("guid")] = {"name": None, "text": desc[0].strip(), "alt": "", "own_selection": None,
                                          "targets": [("passage", si, a, b)]}

    for top in root:
        if _tag(top) != "Sources":
            continue
        for src in top:
            kind = _tag(src)
            si = len(sources)
            text = None
            if kind == "TextSource":
                text = text_of(src.get("plainTextPath"))
                if text is None and _kids(src, "PlainTextContent"):
                    text = _kids(src, "PlainTextContent")[0].text or ""
            rep = _kids(src, "Representation")
            if kind == "PDFSource" and rep:
                text = text_of(rep[0].get("plainTextPath"))
            sources.append({"kind": kind, "name": src.get("name"), "guid": src.get("guid"), "text": text})
            add_text_selections(src, si, text)
            if rep:
                add_text_selections(rep[0], si, text)
            for sel in src:
                if _tag(sel) not in ("PictureSelection", "PDFSelection"):
                    continue
                su = sel.get("creatingUser") or sel.get("modifyingUser")
                for cod in _kids(sel, "Coding"):
                    ref = next((c.get("targetGUID") for c in cod if _tag(c) == "CodeRef"), None)
                    area_codings.append({
                        "si": si, "kind": _tag(sel), "code": (codes.get(ref) or {}).get("name"),
                        "to_case": ref in cases, "page": sel.get("page"),
                        "rect": tuple(sel.get(k) for k in ("firstX", "firstY", "secondX", "secondY")),
                        "coder": users.get(cod.get("creatingUser") or su)})
            for nr in _kids(src, "NoteRef"):
                n = notes.get(nr.get("targetGUID"))
                if n is not None:
                    if n["own_selection"]:
                        n["targets"].append(("passage", si, *n["own_selection"]))
                    else:
                        n["targets"].append(("source", si, None, None))
    by_guid = {s["guid"]: i for i, s in enumerate(sources)}
    for case in cases.values():
        for sr in _kids(case, "SourceRef"):
            si = by_guid.get(sr.get("targetGUID"))
            if si is not None:
                t = sources[si]["text"]
                case_links.append({"case": case.get("name"), "si": si, "start": 0,
                                   "end": len(t) if t is not None else 0, "whole": True, "sourceref": True})
    for el in root.iter():  # NVivo: Link from a Note to an (uncoded) selection
        if _tag(el) == "Link" and el.get("originGUID") in notes and el.get("targetGUID") in sel_index:
            si, a, b = sel_index[el.get("targetGUID")]
            notes[el.get("originGUID")]["targets"].append(("passage", si, a, b))
    for el in root.iter():  # NoteRefs on codes and cases
        if _tag(el) in ("Code", "Case"):
            for nr in _kids(el, "NoteRef"):
                if nr.get("targetGUID") in notes:
                    notes[nr.get("targetGUID")]["targets"].append((_tag(el).lower(), None, None, None))
    dup_names = [n for n, k in collections.Counter(c["name"] for c in codes.values()).items() if k > 1]
    case_code_names = [codes[g]["name"] for g in cases if g in codes]
    return {"sources": sources, "text_codings": text_codings, "area_codings": area_codings,
            "cases": [c.get("name") for c in cases.values()], "case_links": case_links,
            "notes": notes, "duplicate_code_names": dup_names, "case_code_names": case_code_names}


# ------------------------------------------------------------------ what QualCoder kept
def read_db(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    out = {
        "sources": q("select id, name, fulltext, mediapath, ifnull(memo,'') from source order by id"),
        "codes": dict(q("select cid, name from code_name")),
        "code_memos": [r[0] for r in q("select ifnull(memo,'') from code_name")],
        "code_text": q("select cid, fid, pos0, pos1, owner from code_text"),
        "code_image": q("select cid, id, x1, y1, width, height, owner, pdf_page from code_image"),
        "cases": dict(q("select caseid, name from cases")),
        "case_memos": [r[0] for r in q("select ifnull(memo,'') from cases")],
        "case_text": q("select caseid, fid, pos0, pos1 from case_text"),
        "annotations": q("select fid, pos0, pos1, ifnull(memo,''), owner from annotation"),
        "journals": q("select name, ifnull(jentry,'') from journal"),
    }
    con.close()
    return out


def map_sources(file_sources: list[dict], qc_sources: list[tuple]) -> dict[int, int]:
    """file source index -> QualCoder source id (QualCoder prefixes 'N_' to a repeated name,
    appends '.pdf' to PDF names, stores a missing name as NULL)."""
    out, used = {}, set()
    for i, s in enumerate(file_sources):
        want = s["name"]
        for r in qc_sources:
            if r[0] in used:
                continue
            name = r[1]
            ok = (name == want or (want is not None and re.fullmatch(rf"\d+_{re.escape(want)}", str(name)))
                  or (s["kind"] == "PDFSource" and want and name == want + ".pdf")
                  or (want is None and (name is None or re.fullmatch(r"\d+_None", str(name)))))
            if ok:
                out[i] = r[0]
                used.add(r[0])
                break
    return out


def compare(f: dict, d: dict) -> dict:
    smap = map_sources(f["sources"], d["sources"])
    full = {r[0]: r[2] for r in d["sources"]}
    res = {}
    # sources
    named = sum(1 for i, s in enumerate(f["sources"]) if i in smap
                and next(r[1] for r in d["sources"] if r[0] == smap[i]) == s["name"] and s["name"])
    res["sources"] = {
        "file": len(f["sources"]), "in_qualcoder": len(d["sources"]), "mapped": len(smap),
        "same_name": named,
        "problems": [f"{s['kind']} {s['name']!r}: " + ("missing" if i not in smap else "stored as " + repr(
            next(r[1] for r in d["sources"] if r[0] == smap[i])))
            for i, s in enumerate(f["sources"])
            if i not in smap or next(r[1] for r in d["sources"] if r[0] == smap[i]) != s["name"] or not s["name"]]}
    # text codings
    rows = collections.defaultdict(list)
    for cid, fid, a, b, owner in d["code_text"]:
        rows[(fid, d["codes"].get(cid), a, b)].append(owner)
    st = collections.Counter()
    examples = []
    for c in f["text_codings"]:
        fid = smap.get(c["si"])
        owners = rows.get((fid, c["code"], c["start"], c["end"]))
        if not owners:
            st["missing"] += 1
            why = ("code is a category (isCodable=false)" if c["code_is_category"] else
                   "code name repeated in the file" if c["code"] in f["duplicate_code_names"] else "")
            examples.append(("missing", f["sources"][c["si"]]["name"], c["code"], c["start"], c["end"], why))
            continue
        qtext = (full.get(fid) or "")[c["start"]:c["end"]]
        text_ok = c["text"] is None or qtext == c["text"]
        ws_ok = c["text"] is None or " ".join(qtext.split()) == " ".join(c["text"].split())
        coder_ok = c["coder"] in owners
        owners_before = list(owners)
        if coder_ok:
            owners.remove(c["coder"])
        else:
            owners.pop(0)
        st["found"] += 1
        st["text_exact"] += text_ok
        st["text_same_but_whitespace"] += (ws_ok and not text_ok)
        st["coder_right"] += coder_ok
        st["right"] += text_ok and coder_ok
        if not (text_ok and coder_ok) and len(examples) < 40:
            examples.append(("text differs" if not text_ok else "coder differs",
                             f["sources"][c["si"]]["name"], c["code"], c["start"], c["end"],
                             f"file {c['text']!r:.40} / QualCoder {qtext!r:.40}" if not text_ok else
                             f"file {c['coder']} / QualCoder {owners_before}"))
    res["text_codings"] = {"file": len(f["text_codings"]), **st,
                           "qualcoder_rows": len(d["code_text"]),
                           "qualcoder_rows_without_code": sum(1 for r in d["code_text"] if d["codes"].get(r[0]) is None),
                           "examples": examples[:12]}
    # picture / PDF areas
    img = collections.defaultdict(list)
    for cid, fid, x, y, w, h, owner, page in d["code_image"]:
        img[(fid, d["codes"].get(cid), x, y, w, h, page)].append(owner)
    st = collections.Counter()
    for c in f["area_codings"]:
        try:
            x0, y0, x1, y1 = (int(v) for v in c["rect"])
        except (TypeError, ValueError):
            st["bad_coordinates"] += 1
            continue
        page = int(c["page"]) if c["page"] is not None else None
        owners = img.get((smap.get(c["si"]), c["code"], x0, y0, x1 - x0, y1 - y0, page))
        if c["to_case"]:
            st["coded_to_a_case (QualCoder cannot link)"] += 1
        elif not owners:
            st["missing"] += 1
        else:
            st["found"] += 1
            if c["coder"] in owners:
                st["coder_right"] += 1
                owners.remove(c["coder"])
            else:
                owners.pop(0)
    res["area_codings"] = {"file": sum(not c["to_case"] for c in f["area_codings"]), **st, "qualcoder_rows": len(d["code_image"]),
                           "qualcoder_rows_without_code": sum(1 for r in d["code_image"]
                                                              if d["codes"].get(r[0]) is None)}
    # cases
    qc_case_names = set(d["cases"].values())
    links = collections.defaultdict(list)
    for caseid, fid, a, b in d["case_text"]:
        links[(d["cases"].get(caseid), fid)].append((a, b))
    want = {}
    for link in f["case_links"]:
        k = (link["case"], link["si"])
        want[k] = want.get(k, False) or link["whole"]
    kept = whole_ok = 0
    lost = []
    for (case, si), whole in want.items():
        fid = smap.get(si)
        got = links.get((case, fid))
        if got:
            kept += 1
            n = len(full.get(fid) or "")
            whole_ok += (not whole) or any(a == 0 and b >= n for a, b in got) or n == 0
        elif len(lost) < 8:
            lost.append(f"{case} / {f['sources'][si]['name']}")
    res["cases"] = {"file": len(f["cases"]), "kept": sum(c in qc_case_names for c in f["cases"]),
                    "links_file": len(want), "links_kept": kept,
                    "whole_source_links_covering_whole_text": whole_ok,
                    "links_from_SourceRef_only": sum(1 for k in want if all(
                        link.get("sourceref") for link in f["case_links"] if (link["case"], link["si"]) == k)),
                    "case_codes_left_as_ordinary_codes": sum(n in d["codes"].values()
                                                             for n in f["case_code_names"]
                                                             if n not in f["duplicate_code_names"]),
                    "lost_examples": lost}
    # notes
    ann = collections.defaultdict(list)
    for fid, a, b, memo, _owner in d["annotations"]:
        ann[(fid, a, b)].append(memo.strip())
    elsewhere = ([m.strip() for *_, m, _o in d["annotations"]] + [j[1].strip().lstrip("\ufeff") for j in d["journals"]]
                 + [r[4].strip() for r in d["sources"]] + [m.strip() for m in d["code_memos"] + d["case_memos"]])
    st = collections.Counter()
    lost = []
    for g, n in f["notes"].items():
        txts = [x for x in (n["text"], n["alt"]) if x]
        txt = txts[0] if txts else ""
        passages = [t for t in n["targets"] if t[0] == "passage"]
        kind = ("passage" if passages else "source" if any(t[0] == "source" for t in n["targets"])
                else n["targets"][0][0] if n["targets"] else "unattached")
        st[f"{kind}_notes"] += 1
        attached = any(x in ann.get((smap.get(si), a, b), []) for _, si, a, b in passages for x in txts)
        if kind == "source":
            fids = {smap.get(t[1]) for t in n["targets"] if t[0] == "source"}
            attached = any(x in (r[4] or "") for r in d["sources"] if r[0] in fids for x in txts) or any(
                x in memos for (fid, a, b), memos in ann.items() if fid in fids for x in txts)
        if attached:
            st[f"{kind}_notes_attached"] += 1
        elif any(x in e for e in elsewhere if e for x in txts):
            st[f"{kind}_notes_kept_elsewhere"] += 1
        elif not txt:
            st[f"{kind}_notes_empty"] += 1
        else:
            st[f"{kind}_notes_lost"] += 1
            if len(lost) < 8:
                lost.append(f"{n['name'] or g}: {txt[:50]!r}")
    res["notes"] = {**st, "qualcoder_annotations": len(d["annotations"]),
                    "qualcoder_journals": len(d["journals"]), "lost_examples": lost}
    return res


# ------------------------------------------------------------------ running
def find_harness() -> Path | None:
    if os.environ.get("QC_HARNESS"):
        return Path(os.environ["QC_HARNESS"])
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for d in (start, *start.parents):
            p = d / "shared" / "clients" / "qualcoder_import.py"
            if p.exists():
                return p
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("qdpx", type=Path)
    ap.add_argument("--qualcoder-src", type=Path, default=Path.home() / "qualcoder-src")
    ap.add_argument("--qcvenv", type=Path, default=Path.home() / "qcvenv")
    ap.add_argument("--harness", type=Path, default=None)
    ap.add_argument("--keep", type=Path, help="keep QualCoder's project folder and the harness JSON here")
    ap.add_argument("--details", action="store_true", help="print the full comparison as JSON")
    ap.add_argument("--strict", action="store_true", help="exit 3 when something did not land")
    a = ap.parse_args(argv)
    harness = a.harness or find_harness()
    if harness is None or not harness.exists():
        print("harness not found: pass --harness .../shared/clients/qualcoder_import.py", file=sys.stderr)
        return 1
    py = a.qcvenv / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="qc-check-") as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        out_json = work / (a.qdpx.stem + ".harness.json")
        t0 = time.time()
        p = subprocess.run([str(py), str(harness), str(a.qdpx), str(out_json),
                            "--qualcoder-src", str(a.qualcoder_src), "--keep", str(work / "qc-project")],
                           capture_output=True, text=True)
        took = time.time() - t0
        dbs = list((work / "qc-project").glob("*/data.qda"))
        if not out_json.exists() or not dbs:
            print(p.stdout[-2000:], p.stderr[-3000:], file=sys.stderr)
            print(f"harness failed (exit {p.returncode})", file=sys.stderr)
            return 1
        hj = json.loads(out_json.read_text())
        f = read_file(a.qdpx)
        res = compare(f, read_db(dbs[0]))
    exc = hj["qualcoder"].get("exception")
    print(f"QualCoder import of {a.qdpx.name}: {took:.1f} s"
          + (f"  -- IMPORT ABORTED: {exc.strip().splitlines()[-1]}" if exc else ""))
    s, t, ar, c, n = res["sources"], res["text_codings"], res["area_codings"], res["cases"], res["notes"]
    print(f"  sources        {s['mapped']}/{s['file']} present, {s['same_name']} under their own name"
          f" (QualCoder holds {s['in_qualcoder']})")
    for pr in s["problems"][:6]:
        print(f"                   {pr}")
    print(f"  text codings   {t.get('right', 0)}/{t['file']} right (text+coder); found {t.get('found', 0)},"
          f" text exact {t.get('text_exact', 0)}, only whitespace differs {t.get('text_same_but_whitespace', 0)},"
          f" coder right {t.get('coder_right', 0)}, missing {t.get('missing', 0)};"
          f" QualCoder rows {t['qualcoder_rows']} ({t['qualcoder_rows_without_code']} without code)")
    for e in t["examples"][:6]:
        print("                   " + " | ".join(str(x) for x in e if x != ""))
    print(f"  picture/PDF    {ar.get('coder_right', 0)}/{ar['file']} with the right coder; found {ar.get('found', 0)},"
          f" missing {ar.get('missing', 0)}" + "".join(f", {k} {v}" for k, v in ar.items() if k not in (
              "file", "found", "missing", "coder_right", "qualcoder_rows", "qualcoder_rows_without_code"))
          + f"; QualCoder rows {ar['qualcoder_rows']} ({ar['qualcoder_rows_without_code']} without code)")
    print(f"  cases          {c['kept']}/{c['file']} kept; case-source links {c['links_kept']}/{c['links_file']}"
          f" ({c['whole_source_links_covering_whole_text']} cover what they should;"
          f" {c['links_from_SourceRef_only']} came only from SourceRef);"
          f" case codes left as ordinary codes {c['case_codes_left_as_ordinary_codes']}")
    for e in c["lost_examples"][:4]:
        print(f"                   link lost: {e}")
    kinds = sorted({k.split("_notes")[0] for k in n if k.endswith("_notes")})
    parts = []
    for k in kinds:
        tot = n[f"{k}_notes"]
        parts.append(f"{k} {n.get(f'{k}_notes_attached', 0)}/{tot} attached"
                     + (f", {n[f'{k}_notes_kept_elsewhere']} elsewhere" if n.get(f"{k}_notes_kept_elsewhere") else "")
                     + (f", {n[f'{k}_notes_lost']} LOST" if n.get(f"{k}_notes_lost") else "")
                     + (f", {n[f'{k}_notes_empty']} empty" if n.get(f"{k}_notes_empty") else ""))
    print(f"  notes          {'; '.join(parts) or 'none in file'}"
          f" (QualCoder: {n['qualcoder_annotations']} annotations, {n['qualcoder_journals']} journals)")
    for e in n["lost_examples"][:4]:
        print(f"                   lost: {e}")
    if a.details:
        print(json.dumps(res, indent=1, ensure_ascii=False, default=str))
    problem = bool(exc or s["problems"] or t.get("right", 0) < t["file"]
                   or ar.get("coder_right", 0) < ar["file"] or c["links_kept"] < c["links_file"]
                   or c["kept"] < c["file"] or any(k.endswith("_lost") for k in n))
    return 3 if (a.strict and problem) else 0


if __name__ == "__main__":
    sys.exit(main())
