"""Render the workbooks refi-bridge writes as a person sees them, for the docs (run on demand).

    python docs/render.py            # needs LibreOffice (soffice) and poppler (pdftoppm, pdftotext)

Runs the demo study through the pipeline, writes each workbook the docs show (agreement, merge report,
matrices, export), converts every one to PDF with LibreOffice - the check that it opens without repair
prompts - and saves the first printed page of chosen sheets as PNG in docs/images/. It says how many pages
each sheet prints on, and fails when a summary or a matrix takes more than one page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from refi_bridge.demo.pipeline import run_demo
from refi_bridge.tables.export import export_codings
from refi_bridge.tables.reports import matrix

IMAGES = Path(__file__).resolve().parent / "images"
RESOLUTION = 110

# -- (workbook, sheet, picture): the pages the docs show --
PICTURES = [
    ("agreement", "Summary", "agreement-summary.png"),
    ("agreement", "Per code", "agreement-per-code.png"),
    ("merge-report", "Summary", "merge-summary.png"),
    ("merge-report", "Files", "merge-files.png"),
    ("matrix", "Matrix", "matrix.png"),
    ("matrix-split", "Matrix", "matrix-split.png"),
    ("matrix-session", "Matrix", "matrix-session.png"),
    ("matrix-codes", "Matrix", "matrix-codes.png"),
]
ONE_PAGE = {"Summary", "Matrix"}


def to_pdf(workbook: Path, work: Path) -> Path:
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(workbook)],
                   check=True, capture_output=True)
    return work / (workbook.stem + ".pdf")


def sheets_by_page(pdf: Path) -> list[str]:
    """The sheet each page belongs to, read from the footer every sheet prints ("Summary, page 1")."""
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                              text=True, check=True).stdout).group(1))
    out = []
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        found = re.findall(r"(\S[^\n]*?), page \d+", text)
        out.append(found[-1].strip() if found else "?")
    return out


def picture(pdf: Path, page: int, target: Path, work: Path) -> None:
    stem = work / f"{pdf.stem}-{page}"
    subprocess.run(["pdftoppm", "-png", "-r", str(RESOLUTION), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True)
    shutil.copyfile(stem.with_suffix(".png"), target)
    print(f"wrote {target}")


def main() -> None:
    if not all(shutil.which(tool) for tool in ("soffice", "pdftoppm", "pdftotext", "pdfinfo")):
        sys.exit("needs LibreOffice (soffice) and poppler (pdftoppm, pdftotext): apt-get install libreoffice-calc "
                 "poppler-utils")
    IMAGES.mkdir(exist_ok=True)
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        result = run_demo(work / "demo")
        merged = result.files["merged"]
        workbooks = {"agreement": result.files["agreement"], "merge-report": result.files["merge-report"],
                     "matrix": result.files["matrix"]}
        workbooks["matrix-split"] = work / "matrix-split.xlsx"
        matrix(merged, workbooks["matrix-split"], group_by="variable:Outcome", split="variable:Perspective",
               cell="coders", title="Themes by dyad and perspective: which coders marked them")
        workbooks["matrix-session"] = work / "matrix-session.xlsx"
        matrix(merged, workbooks["matrix-session"], group_by="variable:Outcome", split="variable:Session",
               min_coders=2, title="Themes by dyad and session")
        workbooks["matrix-codes"] = work / "matrix-codes.xlsx"
        matrix(merged, workbooks["matrix-codes"], rows="codes", cell="count", group_by="variable:Outcome",
               title="Passages per code and dyad")
        workbooks["export"] = work / "codings.xlsx"
        export_codings(merged, workbooks["export"])
        pages = {}
        for name, path in workbooks.items():
            pages[name] = sheets_by_page(to_pdf(path, work))
            counts = {sheet: pages[name].count(sheet) for sheet in dict.fromkeys(pages[name])}
            print(f"{path.name}: {len(pages[name])} pages (" + ", ".join(f"{s} {n}" for s, n in counts.items()) + ")")
            problems += [f"{path.name}: {sheet} prints on {n} pages" for sheet, n in counts.items()
                         if sheet in ONE_PAGE and n > 1]
        for name, sheet, image in PICTURES:
            pdf = work / (workbooks[name].stem + ".pdf")
            picture(pdf, pages[name].index(sheet) + 1, IMAGES / image, work)
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
