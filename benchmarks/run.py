"""Benchmarks, run on demand: ``python benchmarks/run.py [--scale N] [--only read,merge,...]``.

Every timing is reported as a ratio to a baseline measured in the same run on the same machine, so the
numbers mean the same on a laptop and on CI:

* read:  ``refi_bridge.read(qdpx)`` against plain ``lxml.etree.parse`` of the same ``project.qde``
* write: ``refi_bridge.write(project, qdpx)`` against the same baseline
* memory: peak resident memory added by ``read`` (in a fresh process) against the size of the XML
* hostile: re-anchoring a 20,000-paragraph transcript against a 5,000-paragraph one, and checking the prolog
  of 256 MiB of blanks against ``bytes.lstrip`` of them

The project is the demo study's ground truth at ``--scale`` (12 dyads and ~200 codings per unit), written
once to ``benchmarks/data/``. Results are printed and appended to ``benchmarks/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent))

import refi_bridge  # noqa: E402
from refi_bridge.errors import RefiBridgeWarning  # noqa: E402

warnings.simplefilter("ignore", RefiBridgeWarning)


def best_of(repeat: int, function) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def study_files(scale: int) -> dict[str, Path]:
    """Write (once) the study at ``scale``: the truth and the three coders' files."""
    from refi_bridge.demo.pipeline import write_study
    from refi_bridge.demo.study import generate

    folder = DATA / f"scale-{scale}"
    marker = folder / "passages.csv"
    if not marker.exists():
        print(f"generating the study at scale {scale} in {folder} ...", flush=True)
        write_study(generate(scale=scale), folder)
    return {path.stem: path for path in folder.glob("*.qdpx")}


PEAK = """
def peak():
    # VmHWM is the peak of this process's own address space; ru_maxrss would include the parent's peak,
    # which a forked child inherits on Linux
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""


def peak_memory(path: Path) -> int:
    """Peak resident memory added by reading ``path``, measured in a fresh process (bytes)."""
    code = PEAK + (
        "import warnings, refi_bridge, refi_bridge.formats.exchange\n"
        "warnings.simplefilter('ignore')\n"
        "before = peak()\n"
        f"p = refi_bridge.read({str(path)!r})\n"
        "print(peak() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=HERE.parent)
    return int(out.stdout.strip())


def bench_io(files: dict[str, Path], repeat: int) -> dict:
    from lxml import etree

    path = files["truth"]
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("project.qde")
    xml_file = DATA / "baseline-project.qde"
    xml_file.write_bytes(xml)
    baseline = best_of(repeat, lambda: etree.parse(str(xml_file)))
    read = best_of(repeat, lambda: refi_bridge.read(path))
    project = refi_bridge.read(path)
    out = DATA / "written.qdpx"
    write = best_of(repeat, lambda: refi_bridge.write(project, out))
    memory = peak_memory(path)
    codings = sum(1 for _ in project.iter_codings())
    return {
        "xml_bytes": len(xml), "sources": len(project.sources), "codings": codings,
        "lxml_parse_s": round(baseline, 3), "read_s": round(read, 3), "write_s": round(write, 3),
        "read_ratio": round(read / baseline, 2), "write_ratio": round(write / baseline, 2),
        "peak_read_memory_bytes": memory, "memory_ratio": round(memory / len(xml), 2),
    }


def bench_merge(files: dict[str, Path], repeat: int) -> dict:
    """Merging the three coders' files onto the master, against reading them."""
    from refi_bridge.team.merging import MergeInput, merge_projects

    paths = [files[name] for name in ("ingrid-nvivo", "tomas-atlasti", "amara-refi")]
    reading = best_of(repeat, lambda: [refi_bridge.read(p) for p in paths])
    master = refi_bridge.read(files["master"])
    projects = [refi_bridge.read(p) for p in paths]
    inputs = [MergeInput(p, path.name) for p, path in zip(projects, paths)]
    merging = best_of(repeat, lambda: merge_projects(inputs, base=master))
    result = merge_projects(inputs, base=master)
    return {"codings_merged": sum(f.codings_added for f in result.report.files),
            "read_three_s": round(reading, 3), "merge_s": round(merging, 3),
            "merge_ratio": round(merging / reading, 2)}


