"""Ctrl-C and failures: one line, exit status 130, no traceback at any moment, and the outputs of a command
written all together or not at all.

In-process tests interrupt a command at a chosen step (a KeyboardInterrupt raised where a second output is
being written); subprocess tests send SIGINT to the real command at several moments - while its libraries
load, while it reads, while it computes, while it writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.formats.exchange import all_or_nothing, atomic_output, held_interrupts

FIXTURES = ROOT / "fixtures" / "dyad-study"
CODER_FILES = ["ingrid-nvivo.qdpx", "tomas-atlasti.qdpx", "amara-refi.qdpx"]
INTERRUPTED = "interrupted; nothing was written"


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("merged") / "merged.qdpx"
    refi_bridge.write(refi_bridge.merge([FIXTURES / n for n in CODER_FILES]).project, path)
    return path


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder``: after an interrupted command, none (no output, no temporary)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def interrupt(*_, **__):
    raise KeyboardInterrupt


# -------------------------------------------------------------------------------------------------------
# All or none, in process
# -------------------------------------------------------------------------------------------------------

def test_outputs_of_a_block_appear_together_or_not_at_all(tmp_path):
    with all_or_nothing():
        for name in ("a.txt", "b.txt"):
            with atomic_output(tmp_path / name) as temporary:
                temporary.write_text(name)
            assert not (tmp_path / name).exists()  # waits for the end of the block
    assert leftovers(tmp_path) == ["a.txt", "b.txt"]
    with pytest.raises(KeyboardInterrupt), all_or_nothing():
        with atomic_output(tmp_path / "c.txt") as temporary:
            temporary.write_text("c")
        raise KeyboardInterrupt
    assert leftovers(tmp_path) == ["a.txt", "b.txt"]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_ctrl_c_while_outputs_are_renamed_waits_until_they_are_in_place(tmp_path):
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        os.kill(os.getpid(), signal.SIGINT)
        (tmp_path / "done").write_text("finished before the interrupt took effect")
    assert (tmp_path / "done").exists()


def test_merge_interrupted_while_writing_the_report_writes_nothing(tmp_path, monkeypatch):
    from refi_bridge.team import jobs

    monkeypatch.setattr(jobs, "write_merge_report", interrupt)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        jobs.merge_files([FIXTURES / n for n in CODER_FILES], out / "merged.qdpx", report=out / "report.xlsx",
                         json_path=out / "report.json")
    assert leftovers(out) == []


def test_agreement_interrupted_while_writing_the_json_writes_no_workbook(tmp_path, monkeypatch, merged):
    from refi_bridge.tables import reports

    monkeypatch.setattr(reports.json, "dumps", interrupt)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        reports.agreement(merged, out / "agreement.xlsx", json_path=out / "agreement.json", bootstrap=0)
    assert leftovers(out) == []


def test_split_interrupted_before_the_manifest_leaves_no_folder(tmp_path, monkeypatch):
    from refi_bridge.team import jobs

    monkeypatch.setattr(jobs, "make_manifest", interrupt)
    with pytest.raises(KeyboardInterrupt):
        refi_bridge.split(FIXTURES / "master.qdpx", ["Ada", "Bo"], tmp_path / "handout")
    assert leftovers(tmp_path) == [] and not (tmp_path / "handout").exists()


def test_demo_interrupted_in_its_last_step_leaves_nothing(tmp_path, monkeypatch):
    from refi_bridge.demo import pipeline

    monkeypatch.setattr(pipeline, "matrix", interrupt)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_demo(tmp_path / "demo")
    assert list(tmp_path.iterdir()) == []


def test_the_command_says_one_line_and_exits_130(runner, tmp_path, monkeypatch):
    from refi_bridge.team import jobs

    monkeypatch.setattr(jobs, "write_merge_report", interrupt)
    result = runner.invoke(cli, ["merge", *[str(FIXTURES / n) for n in CODER_FILES], "-o", str(tmp_path / "m.qdpx"),
                                 "--report", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == INTERRUPTED and "Traceback" not in result.output
    assert "Aborted" not in result.output and leftovers(tmp_path) == []


# -------------------------------------------------------------------------------------------------------
# SIGINT to the real command
# -------------------------------------------------------------------------------------------------------

def command() -> list[str]:
    script = Path(sys.executable).parent / "refi-bridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "refi_bridge"]


def loading_libraries(process: subprocess.Popen) -> bool:
    """The command has started and is importing its libraries (numpy is being mapped): Python's own
    start-up, before any line of refi_bridge runs, is over."""
    try:
        return "numpy" in Path(f"/proc/{process.pid}/maps").read_text()
    except OSError:
        return False


def run_and_interrupt(args: list[str], when, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the command, send SIGINT once ``when(process, stderr so far)`` holds, and collect what it said."""
    process = subprocess.Popen(command() + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               bufsize=1)
    said: list[str] = []
    deadline = time.monotonic() + timeout
    os.set_blocking(process.stderr.fileno(), False)
    while process.poll() is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if line:
            said.append(line)
        if when(process, "".join(said)):
            process.send_signal(signal.SIGINT)
            break
        if not line:
            time.sleep(0.002)
    os.set_blocking(process.stderr.fileno(), True)
    out, rest = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(args, process.returncode, out, "".join(said) + rest)


MOMENTS = {
    "while its libraries load": lambda process, said: loading_libraries(process),
    "while it reads": lambda process, said: "reading" in said,
    "while it computes": lambda process, said: "computing agreement" in said,
    "while it writes": lambda process, said: "writing" in said,
}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="watches the process through /proc (Linux)")
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigint_at_any_moment_gives_one_line_and_writes_all_or_nothing(moment, tmp_path, merged):
    out = tmp_path / "out"
    out.mkdir()
    args = ["agreement", str(merged), "-o", str(out / "agreement.xlsx"), "--json", str(out / "agreement.json"),
            "--bootstrap", "500000" if moment == "while it computes" else "200"]
    result = run_and_interrupt(args, MOMENTS[moment])
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr, result.stderr
    if result.returncode == 0 and moment != "while it computes":
        # -- the interrupt came as the last file was put in place: it waited, and everything is there --
        assert leftovers(out) == ["agreement.json", "agreement.xlsx"]
        return
    # -- half a million resamples take a second or more after "computing": that one is interrupted surely --
    assert result.returncode == 130, result.stderr
    assert result.stderr.splitlines()[-1] == INTERRUPTED, result.stderr
    assert result.stderr.count(INTERRUPTED) == 1 and result.stdout == ""
    assert leftovers(out) == []
