"""How a stop reaches a run: the parts, each on its own (the whole, through real `iom run`
processes, is in test_cli.py).

A stop signal must end a run before its publication or leave the new publication whole, and say
which. Dagster raises an interrupt in the running step; Python drops it when the handler happens
to run inside a garbage-collection callback. These tests pin the three defences: the stop marks
the run canceling, a dropped interrupt is delivered again, and the publication's swap holds
signals until it is done.
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
from iom_pipeline.cli import SignalRecorder, stops_end_the_run
from iom_pipeline.defs.shared import WarehouseResource
from iom_pipeline.publish import stop_signals_held


@pytest.fixture
def recorded_signals():
    """SIGINT and SIGTERM recorded instead of acted on, for the test's length."""
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    yield received
    for s, handler in previous.items():
        signal.signal(s, handler)


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_signal_during_the_swap_waits_for_it_then_arrives(recorded_signals):
    with stop_signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        during = list(recorded_signals)
    time.sleep(0.05)  # the handler runs at the next instruction boundary
    assert during == []
    assert recorded_signals == [signal.SIGTERM]


def test_the_recorder_acts_on_a_stop_as_it_arrives(recorded_signals):
    called = []
    with SignalRecorder() as signals, signals.on_stop(lambda: called.append(time.monotonic())):
        assert signals.stop_signal() is None
        os.kill(os.getpid(), signal.SIGINT)
        assert wait_for(lambda: called), "the stop's callback was not called"
        assert signals.stop_signal() == signal.SIGINT
    assert len(called) == 1


def started_run(instance: dg.DagsterInstance) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="survey_year_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    return run_id


def test_a_stop_marks_the_executing_run_canceling(recorded_signals):
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        run_id = started_run(instance)
        with stops_end_the_run(signals, instance, run_id):
            os.kill(os.getpid(), signal.SIGTERM)
            assert wait_for(lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELING)
        other = started_run(instance)
        os.kill(os.getpid(), signal.SIGTERM)  # after the run: nothing is marked
        time.sleep(0.2)
        assert instance.get_run_by_id(other).status == dg.DagsterRunStatus.STARTED


def test_a_dropped_interrupt_is_delivered_again(recorded_signals):
    """What Python does with an exception raised inside a garbage-collection callback: it hands
    it to sys.unraisablehook and goes on. The run's stop must not be lost with it."""
    dropped = types.SimpleNamespace(exc_type=dg.DagsterExecutionInterruptedError,
                                    exc_value=dg.DagsterExecutionInterruptedError(), exc_traceback=None,
                                    err_msg="Exception ignored in", object=None)
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_for(lambda: recorded_signals == [signal.SIGTERM])
        with stops_end_the_run(signals, instance, started_run(instance)):
            sys.unraisablehook(dropped)
            assert wait_for(lambda: len(recorded_signals) == 2), "the dropped interrupt was not delivered again"
        assert recorded_signals == [signal.SIGTERM, signal.SIGTERM]  # the signal that stopped the run


def test_other_unraisable_errors_still_reach_the_usual_hook(recorded_signals, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    other = types.SimpleNamespace(exc_type=ValueError, exc_value=ValueError("x"), exc_traceback=None,
                                  err_msg=None, object=None)
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        with stops_end_the_run(signals, instance, started_run(instance)):
            sys.unraisablehook(other)
        time.sleep(0.2)
    assert seen == [other]
    assert recorded_signals == []
    assert sys.unraisablehook == seen.append  # put back


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
