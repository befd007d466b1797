"""A warm helper process for `iom run`: heavy imports and CPU work off the run's critical path.

A run's own process is busy from start to finish (Dagster, DuckDB), and the machine has a second
core. `iom run` starts a helper process beside it, which imports Great Expectations (seconds of
imports) and matplotlib while the run lands the data; it then runs the expectation suites and
draws some of the figures.

A step either hands its work to the helper and waits for it (`call`), or an earlier step starts
the work as soon as its inputs exist (`prefetch`) and the step that owns the work collects it
(`take_prefetched`) or leaves it to finish on its own (`finish_before_exit`: the helper is stopped
only once such work is done). The validation step prefetches the staging suite (on a small
table), the marts step some of the figures, the other expectation suites and their Data Docs
(nothing in the run writes those tables after them); they run while this process draws the
other figures and writes the spreadsheets and the report. Work is keyed by run, year and name,
so a result is only ever collected by the run that started it.

(More helpers, for the validation and the figures, were measured and dropped: with three busy
processes on two cores, the run took one to two seconds longer.)

Without the helper (a run launched from the UI, the tests) every step does its work in-process,
with the same functions. `IOM_WORKERS=0` turns it off for `iom run` too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

_POOL: ProcessPoolExecutor | None = None  # the helper, while `warm_helper` runs
_PREFETCHED: dict[tuple, tuple[Future, Callable, tuple]] = {}
# Work the helper must finish before it is stopped: (key, future, fn, args).
_BEFORE_EXIT: list[tuple[tuple, Future, Callable, tuple]] = []
FINISH_TIMEOUT_SECONDS = 300  # for all of it together


def _no_cross_process_locks() -> None:
    # The helper is stopped with SIGKILL when the run ends, so it must hold no named semaphore
    # (the system would report it leaked): tqdm, imported by Great Expectations, makes one for
    # progress bars across processes; the helper draws none.
    from tqdm.std import TqdmDefaultWriteLock

    TqdmDefaultWriteLock.mp_lock = None


def relax_garbage_collection() -> None:
    """Collect cyclic garbage less often in `iom`'s processes: they import tens of thousands of
    objects that live as long as they do, and Python's default thresholds re-scan them hundreds
    of times (a tenth of the start-up). The data lives in DuckDB, so the extra memory is small."""
    import gc

    gc.set_threshold(50_000, 20, 100)


def _warm_helper() -> None:
    import gc

    relax_garbage_collection()
    _no_cross_process_locks()
    from iom_pipeline.lazy_imports import load_great_expectations

    load_great_expectations()  # the point: import Great Expectations now, in this process
    import matplotlib.figure  # noqa: F401
    from matplotlib.backends import backend_agg, backend_svg  # noqa: F401

    import iom_pipeline.publication.figures  # noqa: F401

    gc.freeze()


def enabled() -> bool:
    return os.environ.get("IOM_WORKERS", "1") != "0"


@contextmanager
def warm_helper():
    """Run the enclosed pipeline runs with the helper process beside them."""
    global _POOL
    if not enabled():
        yield
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    pid = pool.submit(os.getpid)  # starts the process
    pool.submit(_warm_helper)  # and its imports, now
    _POOL = pool
    completed = False
    try:
        yield
        completed = True
    finally:
        _POOL = None
        _PREFETCHED.clear()
        left, _BEFORE_EXIT[:] = list(_BEFORE_EXIT), []
        try:
            if completed:  # not on Ctrl-C or an error: then nothing is worth waiting for
                _finish(left)
        finally:
            # The helper holds nothing to save: stop it by its own pid rather than wait for an
            # orderly exit of a process with these libraries loaded (seconds, on every run).
            try:
                os.kill(pid.result(timeout=30), signal.SIGKILL)
            except (ProcessLookupError, BrokenProcessPool, TimeoutError):
                pass
            _unblock_sends(pool)
            pool.shutdown(wait=True, cancel_futures=True)


def _unblock_sends(pool: ProcessPoolExecutor) -> None:
    """Let the executor shut down after its process was killed with work still queued for it.

    Work larger than a pipe's buffer (a suite's frame) can be half-written to the helper when it
    is killed; the write then waits for ever, because the pipe's reading end is open in this
    process too, and the executor's shutdown waits for the write. Closing that end (which only
    the helper reads) makes the write fail, and the shutdown complete.
    """
    call_queue = getattr(pool, "_call_queue", None)
    reader = getattr(call_queue, "_reader", None)
    if reader is not None:
        reader.close()


def _finish(left: list[tuple[tuple, Future, Callable, tuple]]) -> None:
    """Wait for the work left to the helper; if the helper died, do it here. A failure is
    reported, never fatal: such work is a view (the Data Docs), its results already stored."""
    deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
    for key, future, fn, args in left:
        try:
            try:
                outcome = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except BrokenProcessPool:
                outcome = fn(*args)
            error = outcome.get("error") if isinstance(outcome, dict) else None
            if error:
                print(f"iom: {_describe(key)} failed: {error}", file=sys.stderr)
        except Exception as exc:
            print(f"iom: {_describe(key)} did not finish: {type(exc).__name__}: {exc}", file=sys.stderr)


def _describe(key: tuple) -> str:
    return " ".join(str(part) for part in reversed(key[1:])) + f" (run {key[0]})"


def discard_run(run_id: str) -> int:
    """Drop what was started for a run that has ended without collecting it (a run that failed
    before the step that owns the work): work not yet begun is cancelled."""
    keys = [key for key in _PREFETCHED if key[0] == run_id]
    for key in keys:
        _PREFETCHED.pop(key)[0].cancel()
    return len(keys)


def running() -> bool:
    return _POOL is not None


def call(fn: Callable, *args: Any) -> Any:
    """fn(*args) in the helper when it is running, else here; here too if the helper died."""
    if _POOL is not None:
        try:
            return _POOL.submit(fn, *args).result()
        except BrokenProcessPool:
            pass
    return fn(*args)


def prefetch(key: tuple, fn: Callable, *args: Any) -> bool:
    """Start fn(*args) in the helper now, for `take_prefetched(key)` later; False without a helper."""
    if _POOL is None:
        return False
    try:
        _PREFETCHED[key] = (_POOL.submit(fn, *args), fn, args)
    except BrokenProcessPool:
        return False
    return True


def prefetched(key: tuple) -> bool:
    """True when work for `key` was started and not yet collected."""
    return key in _PREFETCHED


def finish_before_exit(key: tuple) -> bool:
    """Leave prefetched work to finish on its own: nothing in the run waits for it. When the
    enclosed runs have ended, `warm_helper` waits for it (up to FINISH_TIMEOUT_SECONDS for all
    such work), does it here if the helper died, and reports a failure on stderr; then it stops
    the helper. False when nothing was started for `key`."""
    entry = _PREFETCHED.pop(key, None)
    if entry is None:
        return False
    _BEFORE_EXIT.append((key, *entry))
    return True


def take_prefetched(key: tuple) -> Callable[[], Any] | None:
    """The prefetched work's result getter, or None when nothing was started for `key`.

    The getter waits for the helper; if the helper died meanwhile the work is done here.
    """
    entry = _PREFETCHED.pop(key, None)
    if entry is None:
        return None
    future, fn, args = entry

    def result() -> Any:
        try:
            return future.result()
        except BrokenProcessPool:
            return fn(*args)

    return result
