"""What `iom` prints to a terminal: text from input files made inert, and a run's progress.

Messages can quote an input file (a refused value, a published figure's source), so every line
is passed through `printable` first: a control character (ESC, BEL and the rest of C0 and C1,
except newline) becomes a visible escape such as `\\x1b` and cannot move the cursor, clear the
screen or recolour what follows.

`RunProgress` follows a Dagster run through the instance's event log (Dagster's public
`get_records_for_run`, with a cursor) from a background thread: one line per step as it
finishes (its name, seconds and the rows it wrote), and a line now and then for a step that is
taking a while. It reads what the run records anyway; it adds no work to the run.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TextIO

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

POLL_SECONDS = 0.5
SLOW_STEP_SECONDS = 5.0  # a step running longer than this gets a "still running" line ...
SLOW_STEP_REPEAT_SECONDS = 15.0  # ... and another every so often


def printable(text: object) -> str:
    """`text` with every control character but newline shown as an escape (`\\x1b`)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def say(message: object, stream: TextIO | None = None) -> None:
    print(printable(message), file=stream or sys.stdout, flush=True)


def _step_label(step_key: str) -> str:
    return step_key.replace("__", "/")


class RunProgress:
    """Print a run's progress while it executes: `with RunProgress(instance, run_id): ...`."""

    def __init__(self, instance, run_id: str, stream: TextIO | None = None, enabled: bool = True):
        self.instance = instance
        self.run_id = run_id
        self.stream = stream or sys.stdout
        self.enabled = enabled
        self._cursor: str | None = None
        self._started: dict[str, float] = {}
        self._rows: dict[str, int] = {}
        self._last_notice: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "RunProgress":
        if self.enabled:
            self._thread = threading.Thread(target=self._follow, name="iom-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._poll()  # whatever the run recorded after the last look

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._poll()
            except Exception:  # noqa: BLE001 - progress is a courtesy: never let it break the run
                # The run's storage may not have this run yet (it is created when execution
                # starts); the next poll looks again.
                pass

    def _poll(self) -> None:
        from dagster import DagsterEventType

        wanted = {
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.ASSET_MATERIALIZATION,
        }
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=wanted, limit=500)
            for record in page.records:
                self._handle(record.event_log_entry)
            self._cursor = page.cursor
            if not page.has_more:
                break
        now = time.time()
        for step, started in self._started.items():
            running = now - started
            last = self._last_notice.get(step, started + SLOW_STEP_SECONDS - SLOW_STEP_REPEAT_SECONDS)
            if running >= SLOW_STEP_SECONDS and now - last >= SLOW_STEP_REPEAT_SECONDS:
                self._last_notice[step] = now
                say(f"  … {_step_label(step)} running for {running:.0f} s", self.stream)

    def _handle(self, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self._started[step] = entry.timestamp
        elif kind == "ASSET_MATERIALIZATION":
            rows = event.event_specific_data.materialization.metadata.get("dagster/row_count")
            if rows is not None:
                self._rows[step] = self._rows.get(step, 0) + int(rows.value)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            started = self._started.pop(step, entry.timestamp)
            self._last_notice.pop(step, None)
            rows = self._rows.pop(step, None)
            outcome = "" if kind == "STEP_SUCCESS" else "  FAILED"
            written = f"  {rows:>10,} rows" if rows is not None else ""
            say(f"  {_step_label(step):<55} {entry.timestamp - started:6.1f} s{written}{outcome}", self.stream)
