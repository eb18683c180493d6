"""Progress: library code says what it is doing through one protocol; the command shows it on stderr, the
same way in every command, with a bar for loops over many items, and keeps stdout for results."""

from __future__ import annotations

from pathlib import Path

import pytest

from refi_bridge.cli import cli
from refi_bridge.progress import Progress, Reporter, quiet

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dyad-study"


class Recorder:
    """A Progress that writes down what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def step(self, text: str) -> None:
        self.events.append(("step", text))

    def start(self, text: str, total: int) -> None:
        self.events.append(("start", text, total))

    def advance(self, done: int = 1) -> None:
        self.events.append(("advance", done))

    def finish(self) -> None:
        self.events.append(("finish",))


def test_a_progress_object_gets_steps_and_counted_loops():
    recorder = Recorder()
    say = quiet(recorder)
    assert isinstance(recorder, Progress) and quiet(say) is say
    say("reading")
    assert list(say.each(["a", "b"], "files")) == ["a", "b"]
    with say.counting("resamples", 300) as advance:
        advance(100)
        say("a step inside a loop is not shown")
        with say.counting("an inner loop is not shown", 5) as inner:
            inner(5)
        advance(200)
    assert recorder.events == [("step", "reading"), ("start", "files", 2), ("advance", 1), ("advance", 1),
                               ("finish",), ("start", "resamples", 300), ("advance", 100), ("advance", 200),
                               ("finish",)]


def test_a_plain_function_gets_lines_and_none_gets_nothing():
    lines: list[str] = []
    say = quiet(lines.append)
    say("reading")
    with say.counting("bootstrap resamples", 1000) as advance:
        advance(1000)
    sub = say.indented()
    sub("writing")
    assert lines == ["reading", "bootstrap resamples (1,000)", "    writing"]
    silent = quiet(None)
    silent("nothing")
    assert list(silent.each(iter([1, 2]), "items")) == [1, 2] and isinstance(silent, Reporter)


def test_a_loop_that_stops_early_still_finishes_its_bar():
    recorder = Recorder()
    for item in quiet(recorder).each([1, 2, 3], "items"):
        if item == 2:
            break
    assert recorder.events[-1] == ("finish",)


@pytest.mark.parametrize("args, said", [
    (["agreement", "{merged}", "-o", "{tmp}/a.xlsx", "--bootstrap", "20"],
     ["reading merged.qdpx", "computing agreement", "bootstrap resamples", "writing a.xlsx", "laying out"]),
    (["matrix", "{merged}", "-o", "{tmp}/m.xlsx"], ["reading merged.qdpx", "building the matrix", "writing m.xlsx"]),
    (["export", "{merged}", "-o", "{tmp}/c.xlsx"], ["reading merged.qdpx", "listing the codings", "writing c.xlsx"]),
    (["merge", str(FIXTURES / "amara-refi.qdpx"), str(FIXTURES / "tomas-atlasti.qdpx"), "-o", "{tmp}/x.qdpx"],
     ["reading 2 files", "merging 2 files", "writing x.qdpx"]),
    (["convert", "{merged}", "{tmp}/y.qde"], ["reading merged.qdpx", "writing y.qde"]),
    (["validate", "{merged}"], ["reading merged.qdpx", "checking against the REFI-QDA schema"]),
])
def test_every_long_command_says_what_it_does_on_stderr_and_keeps_stdout_for_results(runner, tmp_path, args, said):
    import refi_bridge

    merged = tmp_path / "merged.qdpx"
    refi_bridge.write(refi_bridge.merge([FIXTURES / "amara-refi.qdpx", FIXTURES / "tomas-atlasti.qdpx"]).project,
                      merged)
    result = runner.invoke(cli, [a.format(merged=merged, tmp=tmp_path) for a in args])
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    positions = [stderr.find(text) for text in said]
    assert -1 not in positions and positions == sorted(positions), stderr
    for text in said:
        assert text not in result.stdout