def bench_agreement(files: dict[str, Path], repeat: int) -> dict:
    """Agreement on the merged project of three coders, against reading it; and on half of it."""
    from dataclasses import replace

    from refi_bridge.agreement import compute
    from refi_bridge.team.merging import MergeInput, merge_projects

    merged_path = DATA / f"merged-{len(files)}.qdpx"
    master = refi_bridge.read(files["master"])
    inputs = [MergeInput(refi_bridge.read(files[n]), n) for n in ("ingrid-nvivo", "tomas-atlasti", "amara-refi")]
    refi_bridge.write(merge_projects(inputs, base=master).project, merged_path)
    reading = best_of(repeat, lambda: refi_bridge.read(merged_path))
    project = refi_bridge.read(merged_path)
    full = best_of(repeat, lambda: compute(project))
    half = replace(project, sources=project.sources[: len(project.sources) // 2],
                   cases=project.cases[: len(project.cases) // 2])
    halved = best_of(repeat, lambda: compute(half))
    codings = sum(1 for _ in project.iter_codings())
    return {"codings": codings, "codings_half": sum(1 for _ in half.iter_codings()),
            "read_s": round(reading, 3), "agreement_s": round(full, 3), "agreement_half_s": round(halved, 3),
            "agreement_ratio": round(full / reading, 2), "doubling_ratio": round(full / halved, 2)}


def bench_hostile(files: dict[str, Path], repeat: int) -> dict:
    """What hostile or unlucky files cost: re-anchoring a long transcript with blank lines and one typo fixed
    (20,000 paragraphs against 5,000: linear work is 4x, quadratic 16x), and 256 MiB of blanks before the
    root element against C's own ``bytes.lstrip`` of them."""
    from refi_bridge.formats.qde.parsing import refuse_doctype
    from refi_bridge.team.anchoring import Alignment

    def transcript(paragraphs: int) -> tuple[str, str]:
        lines = [f"Paragraph {n}: the client spoke about topic {n % 17} and teh weather." for n in range(paragraphs)]
        copy = "\n\n".join(lines)
        lines[paragraphs // 3] = lines[paragraphs // 3].replace("teh", "the")
        return copy, "\n\n".join(lines)

    def align(texts: tuple[str, str]) -> None:
        alignment = Alignment(*texts)
        for at in range(0, len(texts[0]), max(1, len(texts[0]) // 100)):
            alignment.place(at, at + 40)

    small, large = transcript(5_000), transcript(20_000)
    small_s = best_of(repeat, lambda: align(small))
    large_s = best_of(repeat, lambda: align(large))
    blanks = b" \n" * (128 * 2**20) + b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>'
    strip_s = best_of(repeat, lambda: blanks.lstrip())
    prolog_s = best_of(repeat, lambda: refuse_doctype(blanks, "blanks.qde"))
    return {"reanchor_5000_s": round(small_s, 3), "reanchor_20000_s": round(large_s, 3),
            "reanchor_ratio": round(large_s / small_s, 2), "blank_prolog_bytes": len(blanks),
            "lstrip_s": round(strip_s, 3), "prolog_check_s": round(prolog_s, 3),
            "prolog_ratio": round(prolog_s / strip_s, 2)}


BENCHES = {"io": bench_io, "merge": bench_merge, "agreement": bench_agreement, "hostile": bench_hostile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=500, help="study scale (500: ~100k codings per file)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    files = study_files(args.scale)
    record = {"when": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
              "machine": platform.machine(), "scale": args.scale,
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    for name in args.only.split(","):
        result = BENCHES[name](files, args.repeat)
        record[name] = result
        print(json.dumps({name: result}, indent=2), flush=True)
    with open(HERE / "results.jsonl", "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
