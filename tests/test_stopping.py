"""How a stop reaches a run: the parts, each on its own (the whole, through real `iom run`
processes, is in test_cli.py).

A stop signal must end a run before its publication or leave the new publication whole, and say
which. Dagster raises an interrupt in the running step; Python drops it when the handler happens
to run inside a garbage-collection callback. These tests pin the defences: the stop marks the run
canceling, a dropped stop is delivered again, and a stop during a swap is noted, not acted on,
so the swap completes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types
import uuid

import pytest

import dagster as dg
from iom_pipeline.cli import SignalRecorder, Stopped, stop_message, stops_end_the_run
from iom_pipeline.defs.shared import WarehouseResource
from iom_pipeline.stops import STOP_SIGNALS, stop_signals_held


@pytest.fixture
def recorded_signals():
    """SIGINT and SIGTERM recorded instead of acted on, for the test's length."""
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in STOP_SIGNALS}
    yield received
    for s, handler in previous.items():
        signal.signal(s, handler)


@pytest.fixture
def instance():
    """A file-backed instance: the watching thread writes to it while the test reads."""
    with dg.instance_for_test() as instance:
        yield instance


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def started_run(instance: dg.DagsterInstance) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="survey_year_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    return run_id


def dropped(exc: BaseException):
    """What Python hands sys.unraisablehook for an exception raised inside a GC callback."""
    return types.SimpleNamespace(exc_type=type(exc), exc_value=exc, exc_traceback=None,
                                 err_msg="Exception ignored in", object=None)


def test_a_stop_during_a_swap_is_noted_and_the_swap_completes(recorded_signals):
    """With other threads running, as in every run (the kernel may hand a signal to any of
    them): the stop reaches no handler while the block runs, nor after it."""
    handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    with SignalRecorder():
        with stop_signals_held() as noted:
            os.kill(os.getpid(), signal.SIGTERM)
            assert wait_for(lambda: noted == [signal.SIGTERM], 2.0)
            reached_a_handler = list(recorded_signals)
        time.sleep(0.05)
    assert reached_a_handler == [] and recorded_signals == []
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # put back


def test_the_recorder_acts_on_a_stop_as_it_arrives(recorded_signals):
    called = []
    with SignalRecorder() as signals, signals.on_stop(lambda: called.append(time.monotonic())):
        assert signals.stop_signal() is None
        os.kill(os.getpid(), signal.SIGINT)
        assert wait_for(lambda: called), "the stop's callback was not called"
        assert signals.stop_signal() == signal.SIGINT
    assert len(called) == 1


def test_a_stop_marks_the_executing_run_canceling_and_only_it(recorded_signals, instance):
    with SignalRecorder() as signals:
        run_id = started_run(instance)
        with stops_end_the_run(signals, instance, run_id):
            os.kill(os.getpid(), signal.SIGTERM)
            assert wait_for(lambda: instance.get_run_by_id(run_id).status != dg.DagsterRunStatus.STARTED)
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELING
        # a run that ends while canceling (its interrupt lost) is recorded as canceled
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
        later = started_run(instance)
        with stops_end_the_run(signals, instance, later):
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # outside any run: nothing is marked
        assert wait_for(lambda: len(recorded_signals) == 2)
        assert instance.get_run_by_id(later).status == dg.DagsterRunStatus.STARTED


def test_the_run_leaves_sigterm_with_its_own_handler(instance):
    """Dagster, when a run ends, gives SIGTERM SIGINT's handler: `iom` would then report a
    SIGTERM as SIGINT and exit 130."""
    def ours(signum, frame):
        raise Stopped(signum)

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        with SignalRecorder() as signals, stops_end_the_run(signals, instance, started_run(instance)):
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # as a Dagster run leaves it
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("lost", [dg.DagsterExecutionInterruptedError(), KeyboardInterrupt(), Stopped(signal.SIGTERM)],
                         ids=["dagster-interrupt", "KeyboardInterrupt", "Stopped"])
def test_a_dropped_stop_is_delivered_again(recorded_signals, lost):
    """Python hands an exception raised inside a garbage-collection callback to
    sys.unraisablehook and goes on. The stop must not be lost with it."""
    with SignalRecorder() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_for(lambda: recorded_signals == [signal.SIGTERM])
        sys.unraisablehook(dropped(lost))
        assert wait_for(lambda: len(recorded_signals) == 2), "the dropped stop was not delivered again"
        assert signals.stop_signal() == signal.SIGTERM
    assert recorded_signals == [signal.SIGTERM, signal.SIGTERM]  # the signal that was sent, again


def test_other_unraisable_errors_still_reach_the_usual_hook(recorded_signals, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    other = dropped(ValueError("x"))
    with SignalRecorder():
        sys.unraisablehook(other)
        time.sleep(SignalRecorder.REDELIVERY_SECONDS * 3)
    assert seen == [other]
    assert recorded_signals == []
    assert sys.unraisablehook == seen.append  # put back


def test_no_stop_is_delivered_after_the_recorder_has_ended(recorded_signals):
    with SignalRecorder():
        sys.unraisablehook(dropped(KeyboardInterrupt()))
    time.sleep(SignalRecorder.REDELIVERY_SECONDS * 3)
    assert recorded_signals == []


@pytest.mark.parametrize("replaced, pull, line", [
    ([], False, "iom run: stopped by SIGTERM; the previous publication is untouched"),
    ([2013], False, "iom run: stopped by SIGTERM after 2013 was published: its new publication is in place, whole; "
                    "nothing after it ran"),
    ([2011, 2013], False, "iom run: stopped by SIGTERM after 2011 and 2013 were published: their new publications "
                          "are in place, whole; nothing after it ran"),
    ([], True, "iom pull: stopped by SIGTERM; landing/ and the publication are untouched"),
    ([2013], True, "iom pull: stopped by SIGTERM after landing/2013 was updated; nothing after it ran"),
])
def test_the_last_line_says_what_is_in_place(replaced, pull, line):
    assert stop_message("iom pull" if pull else "iom run", signal.SIGTERM, replaced, pull) == line


def test_a_step_interrupted_after_the_runs_teardown_keeps_its_own_error(tmp_path):
    """Dagster may close an interrupted step's generator only after the run's resources are torn
    down: the rollback on the way out must not replace the interrupt with an AttributeError."""
    resource = WarehouseResource(database=str(tmp_path / "w.duckdb"))

    def step():
        with resource.get_connection() as con:
            con.execute("begin transaction")
            yield

    interrupted = step()
    next(interrupted)
    resource.teardown_after_execution(None)
    with pytest.raises(KeyboardInterrupt):
        interrupted.throw(KeyboardInterrupt())
