"""Render the demo study's matrices with LibreOffice for the docs (run on demand, needs soffice and pdftoppm).

    python docs/render_matrices.py

Writes docs/images/matrix.png and docs/images/matrix-split.png. LibreOffice converting the workbook to PDF
without complaint is also the check that it opens without repair prompts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from refi_bridge.demo.pipeline import run_demo
from refi_bridge.tables.reports import matrix

IMAGES = Path(__file__).resolve().parent / "images"


def render(workbook: Path, target: Path, work: Path) -> None:
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(workbook)],
                   check=True, capture_output=True)
    pdf = work / (workbook.stem + ".pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-cropbox", str(pdf),
                    str(work / workbook.stem)], check=True)
    page = next(work.glob(workbook.stem + "*.png"))
    shutil.copyfile(page, target)
    print(f"wrote {target}")


def main() -> None:
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        sys.exit("needs LibreOffice (soffice) and poppler (pdftoppm): apt-get install libreoffice-calc-nogui "
                 "poppler-utils")
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        result = run_demo(work / "demo")
        render(result.files["matrix"], IMAGES / "matrix.png", work)
        split = work / "matrix-split.xlsx"
        matrix(result.files["merged"], split, group_by="variable:Outcome", split="variable:Perspective",
               cell="coders", title="Themes by dyad and perspective: which coders marked them")
        matrix(result.files["merged"], work / "matrix-session.xlsx", group_by="variable:Outcome",
               split="variable:Session", min_coders=2, title="Themes by dyad and session")
        render(split, IMAGES / "matrix-split.png", work)
        render(work / "matrix-session.xlsx", IMAGES / "matrix-session.png", work)


if __name__ == "__main__":
    main()
