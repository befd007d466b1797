"""A warm process for the expectation suites, so Great Expectations' import is not on the critical path.

`import great_expectations` costs seconds. `iom run` starts this worker as the run begins; the
worker imports Great Expectations on the machine's other core while the pipeline lands,
validates and models the data, and the quality check step then only hands it the tables.
Where no worker is running (a run launched from the UI, a test), the suites run in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

_POOL: ProcessPoolExecutor | None = None


def _warm_up() -> bool:
    import great_expectations  # noqa: F401  (the point: import it now, in this process)

    return True


@contextmanager
def expectation_worker():
    """Run the enclosed pipeline runs with a warm expectation worker beside them."""
    global _POOL
    if os.environ.get("IOM_EXPECTATION_WORKER", "1") == "0":  # run the suites in-process instead
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(_warm_up)  # starts the process and its import now
    _POOL = pool
    try:
        yield pool
    finally:
        _POOL = None
        pool.shutdown(wait=False, cancel_futures=True)


def run_suites(jobs: list[tuple]) -> list:
    """run_suite(*job) for each job: in the warm worker when there is one, else in this process."""
    from iom_pipeline.quality.expectations import run_suite

    if _POOL is not None:
        try:
            futures: list[Future] = [_POOL.submit(run_suite, *job) for job in jobs]
            return [f.result() for f in futures]
        except BrokenProcessPool:
            pass  # the worker died: fall back to doing the work here
    return [run_suite(*job) for job in jobs]
