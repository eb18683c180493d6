"""Benchmarks, run on demand: ``python benchmarks/run.py [--scale N] [--only read,merge,...]``.

Every timing is reported as a ratio to a baseline measured in the same run on the same machine, so the
numbers mean the same on a laptop and on CI:

* read:  ``refi_bridge.read(qdpx)`` against plain ``lxml.etree.parse`` of the same ``project.qde``
* write: ``refi_bridge.write(project, qdpx)`` against the same baseline
* memory: peak resident memory added by ``read`` (in a fresh process) against the size of the XML
* hostile: re-anchoring a 20,000-paragraph transcript against a 5,000-paragraph one, and checking the prolog
  of 256 MiB of blanks against ``bytes.lstrip`` of them
* pseudonymise: ``refi_bridge.pseudonymise(project, key)`` against ``read`` of the same file, and the whole
  file job (read, pseudonymise, write) against the same baseline; on half the project too, to show it linear
* survey: ``refi-bridge survey`` of an archive of study-sized projects with 1 and 2 local workers and on a
  Dask ``LocalCluster`` of 2 worker processes, against reading the same files one after another in this
  process; and the peak memory of the survey's processes at two archive sizes. The same pure-Python work
  in 1 and 2 processes, timed in turn with them, says how much this (shared) machine ran in parallel

The project is the demo study's ground truth at ``--scale`` (12 dyads and ~200 codings per unit), written
once to ``benchmarks/data/``; the survey's archive is ``--survey-files`` files of the study at scale 1
(five per seed: master, truth and three coders' exports). Results are printed and appended to
``benchmarks/results.jsonl``.
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
from concurrent.futures import ProcessPoolExecutor
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


def pseudonymisation_key():
    """A key as a study has one: the words of the study's roles and media that recur in every transcript, a
    pronoun (thousands of matches), a two-word phrase, one entry ignoring case (so that the matcher resolves
    overlaps between kinds of match), and 200 two-word names that are not in the texts."""
    from refi_bridge.privacy.key import Entry, Key

    entries = [Entry("Interviewer", "[Role 1]"), Entry("Therapist", "[Role 2]"), Entry("Client", "[Role 3]"),
               Entry("TV", "[Medium 1]"), Entry("she", "[they]"), Entry("good hands", "[Phrase 1]"),
               Entry("panic", "[Fear 1]", ignore_case=True)]
    entries += [Entry(f"Name{i} Family{i}", f"[Person {i}]") for i in range(200)]
    return Key(entries)


def bench_pseudonymise(files: dict[str, Path], repeat: int) -> dict:
    """Pseudonymising the ground truth, against reading it; the file job; and half the project."""
    from dataclasses import replace

    from refi_bridge.privacy.pseudonymising import pseudonymise

    path = files["truth"]
    key = pseudonymisation_key()
    reading = best_of(repeat, lambda: refi_bridge.read(path))
    project = refi_bridge.read(path)
    full = best_of(repeat, lambda: pseudonymise(project, key))
    half = replace(project, sources=project.sources[: len(project.sources) // 2],
                   cases=project.cases[: len(project.cases) // 2])
    halved = best_of(repeat, lambda: pseudonymise(half, key))
    out = DATA / "pseudonymised.qdpx"

    def job():
        refi_bridge.write(pseudonymise(refi_bridge.read(path), key).project, out)

    whole = best_of(repeat, job)
    result = pseudonymise(project, key)
    return {"codings": result.report.codings, "replacements": result.report.replacements,
            "codings_shifted": result.report.shifted, "text_chars": sum(len(s.text or "") for s in project.sources),
            "read_s": round(reading, 3), "pseudonymise_s": round(full, 3), "pseudonymise_half_s": round(halved, 3),
            "job_s": round(whole, 3), "pseudonymise_ratio": round(full / reading, 2),
            "job_ratio": round(whole / reading, 2), "doubling_ratio": round(full / halved, 2)}


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



def spin(count: int) -> int:
    """Pure-Python work, to see how much the machine runs in parallel (a module-level function: picklable)."""
    total = 0
    for number in range(count):
        total += number * number
    return total


def survey_archive(files: int) -> Path:
    """Write (once) an archive of ``files`` study files: seeds 1, 2, ... of the study at scale 1, five files
    each (master, truth, three coders in their tools' dialects)."""
    from refi_bridge.demo.pipeline import write_study
    from refi_bridge.demo.study import generate

    folder = DATA / f"archive-{files}"
    seeds = -(-files // 5)
    if len(list(folder.glob("*/*.qdpx"))) != seeds * 5:
        print(f"writing an archive of {seeds * 5} files to {folder} ...", flush=True)
        for seed in range(1, seeds + 1):
            write_study(generate(seed=seed), folder / f"seed-{seed:04d}")
    return folder


SURVEY_PEAK = PEAK + """
import json, os, sys, threading, time, warnings
warnings.simplefilter("ignore")
import refi_bridge


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


workers = {}
def sample(_=None):
    for pid in descendants(os.getpid()):
        workers[pid] = max(workers.get(pid, 0), hwm(pid))


stop = threading.Event()
def sampler():
    while not stop.wait(0.05):
        sample()


if __name__ == "__main__":
    archive, out = sys.argv[1], sys.argv[2]
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    result = refi_bridge.survey([archive], out, workers=2, resume=False, progress=sample)
    stop.set()
    print(json.dumps({"files": result.files, "codings": result.codings, "client": peak(),
                      "worker": max(workers.values())}))
"""


def survey_memory(files: int) -> dict:
    """Peak resident memory of the surveying process and of its largest worker, in a fresh process."""
    script = DATA / "survey_peak.py"
    script.write_text(SURVEY_PEAK, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), str(survey_archive(files)), str(DATA / f"survey-peak-{files}")],
                         capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_survey(_files, repeat: int, archive_files: int = 360) -> dict:
    """Files and codings per second of the survey, against reading the same files one after another."""
    import logging

    from dask.distributed import LocalCluster

    archive = survey_archive(archive_files)
    paths = sorted(archive.glob("*/*.qdpx"))
    out = DATA / "survey-out"

    def serial() -> None:
        for path in paths:
            refi_bridge.read(path).codings()

    def local(workers: int):
        return lambda: refi_bridge.survey([archive], out, workers=workers, resume=False)

    def machine(workers: int):
        # -- the same pure-Python work in 1 and 2 processes: how much the machine can run in parallel now --
        def run() -> None:
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(spin, [3_000_000] * 4))
        return run

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        modes = {"read": serial, "local_1": local(1), "local_2": local(2),
                 "dask_2": lambda: refi_bridge.survey([archive], out, scheduler=cluster.scheduler_address,
                                                      resume=False),
                 "machine_1": machine(1), "machine_2": machine(2)}
        for run in modes.values():
            run()  # warm: imports, the schema, the fork server, the cluster's workers
        # -- the modes take turns, so that each gets its share of quiet moments on a shared machine --
        times: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(repeat):
            for name, run in modes.items():
                times[name].append(best_of(1, run))
        timings = {name: min(seconds) for name, seconds in times.items()}
    reading = timings.pop("read")
    machine_scaling = timings.pop("machine_1") / timings.pop("machine_2")
    codings = sum(len(refi_bridge.read(p).codings()) for p in paths)
    result = {"files": len(paths), "codings": codings, "read_serially_s": round(reading, 3),
              "read_files_per_s": round(len(paths) / reading, 1), "read_codings_per_s": round(codings / reading)}
    for name, seconds in timings.items():
        result[f"{name}_s"] = round(seconds, 3)
        result[f"{name}_files_per_s"] = round(len(paths) / seconds, 1)
        result[f"{name}_codings_per_s"] = round(codings / seconds)
        result[f"{name}_vs_reading"] = round(reading / seconds, 2)
    result["two_workers_vs_one"] = round(timings["local_1"] / timings["local_2"], 2)
    result["machine_two_processes_vs_one"] = round(machine_scaling, 2)
    result["dask_vs_local_pool"] = round(timings["dask_2"] / timings["local_2"], 2)
    for size in (archive_files // 3, archive_files * 4 // 3):
        memory = survey_memory(size)
        result[f"memory_{memory['files']}_files"] = {"codings": memory["codings"],
                                                     "worker_peak_mb": round(memory["worker"] / 2**20, 1),
                                                     "client_peak_mb": round(memory["client"] / 2**20, 1)}
    return result


BENCHES = {"io": bench_io, "merge": bench_merge, "agreement": bench_agreement, "hostile": bench_hostile,
           "pseudonymise": bench_pseudonymise, "survey": bench_survey}
# -- the benchmarks that work on the big study of --scale (hostile and survey make their own inputs) --
ON_STUDY = ("io", "merge", "agreement", "pseudonymise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=500, help="study scale (500: ~100k codings per file)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    parser.add_argument("--survey-files", type=int, default=360, help="files in the survey's archive")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    names = args.only.split(",")
    files = study_files(args.scale) if any(name in ON_STUDY for name in names) else None
    record = {"when": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
              "machine": platform.machine(), "scale": args.scale,
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    for name in names:
        extra = {"archive_files": args.survey_files} if name == "survey" else {}
        result = BENCHES[name](files, args.repeat, **extra)
        record[name] = result
        print(json.dumps({name: result}, indent=2), flush=True)
    with open(HERE / "results.jsonl", "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
