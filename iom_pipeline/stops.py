"""Stop signals around the few steps that must not be cut in half (a publication's swap, a
landing folder's replacement)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_signals_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM that arrive in the block are noted (the list it yields), not acted on.

    Held at Python's level, in the main thread where Python runs signal handlers: blocking them
    with `pthread_sigmask` would hold them for this thread only, and the kernel would hand them
    to another (DuckDB's, Dagster's). What the block holds is the last work of a step, so a stop
    noted here is not raised afterwards: the step ends whole, and the run's own stop handling
    (Dagster's at the next step, `iom`'s record of signals) still sees the stop."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted  # only the main thread runs handlers, and it is not running this block
        return
    installed: dict[int, object] = {}
    try:
        for s in STOP_SIGNALS:
            handler = signal.getsignal(s)
            if handler is not None:  # None: set outside Python, not ours to put back
                signal.signal(s, lambda signum, frame: noted.append(signum))
                installed[s] = handler
        yield noted
    finally:
        for s, handler in installed.items():
            signal.signal(s, handler)
