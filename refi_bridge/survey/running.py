"""Running :func:`~refi_bridge.survey.surveying.survey_file` on many files: local processes or a Dask cluster.

Both runners hand out a standard :class:`concurrent.futures.Executor` (a process pool, or the executor a
``dask.distributed.Client`` gives), and one loop, :func:`outcomes`, drives either: the same function, the
same tasks, the same results. The loop keeps only a few batches per worker in flight, so neither the queue
nor the finished results waiting to be written grow with the archive.

Files go out in batches, because an archive is mostly small projects and handing one over costs about as
much as surveying it (a few milliseconds for a process pool, more through a Dask scheduler). Batches are
guided: each holds a share of what is left (at most :data:`BATCH_FILES` files and :data:`BATCH_BYTES`), so
they shrink as the queue empties and no worker is left with a long last batch while the others idle.

A worker that dies (a file that exhausts its memory or crashes the XML parser) takes the batches it held
with it; their files are run again one at a time, so that only the file that kills a worker on its own
becomes a row with an error, and the survey goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from refi_bridge import __version__
from refi_bridge.errors import MissingExtraError, SurveyError
from refi_bridge.survey.columns import FILE_COLUMNS
from refi_bridge.survey.parquet import INSTALL, codings_table, part_bytes
from refi_bridge.survey.surveying import Outcome, Task, fingerprint, one_line, survey_file

# -- batches in flight per worker: enough that a worker never waits for the next one, few enough that
#    finished results do not pile up while the writer catches up --
IN_FLIGHT_PER_WORKER = 2
# -- a batch holds at most this many files and bytes of files, and a share of 1/(workers x SHARE) of what
#    is left: large batches early, single files at the end --
BATCH_FILES = 16
BATCH_BYTES = 16 * 2**20
SHARE = 4
# -- how long to try reaching a scheduler, and to wait for a first worker --
CONNECT_TIMEOUT = 20
# -- workers that die on this many files in a row, alone, before any file succeeded, cannot start at all --
STARTUP_FAILURES = 3


def available_cores() -> int:
    """The cores this process may use (a container's or a batch job's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


@dataclass
class Runner:
    """Where the work runs: starts and stops an executor, says how many tasks to keep in flight, and lets go
    of what it holds (a cluster connection) when the survey is over."""

    description: str
    slots: int  # files surveyed at once: local processes, or the cluster's threads
    _start: Callable[[], Executor]
    _stop: Callable[[Executor, bool], None]
    _close: Callable[[], None] = lambda: None
    executor: Executor | None = field(default=None, repr=False)

    @property
    def window(self) -> int:
        return self.slots * IN_FLIGHT_PER_WORKER

    def start(self) -> Executor:
        self.executor = self._start()
        return self.executor

    def restart(self) -> Executor:
        self.stop(wait=False)
        return self.start()

    def stop(self, wait: bool = True) -> None:
        if self.executor is not None:
            self._stop(self.executor, wait)
            self.executor = None

    def close(self) -> None:
        self.stop(wait=False)
        self._close()


def local_runner(workers: int | None = None) -> Runner:
    """A pool of ``workers`` processes on this machine (default: one per available core).

    Processes, not threads: reading a project is Python code holding the interpreter lock. They are
    forked from a server process that has imported the survey once (``forkserver``), which is safe
    whatever threads the calling program runs (a Dask client, a notebook's) and makes a new pool cheap;
    where there is no fork (Windows), they are spawned.
    """
    count = workers or available_cores()
    if count < 1:
        raise SurveyError(f"--workers must be 1 or more, not {count}.")
    context = _context()

    def start() -> Executor:
        return ProcessPoolExecutor(max_workers=count, mp_context=context)

    def stop(executor: Executor, wait: bool) -> None:
        executor.shutdown(wait=wait, cancel_futures=True)

    plural = "es" if count != 1 else ""
    return Runner(f"{count} local worker process{plural}", count, start, stop)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # -- the server imports the survey (lxml, pandas, pyarrow) once; every worker is a fork of it. Only the
    #    first call counts (the server starts once per program), and it replaces the default preload of
    #    __main__, which a worker has no use for --
    context.set_forkserver_preload(["refi_bridge.survey.surveying"])
    return context


def dask_runner(scheduler) -> Runner:
    """The Dask cluster whose scheduler is at ``scheduler`` (``tcp://host:8786``), or a connected
    ``dask.distributed.Client``. Every worker must have refi_bridge installed, and see the files at the same
    paths as this machine (a shared file system)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise MissingExtraError(f"--scheduler runs the survey on a Dask cluster, which needs dask.distributed: "
                                f"install it with `{INSTALL}` (here and on every worker).") from None
    own = not hasattr(scheduler, "get_executor")
    if own:
        try:
            client = Client(str(scheduler), timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise SurveyError(f"{scheduler}: cannot reach a Dask scheduler there ({one_line(str(error))}); start "
                              "one with `dask scheduler` and workers with `dask worker ADDRESS`, or check the "
                              "address.") from None
    else:
        client = scheduler
    address = client.scheduler.address
    try:
        threads = _cluster_threads(client)
        _check_workers(client, address)
    except BaseException:
        if own:
            client.close()
        raise

    def start() -> Executor:
        # -- pure=False: the same path may hold other bytes next time; never reuse a cached result --
        return client.get_executor(pure=False)

    def stop(executor: Executor, wait: bool) -> None:
        executor.shutdown(wait=wait)

    def close() -> None:
        if own:
            client.close()

    workers = len(client.nthreads())
    return Runner(f"the Dask cluster at {address} ({workers} workers, {threads} threads)",
                  threads, start, stop, close)


def _cluster_threads(client) -> int:
    threads = sum(client.nthreads().values())
    if threads == 0:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (TimeoutError, OSError):
            raise SurveyError(f"{client.scheduler.address}: the Dask scheduler has no workers; start some with "
                              "`dask worker ADDRESS`.") from None
        threads = sum(client.nthreads().values())
    return max(1, threads)


def _check_workers(client, address) -> None:
    """Ask a worker for its refi_bridge version before sending it thousands of files."""
    try:
        theirs = client.submit(worker_version, pure=False).result(timeout=120)
    except Exception as error:  # noqa: BLE001 -- whatever goes wrong on the far side, say what to do
        raise SurveyError(f"{address}: the Dask workers cannot run the survey ({one_line(str(error), error)}); "
                          f"install refi_bridge with `{INSTALL}` on every worker.") from None
    if theirs != __version__:
        raise SurveyError(f"{address}: the Dask workers have refi_bridge {theirs}, this machine {__version__}; "
                          "install the same version everywhere, so that every file is read alike.")


def worker_version() -> str:
    """refi_bridge's version where this runs (a Dask worker)."""
    return __version__


def outcomes(tasks: Iterable[Task], runner: Runner,
             function: Callable[[Task], Outcome] = survey_file) -> Iterator[Outcome]:
    """Survey every task on ``runner`` with ``function``, yielding outcomes as files finish (not in task
    order)."""
    queue = deque(tasks)
    suspects: deque[Task] = deque()
    in_flight: dict[Future, tuple[tuple[Task, ...], bool]] = {}
    executor = runner.start()
    finished = False
    succeeded = lost_alone = 0
    try:
        while queue or suspects or in_flight:
            broken = False
            try:
                if suspects:
                    # -- after a worker died: the files it may have held run alone, to find the one that kills --
                    if not in_flight:
                        batch = (suspects[0],)
                        in_flight[executor.submit(survey_batch, batch, function)] = (batch, True)
                        suspects.popleft()
                else:
                    while queue and len(in_flight) < runner.window:
                        batch = next_batch(queue, runner.slots)
                        try:
                            in_flight[executor.submit(survey_batch, batch, function)] = (batch, False)
                        except BrokenExecutor:
                            queue.extendleft(reversed(batch))
                            raise
            except BrokenExecutor:
                broken = True  # the pool died between two results; the files stay where they were
            if in_flight and not broken:
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in done:
                    batch, alone = in_flight.pop(future)
                    try:
                        results = future.result()
                    except Exception as error:  # noqa: BLE001 -- the worker, not the file's reading, failed
                        broken = broken or isinstance(error, BrokenExecutor)
                        if not alone:
                            suspects.extend(batch)
                            continue
                        lost_alone += 1
                        if not succeeded and lost_alone >= STARTUP_FAILURES:
                            raise SurveyError(f"the workers of {runner.description} die before surveying any "
                                              f"file ({type(error).__name__}: {one_line(str(error))}); check that "
                                              "`python -c 'import refi_bridge.survey'` works where they run "
                                              "(a script read from standard input cannot start worker "
                                              "processes: save it to a file).") from None
                        yield lost(batch[0], error)
                        continue
                    succeeded += len(results)
                    yield from results
            if broken:
                # -- a pool is unusable once one of its processes died: its other files become suspects --
                for future in list(in_flight):
                    suspects.extend(in_flight.pop(future)[0])
                executor = runner.restart()
        finished = True
    finally:
        for future in in_flight:
            future.cancel()
        runner.stop(wait=finished)


def next_batch(queue: deque[Task], slots: int) -> tuple[Task, ...]:
    """Take the next batch off the queue: a share of what is left, within :data:`BATCH_FILES` files and
    :data:`BATCH_BYTES` (a single file may be larger)."""
    size = max(1, min(BATCH_FILES, len(queue) // (slots * SHARE)))
    batch: list[Task] = []
    total = 0
    while queue and len(batch) < size and total < BATCH_BYTES:
        task = queue.popleft()
        batch.append(task)
        with contextlib.suppress(OSError):
            total += os.path.getsize(task.location)
    return tuple(batch)


def survey_batch(batch: tuple[Task, ...], function: Callable[[Task], Outcome] = survey_file) -> list[Outcome]:
    """What a worker runs: ``function`` on every file of a batch."""
    return [function(task) for task in batch]


def lost(task: Task, error: BaseException) -> Outcome:
    """The row of a file whose worker died while surveying it, alone. Its hash is given to the row but not
    to the outcome, so that the next survey into the same folder tries the file again (with more memory,
    perhaps) instead of skipping it as done."""
    row = dict.fromkeys(name for name, _, _ in FILE_COLUMNS)
    row.update(file=task.file, readable=False, error_type=type(error).__name__, error=one_line(
        f"{task.location}: the worker surveying it stopped ({type(error).__name__}); the file may need more "
        "memory than a worker has. Survey it alone, on a larger machine."))
    with contextlib.suppress(OSError):
        row["size"], row["sha256"] = fingerprint(task.location)
    return Outcome(task.file, None, row, part_bytes(codings_table(None)))
